package graph

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fabcell/planners/graph/commonlayer"
)

// TestMalformedInputs loads every file of testdata/bad and checks that the
// error is one line naming the file (and line, when there is one) and the
// problem, and that errors.Is matches the sentinel.
func TestMalformedInputs(t *testing.T) {
	cases := []struct {
		file     string
		opts     LoadOptions
		sentinel error
		extra    error  // a second sentinel errors.Is must also match (or nil)
		loc      string // expected "FILE:LINE" suffix after the directory, "" = file only
		msg      string
	}{
		// RL3DP text pairs
		{"NodeTruncated_wireframe.txt", LoadOptions{}, ErrSyntax, nil, ":2", `want 3 coordinates "x y z", got 2 fields`},
		{"NodeNaN_wireframe.txt", LoadOptions{}, ErrNonFinite, nil, ":2", "coordinate 1 is nan"},
		{"NodeIndex_wireframe.txt", LoadOptions{}, ErrIndex, nil, "EdgeIndex_wireframe.txt:3", "node index 7 out of range [0,3)"},
		{"NodeSelfLoop_wireframe.txt", LoadOptions{}, ErrSelfLoop, nil, "EdgeSelfLoop_wireframe.txt:2", "self-loop on node 1"},
		{"NodeDuplicate_wireframe.txt", LoadOptions{}, ErrDuplicate, nil, "EdgeDuplicate_wireframe.txt:4", "duplicate edge 1-0 (first on line 1)"},
		{"NodeEmpty_wireframe.txt", LoadOptions{}, ErrEmpty, nil, "", "no nodes (empty file)"},
		{"NodeFraction_wireframe.txt", LoadOptions{}, ErrSyntax, nil, "EdgeFraction_wireframe.txt:1", `node index "1.5" is not an integer`},
		// OBJ
		{"inf_vertex.obj", LoadOptions{}, ErrNonFinite, nil, ":2", "vertex coordinate 2 is inf"},
		{"face_bad_index.obj", LoadOptions{}, ErrIndex, nil, ":6", "vertex index 9 out of range [1,3]"},
		{"face_zero_index.obj", LoadOptions{}, ErrIndex, nil, ":4", "vertex index 0"},
		{"face_bad_relative.obj", LoadOptions{}, ErrIndex, nil, ":4", "relative vertex index -7 but only 3 vertices"},
		{"vertex_truncated.obj", LoadOptions{}, ErrSyntax, nil, ":1", `want "v x y z", got 2 values`},
		// assembly_instances JSON
		{"assembly_bad_unit.json", LoadOptions{}, ErrUnit, nil, ":3", `unit: "furlong" is not a length unit`},
		{"assembly_bad_material_unit.json", LoadOptions{}, ErrUnit, nil, ":13", `material_properties.youngs_modulus_unit: "kN/cm3" is not a pressure unit`},
		{"assembly_missing_material_unit.json", LoadOptions{}, ErrMissing, nil, ":13", "material_properties.shear_modulus_unit: missing"},
		{"assembly_missing_field.json", LoadOptions{}, ErrMissing, nil, ":11", "element_list[1].end_node_ids: missing"},
		{"assembly_unknown_node_id.json", LoadOptions{}, ErrIndex, nil, ":11", "element_list[1].end_node_ids: node 42 out of range [0,3)"},
		{"assembly_duplicate_element.json", LoadOptions{}, ErrDuplicate, nil, ":12", "element_list[2]: duplicate edge 2-0 (same as element 0)"},
		{"assembly_huge_count.json", LoadOptions{}, ErrSyntax, nil, ":14", "node_num 1000000000000 does not match the 3 entries of node_list"},
		{"assembly_missing_grounded.json", LoadOptions{}, ErrMissing, nil, ":7", "node_list[2].is_grounded: missing"},
		{"assembly_duplicate_node_id.json", LoadOptions{}, ErrDuplicate, nil, ":6", "node_list[1].node_id 0: already used by node_list[0]"},
		{"assembly_truncated.json", LoadOptions{}, ErrTruncated, nil, "", "truncated JSON"},
		{"assembly_nan.json", LoadOptions{}, ErrSyntax, nil, ":6", "JSON syntax error"},
		{"assembly_bad_frame.json", LoadOptions{}, ErrSyntax, nil, "", "base_frame_in_rob_base: axes are not a right-handed orthonormal frame"},
		{"empty.json", LoadOptions{}, ErrEmpty, nil, "", "empty file"},
		// conmech JSON
		{"conmech_tag_unmatched.json", LoadOptions{}, ErrMissing, nil, ":13", `elements[1]: elem_tag "brace" matches no materials entry and there is no default`},
		{"conmech_joints.json", LoadOptions{}, ErrUnsupported, nil, ":19", "joints: 1 end-release entries"},
		{"conmech_support_index.json", LoadOptions{}, ErrIndex, nil, ":17", "supports[1].node_ind: no node has node_ind 9"},
		{"conmech_bad_density_unit.json", LoadOptions{}, ErrUnit, nil, ":26", `materials[0].density_unit: "kN" is not a density unit`},
		{"conmech_missing_sections.json", LoadOptions{}, ErrMissing, nil, "", "cross_secs: missing or empty"},
		{"conmech_self_loop.json", LoadOptions{}, ErrSelfLoop, nil, ":13", "elements[1]: self-loop on node 2"},
		// PNG masks
		{"nonbinary_gradient.png", LoadOptions{}, ErrNonBinary, nil, "", "more than two grey levels"},
		{"semi_transparent.png", LoadOptions{}, ErrNonBinary, nil, "", "more than two grey levels"},
		{"blank.png", LoadOptions{}, ErrEmpty, nil, "", "mask has no dark or opaque pixel"},
		{"truncated.png", LoadOptions{}, ErrTruncated, nil, "", "PNG is truncated"},
		{"not_a_png.png", LoadOptions{}, ErrSyntax, nil, "", "not a readable PNG"},
		// CLI
		{"cli_broken_header.cli", LoadOptions{}, ErrSyntax, commonlayer.ErrHeader, "", "file ends before $$HEADEREND"},
		{"cli_no_units.cli", LoadOptions{}, ErrUnit, commonlayer.ErrUnit, ":4", "header has no $$UNITS"},
		{"cli_huge_count.cli", LoadOptions{}, ErrSyntax, commonlayer.ErrSyntax, ":8", "$$POLYLINE declares 999999999 points but holds 8 coordinates"},
		{"cli_bad_dir.cli", LoadOptions{}, ErrSyntax, commonlayer.ErrRange, ":7", "$$POLYLINE dir 5"},
		{"cli_nan_layer.cli", LoadOptions{}, ErrNonFinite, commonlayer.ErrNonFinite, ":6", `$$LAYER/nan: z "nan" is not finite`},
		{"cli_truncated_binary.cli", LoadOptions{}, ErrTruncated, commonlayer.ErrTruncated, "", "byte 4"},
		{"cli_binary_odd.cli", LoadOptions{}, ErrTruncated, commonlayer.ErrTruncated, "", "truncated hatches header"},
		{"cli_sliver.cli", LoadOptions{}, ErrEmpty, commonlayer.ErrEmpty, "", "layer 0 (z=0.03 mm): nothing to rasterise: no cell centre inside the closed contours at spacing 0.05 mm"},
		{"cli_empty_first_layer.cli", LoadOptions{}, ErrEmptyLayer, ErrEmpty, "", "layer 0 (z=0 mm) is empty"},
		{"cli_empty_first_layer.cli", LoadOptions{Layer: 1, SpacingMM: 1e-5}, ErrTooLarge, commonlayer.ErrTooLarge, "", "layer 1 (z=0.03 mm)"},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			seen[c.file] = true
			path := filepath.Join("testdata", "bad", c.file)
			_, err := Load(path, c.opts)
			if err == nil {
				t.Fatal("loaded without error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("message is not one line: %q", msg)
			}
			if !strings.Contains(msg, c.msg) {
				t.Errorf("message %q does not contain %q", msg, c.msg)
			}
			// the file is named, with the line when the problem has one
			wantLoc := path
			if c.loc != "" {
				if strings.HasPrefix(c.loc, ":") {
					wantLoc = path + c.loc
				} else {
					wantLoc = filepath.Join("testdata", "bad", c.loc)
				}
			}
			if !strings.HasPrefix(msg, wantLoc+":") {
				t.Errorf("message %q does not start with %q", msg, wantLoc+":")
			}
			if !errors.Is(err, c.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, c.sentinel)
			}
			if c.extra != nil && !errors.Is(err, c.extra) {
				t.Errorf("errors.Is(%v, %v) = false", err, c.extra)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("not a *ParseError: %T", err)
			}
		})
	}
	// every bad file is covered (the Edge halves of pairs are named by
	// their Node files)
	entries, err := os.ReadDir(filepath.Join("testdata", "bad"))
	if err != nil {
		t.Fatal(err)
	}
	distinct := map[error]bool{}
	for _, c := range cases {
		distinct[c.sentinel] = true
	}
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, "Edge") {
			n = "Node" + n[4:]
		}
		if !seen[n] {
			t.Errorf("testdata/bad/%s has no test case", e.Name())
		}
	}
	if len(seen) < 15 || len(distinct) < 10 {
		t.Errorf("only %d bad files / %d distinct sentinels", len(seen), len(distinct))
	}
}

