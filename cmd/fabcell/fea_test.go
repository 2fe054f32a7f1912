package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const feaData = "../../simulation/fea/testdata"

// runFEA runs `fabcell fea args...` in-process and returns stdout and the
// error.
func runFEA(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"fea"}, args...))
	err := root.Execute()
	return out.String(), err
}

func readFEAFile(t *testing.T, path string) feaFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f feaFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// TestFEACommandEquilibrium runs the command on conmech models with their
// loads files and on wire-frame models under self-weight, and checks that
// the written reactions balance the applied loads.
func TestFEACommandEquilibrium(t *testing.T) {
	cases := []struct {
		model, loads string
		cases        int
	}{
		{"conmech/tower_3D.json", "conmech/tower_3D_loads.json", 1},
		{"conmech/topopt-100.json", "conmech/topopt-100_loads.json", 1},
		{"conmech/four-frame.json", "conmech/four-frame_loads.json", 1},
		{"conmech/simple_frame.json", "conmech/simple_frame_loads.json", 1},
		{"rl3dp/NodeFemur_wireframe.txt", "", 1},
		{"assembly_instances/four-frame.json", "", 1},
	}
	for _, c := range cases {
		t.Run(c.model, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "r.json")
			args := []string{"--model", filepath.Join(feaData, c.model), "--out", out, "--element-forces"}
			if c.loads != "" {
				args = append(args, "--loads", filepath.Join(feaData, c.loads))
			}
			stdout, err := runFEA(t, args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stdout)
			}
			f := readFEAFile(t, out)
			if len(f.LoadCases) != c.cases {
				t.Fatalf("%d load cases", len(f.LoadCases))
			}
			for _, lc := range f.LoadCases {
				scale := math.Abs(lc.AppliedKN[0]) + math.Abs(lc.AppliedKN[1]) + math.Abs(lc.AppliedKN[2])
				if scale == 0 {
					t.Fatalf("load case %s applies nothing", lc.Name)
				}
				for i := 0; i < 3; i++ {
					if d := lc.AppliedKN[i] + lc.ReactionSumKN[i]; math.Abs(d) > 1e-9*scale {
						t.Errorf("load case %s axis %d: applied %v + reactions %v = %v", lc.Name, i, lc.AppliedKN[i], lc.ReactionSumKN[i], d)
					}
				}
				if lc.MaxTranslationNode < 0 || !(lc.MaxTranslationM > 0) {
					t.Errorf("max translation %v at %d", lc.MaxTranslationM, lc.MaxTranslationNode)
				}
				if len(lc.EndForces) != f.Elements {
					t.Errorf("%d element end forces for %d elements", len(lc.EndForces), f.Elements)
				}
			}
			if !strings.Contains(stdout, "max translation") {
				t.Errorf("no summary on stdout: %q", stdout)
			}
		})
	}
}

// TestFEACommandTowerLoads checks the conmech tower_3D load case in
// detail: 10 kN in +y at nodes 5 and 7 (SOURCES.md), reactions −20 kN in y.
func TestFEACommandTowerLoads(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	if _, err := runFEA(t, "--model", filepath.Join(feaData, "conmech/tower_3D.json"), "--loads", filepath.Join(feaData, "conmech/tower_3D_loads.json"), "--loadcase", "0", "--out", out); err != nil {
		t.Fatal(err)
	}
	f := readFEAFile(t, out)
	lc := f.LoadCases[0]
	if lc.AppliedKN != [3]float64{0, 20, 0} {
		t.Errorf("applied %v, want (0, 20, 0) kN", lc.AppliedKN)
	}
	if math.Abs(lc.ReactionSumKN[1]+20) > 1e-9 {
		t.Errorf("Σ Ry = %v kN", lc.ReactionSumKN[1])
	}
	if len(lc.Reactions) != 4 {
		t.Errorf("%d reactions, want the 4 supports", len(lc.Reactions))
	}
	if !strings.Contains(f.Material, "Steel") {
		t.Errorf("material %q: want the model's steel", f.Material)
	}
	// the loaded side moves in +y
	for _, d := range lc.Displacements {
		if (d.Node == 5 || d.Node == 7) && !(d.TranslateM[1] > 0) {
			t.Errorf("node %d uy = %v, want > 0", d.Node, d.TranslateM[1])
		}
	}
}

