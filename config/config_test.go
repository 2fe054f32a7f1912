package config

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const examplePath = "examples/cell.yaml"

func TestDefaultsValid(t *testing.T) {
	d := Defaults()
	if err := d.Validate(); err != nil {
		t.Fatalf("Defaults() invalid: %v", err)
	}
	for _, in := range []string{"", "\n# only a comment\n", "{}"} {
		c, err := Parse(strings.NewReader(in))
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if !reflect.DeepEqual(c, d) {
			t.Errorf("Parse(%q) differs from Defaults()", in)
		}
	}
	c, err := Load("")
	if err != nil || !reflect.DeepEqual(c, d) {
		t.Errorf("Load(\"\") = %v", err)
	}
	// derived defaults follow the fields they derive from
	c, err = Parse(strings.NewReader("wireframe:\n  nozzle_diameter_mm: 2\nlpbf:\n  max_power_w: 300\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Safety.MaxDisplacementMM != 1 || c.Safety.MaxLaserPowerW != 300 {
		t.Errorf("derived: max_displacement %v, max_laser_power %v", c.Safety.MaxDisplacementMM, c.Safety.MaxLaserPowerW)
	}
}

// normalize maps equivalent spellings to one value: "collision: true" is
// the default (nil pointer) and "keep_out: []" is no boxes (nil).
func normalize(c Cell) Cell {
	if c.Wireframe.Collision != nil && *c.Wireframe.Collision {
		c.Wireframe.Collision = nil
	}
	if len(c.Safety.KeepOut) == 0 {
		c.Safety.KeepOut = nil
	}
	return c
}

// TestExampleHoldsTheDefaults: every value written in the example is the
// default, so the example documents the defaults truthfully.
func TestExampleHoldsTheDefaults(t *testing.T) {
	c, err := Load(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	got, want := normalize(c), Defaults()
	if !reflect.DeepEqual(got, want) {
		gy, _ := got.Marshal()
		wy, _ := want.Marshal()
		gl, wl := strings.Split(string(gy), "\n"), strings.Split(string(wy), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("example differs from Defaults() at %q (default %q)", gl[i], wl[i])
			}
		}
		t.Fatal("example differs from Defaults()")
	}
}

// yamlKeys lists the YAML key paths of a struct type, recursively:
// "robot.tool_offset.x_mm". Slices of structs add "path[]" and their
// element keys as "path[].key".
func yamlKeys(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		path := tag
		if prefix != "" {
			path = prefix + "." + tag
		}
		out = append(out, path)
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct:
			out = append(out, yamlKeys(ft, path)...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			out = append(out, yamlKeys(ft.Elem(), path+"[]")...)
		}
	}
	return out
}

type exampleKey struct {
	comment string
	line    int
	leaf    bool
}

// exampleKeys walks the example's YAML tree and returns every key path with
// the comment attached to it (head or line comment).
func exampleKeys(t *testing.T) map[string]exampleKey {
	t.Helper()
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]exampleKey{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			path := k.Value
			if prefix != "" {
				path = prefix + "." + k.Value
			}
			c := strings.TrimSpace(k.HeadComment + " " + k.LineComment + " " + v.LineComment)
			out[path] = exampleKey{comment: c, line: k.Line, leaf: v.Kind != yaml.MappingNode}
			walk(v, path)
		}
	}
	walk(doc.Content[0], "")
	return out
}

// TestExampleDocumentsEveryField: config/examples/cell.yaml must mention
// every yaml key of config.Cell, each with its own comment, and every leaf
// comment must state the default. A new field fails this test until it is
// documented in the example.
func TestExampleDocumentsEveryField(t *testing.T) {
	keys := exampleKeys(t)
	for _, path := range yamlKeys(reflect.TypeOf(Cell{}), "") {
		if i := strings.Index(path, "[]"); i >= 0 {
			// element keys of a list of structs: documented in the list's comment
			parent, elem := path[:i], strings.TrimPrefix(path[i+2:], ".")
			if elem == "" {
				continue
			}
			k, ok := keys[parent]
			if !ok || !strings.Contains(k.comment, elem) {
				t.Errorf("%s: the comment of %q must describe its entries' key %q", examplePath, parent, elem)
			}
			continue
		}
		k, ok := keys[path]
		if !ok {
			t.Errorf("%s does not mention %q", examplePath, path)
			continue
		}
		if k.comment == "" {
			t.Errorf("%s:%d: %q has no comment", examplePath, k.line, path)
		}
		if k.leaf && !strings.Contains(k.comment, "Default") {
			t.Errorf("%s:%d: the comment of %q does not state its default", examplePath, k.line, path)
		}
	}
}