// TestLoadNeverPanicsOnCorruptedData truncates and bit-flips the real
// sample files of every format and checks that loading fails cleanly or
// yields a valid graph.
func TestLoadNeverPanicsOnCorruptedData(t *testing.T) {
	sources := []string{
		filepath.Join("testdata", "NodeFemur_wireframe.txt"),
		filepath.Join("testdata", "Femur_wireframe.obj"),
		filepath.Join("testdata", "assembly_instances", "four-frame.json"),
		filepath.Join("testdata", "conmech", "simple_frame.json"),
		filepath.Join("testdata", "png", "islands_paletted.png"),
		filepath.Join("commonlayer", "testdata", "s_Cylinder_ex.cli"),
		filepath.Join("commonlayer", "testdata", "frustrum_ASCII.cli"),
	}
	dir := t.TempDir()
	for _, src := range sources {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 20000 {
			data = data[:20000]
		}
		name := filepath.Base(src)
		for k := 0; k < 40; k++ {
			mut := append([]byte(nil), data...)
			switch k % 3 {
			case 0:
				mut = mut[:len(mut)*k/40]
			case 1:
				mut[(k*7919)%len(mut)] ^= byte(1 << (k % 8))
			case 2:
				i := (k * 104729) % len(mut)
				const junk = "0-9.,e$/ \n{}[]\"\x00\xff"
				mut[i] = junk[k%len(junk)]
			}
			path := filepath.Join(dir, name)
			if strings.HasPrefix(name, "Node") {
				// keep the Edge partner next to it
				edge, _ := os.ReadFile(filepath.Join("testdata", "Edge"+name[4:]))
				os.WriteFile(filepath.Join(dir, "Edge"+name[4:]), edge, 0o644)
			}
			if err := os.WriteFile(path, mut, 0o644); err != nil {
				t.Fatal(err)
			}
			n, err := LayerCount(path)
			if err != nil || n == 0 {
				n = 1
			}
			for layer := 0; layer < min(n, 3); layer++ {
				g, err := Load(path, LoadOptions{Layer: layer, SpacingMM: 0.2})
				if err != nil {
					partner := name
					if strings.HasPrefix(name, "Node") {
						partner = "Edge" + name[4:]
					}
					if strings.Contains(err.Error(), "\n") || !(strings.Contains(err.Error(), name) || strings.Contains(err.Error(), partner)) {
						t.Errorf("%s mutation %d: bad message %q", name, k, err)
					}
					continue
				}
				if g.Kind != Pixel {
					if err := g.Validate(); err != nil {
						t.Errorf("%s mutation %d: invalid graph: %v", name, k, err)
					}
				}
			}
		}
	}
}