// TestFEACommandLoadsLayouts: the flat layout, element loads by tag and by
// index, several load cases and --loadcase selection.
func TestFEACommandLoadsLayouts(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(feaData, "conmech/tower_3D.json")
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flat := write("flat.json", `{"ploads": [{"node_ind": 9, "force": [0, 0, -5], "force_unit": "kN"}],
		"eloads": [{"q": [0, 0, -1], "q_unit": "kN/m", "elem_inds": [16, 17]}, {"q": [0, -2000, 0], "q_unit": "N/m", "elem_tags": [""]}],
		"gravity": {"force": [0, 0, -1], "force_unit": "kN"}}`)
	out := filepath.Join(dir, "r.json")
	if _, err := runFEA(t, "--model", model, "--loads", flat, "--out", out); err != nil {
		t.Fatal(err)
	}
	f := readFEAFile(t, out)
	lc := f.LoadCases[0]
	if lc.Name != "0" {
		t.Errorf("flat layout case named %q, want 0", lc.Name)
	}
	// independent total: 5 kN + 1 kN/m on elements 16, 17 + self weight
	// (78.5 kN/m³ × A × ΣL) in −z; 2 kN/m × ΣL in −y over all elements.
	if lc.AppliedKN[2] > -5 || lc.AppliedKN[1] >= 0 {
		t.Errorf("applied %v", lc.AppliedKN)
	}
	for i := 0; i < 3; i++ {
		if math.Abs(lc.AppliedKN[i]+lc.ReactionSumKN[i]) > 1e-9*(1+math.Abs(lc.AppliedKN[i])) {
			t.Errorf("axis %d unbalanced: %v vs %v", i, lc.AppliedKN, lc.ReactionSumKN)
		}
	}
	multi := write("multi.json", `{"loadcases": {"10": {"ploads": [{"node_ind": 8, "force": [1, 0, 0]}]}, "2": {"ploads": [{"node_ind": 8, "force": [0, 2, 0]}], "eloads": []}}}`)
	if _, err := runFEA(t, "--model", model, "--loads", multi, "--out", out); err != nil {
		t.Fatal(err)
	}
	f = readFEAFile(t, out)
	if len(f.LoadCases) != 2 || f.LoadCases[0].Name != "2" || f.LoadCases[1].Name != "10" {
		t.Fatalf("load cases %v, want 2 then 10", f.LoadCases)
	}
	if _, err := runFEA(t, "--model", model, "--loads", multi, "--loadcase", "10", "--out", out); err != nil {
		t.Fatal(err)
	}
	f = readFEAFile(t, out)
	if len(f.LoadCases) != 1 || f.LoadCases[0].AppliedKN != [3]float64{1, 0, 0} {
		t.Fatalf("--loadcase 10: %+v", f.LoadCases)
	}
}