func TestUnknownKeysRejectedWithLine(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"name: c\nrobot:\n  rtde_prot: 30004\n", "line 3: field rtde_prot not found"},
		{"nmae: c\n", "line 1: field nmae not found"},
		{"safety:\n  workspace:\n    min_mm: [0, 0, 0]\n    max: [1, 1, 1]\n", "line 4: field max not found"},
		{"robot:\n  rtde_port: thirty\n", "line 2: robot.rtde_port: cannot unmarshal"},
		{"name: a\nname: b\n", "line 2"},
		{"mqtt:\n  tls:\n    ca: x\n", "line 3: field ca not found"},
	} {
		_, err := Parse(strings.NewReader(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want %q", c.yaml, err, c.want)
		}
	}
	// Load prefixes the file name
	path := filepath.Join(t.TempDir(), "cell.yaml")
	os.WriteFile(path, []byte("robot:\n  hots: x\n"), 0o644)
	if _, err := Load(path); err == nil || !strings.HasPrefix(err.Error(), path+": ") || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("Load: %v", err)
	}
}

func TestValidationErrorsNameTheField(t *testing.T) {
	cases := []struct{ yaml, field string }{
		{"name: \"bad name!\"\n", "name"},
		{"robot:\n  rtde_port: 70000\n", "robot.rtde_port"},
		{"robot:\n  model: ur10\n", "robot.model"},
		{"robot:\n  register_offset: 5\n", "robot.register_offset"},
		{"robot:\n  home_joints_rad: [0, 7, 0, 0, 0, 0]\n", "robot.home_joints_rad"},
		{"robot:\n  print_speed_mm_s: 2000\n", "robot.print_speed_mm_s"},
		{"robot:\n  rtde_frequency_hz: 1000\n", "robot.rtde_frequency_hz"},
		{"wireframe:\n  material: steel\n", "wireframe.material"},
		{"wireframe:\n  nozzle_length_mm: 50\n", "wireframe.nozzle_length_mm"},
		{"wireframe:\n  max_tilt_deg: 120\n", "wireframe.max_tilt_deg"},
		{"ccf:\n  theta1_deg: 130\n", "ccf.theta1_deg"},
		{"ccf:\n  retraversal_penalty: sometimes\n", "ccf.retraversal_penalty"},
		{"ccf:\n  matrix_temp_degC: 350\n", "ccf.matrix_temp_degC"},
		{"lpbf:\n  spacing_mm: 20\n", "lpbf.spacing_mm"},
		{"lpbf:\n  power_w: 500\n", "lpbf.power_w"},
		{"lpbf:\n  thermal_model: magic\n", "lpbf.thermal_model"},
		{"lpbf:\n  hot_area_weight: -1\n", "lpbf.hot_area_weight"},
		{"lpbf:\n  hot_area_weight: .nan\n", "lpbf.hot_area_weight"},
		{"lpbf:\n  reheat_jump: -1\n", "lpbf.reheat_jump"},
		{"lpbf:\n  warnsdorff: always\n", "lpbf.warnsdorff"},
		{"lpbf:\n  thin_width_px: 3\n", "lpbf.thin_width_px"},
		{"lpbf:\n  thin_width_px: -1\n", "lpbf.thin_width_px"},
		{"lpbf:\n  line_run_px: -2\n", "lpbf.line_run_px"},
		{"lpbf:\n  line_jump_radii: -1\n", "lpbf.line_jump_radii"},
		{"lpbf:\n  line_jump_radii: .nan\n", "lpbf.line_jump_radii"},
		{"lpbf:\n  jump_target: random\n", "lpbf.jump_target"},
		{"lpbf:\n  jump_min_radii: -1\n", "lpbf.jump_min_radii"},
		{"lpbf:\n  decay: .nan\n", "lpbf.decay"},
		{"lpbf:\n  scan_speed_mm_s: .inf\n", "lpbf.scan_speed_mm_s"},
		{"planner:\n  ring: 9\n", "planner.ring"},
		{"planner:\n  discount: harmonic\n", "planner.discount"},
		{"planner:\n  backend: cuda\n", "planner.backend"},
		{"mqtt:\n  broker: \"not a url\"\n", "mqtt.broker"},
		{"mqtt:\n  broker: \"http://host:1883\"\n", "mqtt.broker"},
		{"mqtt:\n  topic_prefix: \"a/#\"\n", "mqtt.topic_prefix"},
		{"mqtt:\n  password: x\n  password_file: /tmp/p\n", "mqtt.password_file"},
		{"mqtt:\n  tls:\n    cert_file: c.pem\n", "mqtt.tls"},
		{"serial:\n  baud: 12345\n", "serial.baud"},
		{"serial:\n  in_flight: 99\n", "serial.in_flight"},
		{"pendant:\n  allowed_clients: [nonsense]\n", "pendant.allowed_clients"},
		{"pendant:\n  web_addr: 0.0.0.0:8080\n", "pendant.web_token"},
		{"controller:\n  time_scale: 1e9\n", "controller.time_scale"},
		{"safety:\n  workspace:\n    min_mm: [0, 0, 0]\n    max_mm: [1, -1, 1]\n", "safety.workspace"},
		{"safety:\n  keep_out:\n    - min_mm: [0, 0, 0]\n      max_mm: [0, 1, 1]\n", "safety.keep_out[0]"},
		{"safety:\n  nozzle_temp_min_degC: 400\n", "safety.nozzle_temp_min_degC"},
		{"safety:\n  max_tcp_speed_mm_s: 50\n", "robot.travel_speed_mm_s"},
		{"safety:\n  joint_max_rad: [7, 7, 7, 7, 7, 7]\n  joint_min_rad: [-1, -1, -1, -1, -1, -1]\n", "safety.joint_max_rad"},
		{"gcode:\n  matching: optimal\n", "gcode.matching"},
		{"gcode:\n  lookahead_blocks: 1\n", "gcode.lookahead_blocks"},
		{"gcode:\n  ultigcode_filament_diameter_mm: 0.1\n", "gcode.ultigcode_filament_diameter_mm"},
		{"gcode:\n  ultigcode_filament_diameter_mm: .nan\n", "gcode.ultigcode_filament_diameter_mm"},
		{"gcode:\n  comb: sometimes\n", "gcode.comb"},
		{"gcode:\n  comb_max_detour: 0.5\n", "gcode.comb_max_detour"},
		{"gcode:\n  comb_clearance_mm: 9\n", "gcode.comb_clearance_mm"},
		{"gcode:\n  wall_order: sideways\n", "gcode.wall_order"},
		{"lpbf:\n  field_origin: corner\n", "lpbf.field_origin"},
		{"ccf:\n  fiber_cut_output: standard:9\n", "ccf.fiber_cut_output"},
		{"ccf:\n  fiber_cut_output: tool:1\n", "ccf.fiber_cut_output"},
		{"ccf:\n  fiber_cut_pulse_s: 60\n", "ccf.fiber_cut_pulse_s"},
	}
	for _, c := range cases {
		_, err := Parse(strings.NewReader(c.yaml))
		if err == nil {
			t.Errorf("%q: no error, want one about %s", c.yaml, c.field)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v does not wrap ErrInvalid", c.yaml, err)
		}
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%q: %v has no *FieldError", c.yaml, err)
			continue
		}
		if !strings.Contains(err.Error(), "config: "+c.field+": ") {
			t.Errorf("%q: %v does not name %s", c.yaml, err, c.field)
		}
	}
	if len(cases) < 12 {
		t.Fatal("need at least a dozen cases")
	}
}