// FuzzLoad feeds arbitrary bytes to every loader (the first byte picks the
// format) and requires a clean error or a valid graph.
func FuzzLoad(f *testing.F) {
	exts := []string{"Node_x.txt", "m.obj", "m.json", "c.json", "m.png", "m.cli"}
	seeds := []string{
		filepath.Join("testdata", "NodeFemur_wireframe.txt"),
		filepath.Join("testdata", "Femur_wireframe.obj"),
		filepath.Join("testdata", "assembly_instances", "four-frame.json"),
		filepath.Join("testdata", "conmech", "four-frame.json"),
		filepath.Join("testdata", "png", "letter_alpha.png"),
		filepath.Join("commonlayer", "testdata", "s_Cylinder_ex.cli"),
	}
	for i, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > 3000 {
			data = data[:3000]
		}
		f.Add(byte(i), data)
	}
	f.Fuzz(func(t *testing.T, kind byte, data []byte) {
		dir := t.TempDir()
		name := exts[int(kind)%len(exts)]
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(name, "Node") {
			os.WriteFile(filepath.Join(dir, "Edge_x.txt"), []byte("0 1\n1 2\n"), 0o644)
		}
		g, err := Load(path, LoadOptions{SpacingMM: 0.5, MaxNodes: 100000})
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if err := g.Validate(); err != nil {
			t.Fatalf("invalid graph: %v", err)
		}
	})
}

// TestJSONTypeErrorsInJSONTerms: a value of the wrong JSON type is named
// with JSON words (object, array, number), never the loader's Go types.
func TestJSONTypeErrorsInJSONTerms(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ json, want string }{
		{`{"unit": "meter", "node_list": [{"point": [0, 0, 0], "node_id": 0, "is_grounded": true}], "element_list": []}`,
			"node_list[0].point: JSON array where an object was expected"},
	}
	for i, c := range cases {
		path := filepath.Join(dir, "m"+string(rune('0'+i))+".json")
		if err := os.WriteFile(path, []byte(c.json), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path, LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "graph.") {
			t.Errorf("%s: err = %v, want %q", c.json, err, c.want)
		}
	}
}