// TestFEACommandErrors: bad inputs give one-line errors naming the problem.
func TestFEACommandErrors(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(feaData, "conmech/tower_3D.json")
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	out := filepath.Join(dir, "r.json")
	cases := []struct {
		name, loads string
		args        []string
		want        string
	}{
		{"unknown node", `{"ploads": [{"node_ind": 99, "force": [0, 0, 1]}]}`, nil, "node 99 out of range"},
		{"bad unit", `{"ploads": [{"node_ind": 1, "force": [0, 0, 1], "force_unit": "furlong"}]}`, nil, `unknown unit "furlong"`},
		{"NaN", `{"ploads": [{"node_ind": 1, "force": [0, NaN, 1]}]}`, nil, "invalid JSON"},
		{"string number", `{"ploads": [{"node_ind": 1, "force": [0, "x", 1]}]}`, nil, "want 3 numbers"},
		{"two components", `{"ploads": [{"node_ind": 1, "force": [0, 1]}]}`, nil, "want 3 numbers"},
		{"huge", `{"ploads": [{"node_ind": 1, "force": [0, 1e999, 1]}]}`, nil, "not a finite number"},
		{"unknown tag", `{"eloads": [{"q": [0, 0, -1], "elem_tags": ["girder"]}]}`, nil, `tag "girder" matches no element`},
		{"element index", `{"eloads": [{"q": [0, 0, -1], "elem_inds": [24]}]}`, nil, "element 24 out of range"},
		{"misspelt key", `{"loadcases": {"0": {"pload": []}}}`, nil, `unknown key "pload"`},
		{"not loads", `{"nodes": []}`, nil, "not a loads file"},
		{"truncated", `{"ploads": [`, nil, "invalid JSON"},
		{"both layouts", `{"loadcases": {}, "ploads": []}`, nil, "use one layout"},
		{"missing loadcase", `{"ploads": []}`, []string{"--loadcase", "7"}, `--loadcase "7"`},
		{"bad material", "", []string{"--material", "unobtainium"}, "unknown material"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"--model", model, "--out", out}
			if c.loads != "" {
				args = append(args, "--loads", write(strings.ReplaceAll(c.name, " ", "_")+".json", c.loads))
			}
			args = append(args, c.args...)
			_, err := runFEA(t, args...)
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line containing %q", msg, c.want)
			}
		})
	}
}

// TestFEACommandMaterialChoice: --material forces a preset over the
// model's declaration; an unstable (floating) model is reported.
func TestFEACommandMaterialChoice(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	model := filepath.Join(feaData, "assembly_instances/four-frame.json")
	if _, err := runFEA(t, "--model", model, "--out", out); err != nil {
		t.Fatal(err)
	}
	own := readFEAFile(t, out).LoadCases[0].MaxTranslationM
	if _, err := runFEA(t, "--model", model, "--material", "abs", "--strut-diameter-mm", "3", "--out", out); err != nil {
		t.Fatal(err)
	}
	f := readFEAFile(t, out)
	if !strings.Contains(f.Material, "ABS") {
		t.Errorf("material %q", f.Material)
	}
	// same 3 mm round strut, E 2.3 vs 3.5 GPa, γ 10.3 vs 12.26 kN/m³:
	// deflections scale with γ/E (bending-dominated cantilevers).
	ratio := f.LoadCases[0].MaxTranslationM / own
	want := (1050 * 9.80665 / 2.3e9) / (12258.2 / 3.5e9)
	if math.Abs(ratio/want-1) > 0.05 {
		t.Errorf("ABS/PLA displacement ratio %.4g, want ≈ %.4g", ratio, want)
	}
	// an RL3DP model has no declared material: --material model is an error
	if _, err := runFEA(t, "--model", filepath.Join(feaData, "rl3dp/NodeFemur_wireframe.txt"), "--material", "model", "--out", out); err == nil || !strings.Contains(err.Error(), "declares no material") {
		t.Errorf("--material model on RL3DP: %v", err)
	}
	// a floating strut: one element, no support
	fl := filepath.Join(dir, "float.json")
	os.WriteFile(fl, []byte(`{"unit": "meter", "nodes": [{"point": [0,0,1], "node_ind": 0, "is_grounded": false}, {"point": [1,0,1], "node_ind": 1, "is_grounded": false}],
		"elements": [{"end_node_inds": [0, 1], "elem_tag": ""}], "supports": [],
		"cross_secs": [{"elem_tags": [], "A": 1e-4, "Jx": 1e-8, "Iy": 1e-8, "Iz": 1e-8, "A_unit": "m2", "Jx_unit": "m4", "Iy_unit": "m4", "Iz_unit": "m4"}],
		"materials": [{"elem_tags": [], "E": 2e8, "G12": 8e7, "density": 78.5, "E_unit": "kN/m2", "G12_unit": "kN/m2", "density_unit": "kN/m3"}]}`), 0o644)
	if _, err := runFEA(t, "--model", fl, "--out", out); err == nil || !strings.Contains(err.Error(), "float without support") {
		t.Errorf("floating model: %v", err)
	}
}