func TestValidationJoinsAllProblems(t *testing.T) {
	_, err := Parse(strings.NewReader("planner:\n  ring: 0\n  n_max: -1\nlpbf:\n  hot_threshold: 2\n"))
	if err == nil {
		t.Fatal("no error")
	}
	// an explicit ring: 0 is kept (and invalid); all three are reported
	for _, f := range []string{"planner.ring", "planner.n_max", "lpbf.hot_threshold"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("%v lacks %s", err, f)
		}
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	d := Defaults()
	data, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalize(c), d) {
		t.Error("Parse(Marshal(Defaults())) differs from Defaults()")
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	os.WriteFile(big, []byte("name: c\n"+strings.Repeat("# padding\n", MaxFileBytes/10+1)), 0o644)
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big file: %v", err)
	}
}

func TestMaterialsAndSections(t *testing.T) {
	for name, m := range Materials {
		got, err := LookupMaterial(strings.ToUpper(name))
		if err != nil || got != m {
			t.Errorf("LookupMaterial(%q) = %v, %v", name, got, err)
		}
		if !(m.EPa > 0 && m.GPa > 0 && m.DensityKgM3 > 0) || m.Source == "" {
			t.Errorf("%s incomplete: %+v", name, m)
		}
	}
	// ABS: G from E and ν = 0.35 (isotropic: G = E / 2(1+ν))
	if abs := Materials["abs"]; math.Abs(abs.GPa-abs.EPa/(2*1.35)) > 1 {
		t.Errorf("ABS G = %v", abs.GPa)
	}
	if _, err := LookupMaterial("unobtainium"); err == nil || !strings.Contains(err.Error(), "known: abs, pla, pla-rl3dp") {
		t.Errorf("unknown material: %v", err)
	}
	// solid round d = 2 mm: A = π r², I = π r⁴/4, J = π r⁴/2 with r = 1e-3 m
	a, i, j := RoundSection(2)
	if math.Abs(a-math.Pi*1e-6) > 1e-18 || math.Abs(i-math.Pi*1e-12/4) > 1e-24 || math.Abs(j-2*i) > 1e-24 {
		t.Errorf("RoundSection(2) = %v %v %v", a, i, j)
	}
}

func TestBoxContains(t *testing.T) {
	b := Box{MinMM: Vec3{0, 0, 0}, MaxMM: Vec3{1, 2, 3}}
	if !b.Contains(Vec3{1, 2, 3}) || !b.Contains(Vec3{0.5, 1, 0}) || b.Contains(Vec3{1.01, 0, 0}) || b.Empty() || !(Box{}).Empty() {
		t.Error("Box.Contains/Empty")
	}
}

// TestZeroSpacingOneProblem: lpbf.spacing_mm 0 (or scan_speed_mm_s 0) is
// reported once, naming the field — not also as an infinite number of
// thermal sub-steps blamed on the scan speed.
func TestZeroSpacingOneProblem(t *testing.T) {
	for _, c := range []struct{ yaml, field string }{
		{"lpbf:\n  spacing_mm: 0\n", "lpbf.spacing_mm"},
		{"lpbf:\n  scan_speed_mm_s: 0\n", "lpbf.scan_speed_mm_s"},
	} {
		_, err := Parse(strings.NewReader(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Fatalf("%q: err = %v, want one naming %s", c.yaml, err, c.field)
		}
		if strings.Contains(err.Error(), "Inf") || strings.Contains(err.Error(), "sub-steps") {
			t.Errorf("%q: derived error reported: %v", c.yaml, err)
		}
	}
}

// yaml.v3 truncates a fractional number decoded into an integer field;
// the file is refused instead, naming the line and the key.
func TestFractionalIntegersRejected(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"ccf:\n  layers: 2.5\n", "line 2: ccf.layers: 2.5 is not a whole number"},
		{"planner:\n  ring: 2.7\n", "line 2: planner.ring: 2.7 is not a whole number"},
		{"planner:\n  per_process:\n    wireframe:\n      exact_max_leaves: 100.5\n", "line 4: planner.per_process.wireframe.exact_max_leaves: 100.5"},
		{"robot:\n  rtde_port: 30004.5\n", "line 2: robot.rtde_port"},
		{"planner:\n  ring: .inf\n", "line 2"},
	} {
		_, err := Parse(strings.NewReader(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want %q", c.yaml, err, c.want)
		}
	}
	// whole numbers written as floats decode exactly and are accepted
	c, err := Parse(strings.NewReader("planner:\n  ring: 3.0\n  per_process:\n    wireframe:\n      exact_max_leaves: 2e3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Planner.Ring != 3 || *c.Planner.PerProcess["wireframe"].ExactMaxLeaves != 2000 {
		t.Errorf("ring %d, exact_max_leaves %d", c.Planner.Ring, *c.Planner.PerProcess["wireframe"].ExactMaxLeaves)
	}
	// several type errors are one line
	_, err = Parse(strings.NewReader("planner:\n  ring: abc\n  seed: x\n"))
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("two type errors: %q", err)
	}
}

// TestExtremeFloatsNamed: huge, infinite and NaN values of positive keys
// are refused with the key and what is allowed (1e308 used to read
// "must be > 0, got 1e+308").
func TestExtremeFloatsNamed(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"robot:\n  print_speed_mm_s: 1e308\n", "robot.print_speed_mm_s: must be > 0 and at most 1e300, got 1e+308"},
		{"robot:\n  print_speed_mm_s: .inf\n", "robot.print_speed_mm_s: must be a finite number > 0, got +Inf"},
		{"robot:\n  print_speed_mm_s: .nan\n", "robot.print_speed_mm_s: must be a finite number > 0, got NaN"},
		{"robot:\n  print_speed_mm_s: -1e308\n", "robot.print_speed_mm_s: must be > 0, got -1e+308"},
		{"safety:\n  max_displacement_mm: 1e301\n", "safety.max_displacement_mm: must be > 0 and at most 1e300, got 1e+301"},
	} {
		_, err := Parse(strings.NewReader(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want %q", c.yaml, err, c.want)
		}
	}
}
