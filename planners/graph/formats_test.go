package graph

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"fabcell/planners/graph/commonlayer"

	"github.com/golang/geo/r3"
)

func td(parts ...string) string { return filepath.Join(append([]string{"testdata"}, parts...)...) }

// rawZs reads the z column of an RL3DP node file with a separate,
// minimal parser (independent of readNodeTxt).
func rawZs(t *testing.T, path string) []float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var zs []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 3 {
			z, _ := strconv.ParseFloat(fs[2], 64)
			zs = append(zs, z)
		}
	}
	return zs
}

// components counts connected components with union-find (independent of
// Graph.Components).
func components(n int, edges []Edge) int {
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	c := n
	for _, e := range edges {
		a, b := find(e.A), find(e.B)
		if a != b {
			parent[a] = b
			c--
		}
	}
	return c
}

func TestRL3DPWireframe(t *testing.T) {
	// sizes from shared/data/wireframe/SOURCES.md §2
	for _, c := range []struct {
		model        string
		nodes, edges int
	}{
		{"Femur", 263, 772}, {"Coral", 785, 2322}, {"Molar", 852, 2486},
		{"Bunny", 1155, 3382}, {"Duck", 1193, 3476}, {"Lounge", 1390, 4164},
	} {
		t.Run(c.model, func(t *testing.T) {
			path := td("Node" + c.model + "_wireframe.txt")
			g, err := Load(path, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if g.NumNodes() != c.nodes || g.NumEdges() != c.edges || g.Kind != Wireframe {
				t.Errorf("%d nodes %d edges kind %v, want %d %d wireframe", g.NumNodes(), g.NumEdges(), g.Kind, c.nodes, c.edges)
			}
			grounded := 0
			for i, z := range rawZs(t, path) {
				if z < 1 {
					grounded++
				}
				if g.Grounded[i] != (z < 1) {
					t.Fatalf("node %d z=%v grounded=%v", i, z, g.Grounded[i])
				}
			}
			if g.NumGrounded() != grounded || grounded == 0 {
				t.Errorf("grounded %d, raw count %d", g.NumGrounded(), grounded)
			}
			if _, n := g.Components(); n != components(g.NumNodes(), g.Edges) {
				t.Errorf("components %d, union-find %d", n, components(g.NumNodes(), g.Edges))
			}
			// the Edge file may be given instead of the Node file
			g2, err := Load(td("Edge"+c.model+"_wireframe.txt"), LoadOptions{GroundZMM: 5})
			if err != nil {
				t.Fatal(err)
			}
			if g2.NumEdges() != c.edges || g2.NumGrounded() < grounded {
				t.Errorf("via Edge file: %d edges, %d grounded below 5 mm", g2.NumEdges(), g2.NumGrounded())
			}
		})
	}
}

func TestRL3DPCCF(t *testing.T) {
	// shared/data/ccf/SOURCES.md: nodes, edge lines, unique edges, odd-degree nodes
	for _, c := range []struct {
		model                     string
		nodes, lines, unique, odd int
	}{
		{"Bearing", 294, 1150, 575, 92}, {"Gear", 551, 3100, 1550, 132}, {"Shell", 567, 3198, 1599, 102},
	} {
		t.Run(c.model, func(t *testing.T) {
			g, err := Load(td("Node"+c.model+"_CCF.txt"), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if g.Kind != Planar || g.NumNodes() != c.nodes || g.NumEdges() != c.unique || g.NumGrounded() != 0 {
				t.Errorf("kind %v nodes %d edges %d grounded %d", g.Kind, g.NumNodes(), g.NumEdges(), g.NumGrounded())
			}
			lines := 0
			for e := range g.Edges {
				lines += g.PassesOf(e)
			}
			if lines != c.lines {
				t.Errorf("edge lines %d, want %d", lines, c.lines)
			}
			odd := 0
			for v := 0; v < g.NumNodes(); v++ {
				if g.Degree(v)%2 == 1 {
					odd++
				}
			}
			if odd != c.odd {
				t.Errorf("odd-degree nodes %d, want %d", odd, c.odd)
			}
			if !g.IsPlanar(0) {
				t.Error("not planar")
			}
		})
	}
}

func edgeSet(g *Graph) map[[2]int]bool {
	s := map[[2]int]bool{}
	for _, e := range g.Edges {
		s[pairKey(e.A, e.B)] = true
	}
	return s
}

// TestOBJMatchesRL3DPPairs: the released meshes have the Node files' vertex
// order, so the face-edge wire-frame must equal the Edge file.
func TestOBJMatchesRL3DPPairs(t *testing.T) {
	for _, m := range []string{"Bunny", "Coral", "Duck", "Femur", "Lounge", "Molar"} {
		t.Run(m, func(t *testing.T) {
			obj, err := Load(td(m+"_wireframe.obj"), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			pair, err := Load(td("Node"+m+"_wireframe.txt"), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if obj.NumNodes() != pair.NumNodes() {
				t.Fatalf("nodes %d vs %d", obj.NumNodes(), pair.NumNodes())
			}
			a, b := edgeSet(obj), edgeSet(pair)
			if len(a) != len(b) {
				t.Fatalf("edges %d vs %d", len(a), len(b))
			}
			for k := range a {
				if !b[k] {
					t.Fatalf("OBJ edge %v not in the Edge file", k)
				}
			}
			// Coral's OBJ is a differently placed copy of the mesh (same
			// connectivity, vertices up to 30.7 mm apart); the others match.
			maxd := 0.0
			for i := range obj.Pos {
				maxd = math.Max(maxd, obj.Pos[i].Sub(pair.Pos[i]).Norm())
			}
			if m != "Coral" && maxd > 1e-5 {
				t.Errorf("positions differ by up to %v mm", maxd)
			}
			if m != "Coral" && obj.NumGrounded() != pair.NumGrounded() {
				t.Errorf("grounded %d vs %d", obj.NumGrounded(), pair.NumGrounded())
			}
		})
	}
}

func TestOBJFeatures(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "quad.obj")
	// a quad and a triangle sharing an edge, negative indices, v/vt/vn
	// forms, a line element, a continuation line, a degenerate face
	obj := `# test
mtllib x.mtl
v 0 0 0
v 10 0 0
v 10 10 5 1.0
v 0 10 0.5 0.2 0.3 0.4
vt 0 0
vn 0 0 1
o quad
f 1/1/1 2/1/1 3/1/1 \
  4/1/1
f -4//1 -2//1 -1//1
v 20 0 0
l 2 5
f 1 1 2
`
	os.WriteFile(path, []byte(obj), 0o644)
	g, err := Load(path, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Edge{{0, 1}, {1, 2}, {2, 3}, {3, 0}, {0, 2}, {1, 4}}
	if len(g.Edges) != len(want) {
		t.Fatalf("edges %v, want %v", g.Edges, want)
	}
	for i := range want {
		if g.Edges[i] != want[i] {
			t.Fatalf("edges %v, want %v", g.Edges, want)
		}
	}
	if g.NumNodes() != 5 || g.NumGrounded() != 4 || g.Grounded[2] {
		t.Errorf("nodes %d grounded %v", g.NumNodes(), g.Grounded)
	}
	if len(g.Meta.Warnings) != 1 || !strings.Contains(g.Meta.Warnings[0], "degenerate") {
		t.Errorf("warnings %v", g.Meta.Warnings)
	}
	// a flat mesh is planar
	os.WriteFile(path, []byte("v 0 0 2\nv 1 0 2\nv 0 1 2\nf 1 2 3\n"), 0o644)
	if g, err := Load(path, LoadOptions{}); err != nil || g.Kind != Planar || g.NumGrounded() != 0 {
		t.Errorf("flat mesh: %v %v", g, err)
	}
}

// rawAssembly decodes an assembly_instances file generically (independent
// of LoadAssembly) into positions, grounded flags, edges (list indices) and
// layer ids.
func rawAssembly(t *testing.T, path string) (pos []r3.Vector, grounded []bool, edges []Edge, layers []int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	byID := map[int]int{}
	for i, n := range doc["node_list"].([]any) {
		m := n.(map[string]any)
		p := m["point"].(map[string]any)
		pos = append(pos, r3.Vector{X: p["X"].(float64), Y: p["Y"].(float64), Z: p["Z"].(float64)})
		grounded = append(grounded, m["is_grounded"].(float64) != 0)
		if id, ok := m["node_id"]; ok {
			byID[int(id.(float64))] = i
		} else {
			byID[i] = i
		}
	}
	for _, e := range doc["element_list"].([]any) {
		m := e.(map[string]any)
		ends := m["end_node_ids"].([]any)
		edges = append(edges, Edge{byID[int(ends[0].(float64))], byID[int(ends[1].(float64))]})
		layers = append(layers, int(m["layer_id"].(float64)))
	}
	return
}

func TestAssemblyInstances(t *testing.T) {
	// nodes / elements / grounded from shared/data/wireframe/SOURCES.md §1
	for _, c := range []struct {
		file                      string
		nodes, elements, grounded int
		originMM                  r3.Vector
	}{
		{"four-frame.json", 5, 4, 2, r3.Vector{X: 700, Y: 0, Z: 25}},
		{"simple_frame.json", 12, 19, 4, r3.Vector{X: 700, Y: 0, Z: 25}},
		{"topopt-101_tiny.json", 40, 76, 8, r3.Vector{X: 600, Y: 0, Z: 25}},
		{"klein_bottle_trail.json", 64, 99, 6, r3.Vector{X: 600, Y: 100, Z: 25}},
		{"djmm_test_block_S1_03-14-2019_w_layer.json", 76, 253, 13, r3.Vector{X: 600, Y: 0, Z: 25}},
		{"topopt-100_S1_03-14-2019_w_layer.json", 88, 132, 20, r3.Vector{X: 600, Y: 0, Z: 25}},
		{"tre_foil_knot.json", 142, 284, 10, r3.Vector{X: 600, Y: 0, Z: 25}},
		{"duck.json", 305, 909, 72, r3.Vector{X: 600, Y: 0, Z: 25}},
		{"bunny_full_quad.json", 388, 786, 59, r3.Vector{X: 600, Y: 0, Z: 25}},
		{"DJMM_bridge.json", 1548, 6427, 258, r3.Vector{X: 600, Y: 0, Z: 25}},
	} {
		t.Run(c.file, func(t *testing.T) {
			path := td("assembly_instances", c.file)
			g, err := Load(path, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if g.NumNodes() != c.nodes || g.NumEdges() != c.elements || g.NumGrounded() != c.grounded {
				t.Errorf("%d/%d/%d, want %d/%d/%d", g.NumNodes(), g.NumEdges(), g.NumGrounded(), c.nodes, c.elements, c.grounded)
			}
			pos, grounded, edges, layers := rawAssembly(t, path)
			for i := range pos {
				if g.Pos[i] != pos[i] || g.Grounded[i] != grounded[i] {
					t.Fatalf("node %d: %v %v, raw %v %v", i, g.Pos[i], g.Grounded[i], pos[i], grounded[i])
				}
			}
			for j := range edges {
				if g.Edges[j] != edges[j] || g.Meta.LayerID[j] != layers[j] {
					t.Fatalf("element %d: %v layer %d, raw %v layer %d", j, g.Edges[j], g.Meta.LayerID[j], edges[j], layers[j])
				}
			}
			// material: PLA r = 0.15 cm, E = 350 kN/cm², G = 240 kN/cm²,
			// γ = 12.2582 kN/m³, f_y = 3.6 kN/cm²; SI by hand:
			m := g.Meta.Material
			if m == nil {
				t.Fatal("no material")
			}
			r := 0.0015 // m
			near := func(got, want float64, what string) {
				if math.Abs(got-want) > 1e-3*math.Abs(want) {
					t.Errorf("%s = %g, want %g", what, got, want)
				}
			}
			near(m.EPa, 350e3/1e-4, "E")
			near(m.GPa, 240e3/1e-4, "G")
			near(m.YieldPa, 3.6e3/1e-4, "fy")
			near(m.UnitWeightNM, 12258.2, "unit weight")
			near(m.DensityKgM3, 1250, "density")
			near(m.AreaM2, math.Pi*r*r, "A")
			near(m.IyM4, math.Pi*math.Pow(r, 4)/4, "Iy")
			near(m.IzM4, math.Pi*math.Pow(r, 4)/4, "Iz")
			near(m.JM4, math.Pi*math.Pow(r, 4)/2, "J")
			if m.Name != "PLA" || !strings.Contains(m.SourceNote, "makeitfrom") {
				t.Errorf("name %q source %q", m.Name, m.SourceNote)
			}
			f := g.Meta.BedFrame
			if f == nil || f.OriginMM != c.originMM || f.X != (r3.Vector{X: 1}) || f.Y != (r3.Vector{Y: 1}) || f.Z != (r3.Vector{Z: 1}) {
				t.Errorf("bed frame %+v, want origin %v", f, c.originMM)
			}
			// grounded nodes carry full fixities when the file lists them
			for i, fx := range g.Meta.Fixities {
				if fx == [6]bool{true, true, true, true, true, true} && !g.Grounded[i] {
					t.Errorf("node %d fixed but not grounded", i)
				}
			}
		})
	}
}

func TestAssemblyTreFoilFrameWarning(t *testing.T) {
	g, err := Load(td("assembly_instances", "tre_foil_knot.json"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Origin.Z = 25 but OriginZ = 23.5 in this file
	if len(g.Meta.Warnings) != 1 || !strings.Contains(g.Meta.Warnings[0], "disagree") || g.Meta.BedFrame.OriginMM.Z != 25 {
		t.Errorf("warnings %v origin %v", g.Meta.Warnings, g.Meta.BedFrame.OriginMM)
	}
}

func TestAssemblyFixities(t *testing.T) {
	g, err := Load(td("assembly_instances", "four-frame.json"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// four-frame lists [1,1,1,1,1,1] for its 2 grounded nodes and
	// [0,0,0,0,0,0] for the 3 others
	if len(g.Meta.Fixities) != 5 {
		t.Fatalf("fixities %v", g.Meta.Fixities)
	}
	for i, fx := range g.Meta.Fixities {
		if fx != ([6]bool{g.Grounded[i], g.Grounded[i], g.Grounded[i], g.Grounded[i], g.Grounded[i], g.Grounded[i]}) {
			t.Errorf("node %d fixity %v grounded %v", i, fx, g.Grounded[i])
		}
	}
	// files without node_id / fixities: list index, no fixity entries
	g, err = Load(td("assembly_instances", "djmm_test_block_S1_03-14-2019_w_layer.json"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if g.Meta.Fixities != nil {
		t.Errorf("fixities %v", g.Meta.Fixities)
	}
}

// writeAssembly writes a small assembly_instances model.
func writeAssembly(t *testing.T, unit string, ids []int, ends [][2]int) string {
	t.Helper()
	var nodes []string
	pts := []r3.Vector{{X: 0, Y: 0, Z: 0}, {X: 1, Y: 0, Z: 0}, {X: 0, Y: 1, Z: 2}}
	for i, id := range ids {
		nodes = append(nodes, fmt.Sprintf(`{"point": {"X": %g, "Y": %g, "Z": %g}, "node_id": %d, "is_grounded": %d}`,
			pts[i].X, pts[i].Y, pts[i].Z, id, map[bool]int{true: 1}[pts[i].Z == 0]))
	}
	var els []string
	for _, e := range ends {
		els = append(els, fmt.Sprintf(`{"end_node_ids": [%d, %d], "layer_id": 0}`, e[0], e[1]))
	}
	doc := fmt.Sprintf(`{"unit": %q, "node_list": [%s], "element_list": [%s],
"base_frame_in_rob_base": {"Origin": {"X": 1, "Y": 2, "Z": 3}, "XAxis": {"X": 0, "Y": 1, "Z": 0}, "YAxis": {"X": -1, "Y": 0, "Z": 0}, "ZAxis": {"X": 0, "Y": 0, "Z": 1}}}`,
		unit, strings.Join(nodes, ",\n"), strings.Join(els, ",\n"))
	path := filepath.Join(t.TempDir(), "m.json")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAssemblyNodeIDsAndUnits(t *testing.T) {
	// node ids 10, 3, 7 in list order: element [7, 10] is list nodes 2-0
	path := writeAssembly(t, "millimeter", []int{10, 3, 7}, [][2]int{{7, 10}, {3, 7}})
	g, err := Load(path, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if g.Edges[0] != (Edge{2, 0}) || g.Edges[1] != (Edge{1, 2}) {
		t.Errorf("edges %v, want [{2 0} {1 2}]", g.Edges)
	}
	for _, c := range []struct {
		unit  string
		scale float64
	}{{"millimeter", 1}, {"meter", 1000}, {"centimeter", 10}, {"inch", 25.4}, {"mm", 1}, {"m", 1000}} {
		g, err := Load(writeAssembly(t, c.unit, []int{0, 1, 2}, [][2]int{{0, 2}, {1, 2}}), LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if g.Pos[2] != (r3.Vector{X: 0, Y: c.scale, Z: 2 * c.scale}) || g.Meta.BedFrame.OriginMM != (r3.Vector{X: c.scale, Y: 2 * c.scale, Z: 3 * c.scale}) {
			t.Errorf("%s: node 2 at %v, origin %v", c.unit, g.Pos[2], g.Meta.BedFrame.OriginMM)
		}
		if g.Meta.Unit != c.unit {
			t.Errorf("unit %q", g.Meta.Unit)
		}
	}
}

func TestConmech(t *testing.T) {
	for _, c := range []struct {
		file                      string
		nodes, elements, grounded int
	}{
		{"four-frame.json", 5, 4, 2}, {"simple_frame.json", 12, 19, 4},
		{"topopt-100.json", 88, 132, 20}, {"tower_3D.json", 10, 24, 4},
	} {
		t.Run(c.file, func(t *testing.T) {
			g, err := Load(td("conmech", c.file), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if g.NumNodes() != c.nodes || g.NumEdges() != c.elements || g.NumGrounded() != c.grounded {
				t.Errorf("%d/%d/%d, want %d/%d/%d", g.NumNodes(), g.NumEdges(), g.NumGrounded(), c.nodes, c.elements, c.grounded)
			}
			if len(g.Meta.ElemMaterial) != g.NumEdges() || len(g.Meta.ElemTags) != g.NumEdges() || len(g.Meta.BendingStiff) != g.NumEdges() {
				t.Fatal("per-element data incomplete")
			}
			for i := range g.Grounded {
				_, supported := g.Meta.Fixities[i]
				if supported != g.Grounded[i] {
					t.Errorf("node %d: support %v, grounded %v", i, supported, g.Grounded[i])
				}
			}
			for j, m := range g.Meta.ElemMaterial {
				if m == nil || !(m.EPa > 0 && m.GPa > 0 && m.DensityKgM3 > 0 && m.AreaM2 > 0 && m.IyM4 > 0 && m.IzM4 > 0 && m.JM4 > 0) {
					t.Fatalf("element %d: incomplete material %+v", j, m)
				}
				if !g.Meta.BendingStiff[j] {
					t.Errorf("element %d not bending-stiff", j)
				}
			}
		})
	}
}

func TestConmechMaterialsByTag(t *testing.T) {
	// four-frame: elements are tagged "", which materials[0] (PLA,
	// elem_tags [""]) and cross_secs[1] ([""]) claim explicitly; the
	// defaults (Steel, elem_tags []) must not be used.
	g, err := Load(td("conmech", "four-frame.json"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := 0.0015
	for j, m := range g.Meta.ElemMaterial {
		if m.Name != "PLA" || math.Abs(m.EPa-3.5e9) > 1 || math.Abs(m.GPa-2.4e9) > 1 ||
			math.Abs(m.DensityKgM3-12.2582e3/9.80665) > 1e-9 || math.Abs(m.YieldPa-235e6) > 1 ||
			math.Abs(m.AreaM2-math.Pi*r*r) > 1e-12 || math.Abs(m.JM4-math.Pi*math.Pow(r, 4)/2) > 1e-18 {
			t.Errorf("element %d: %+v", j, m)
		}
	}
	if g.Meta.Material != g.Meta.ElemMaterial[0] {
		t.Error("uniform model should also set Meta.Material")
	}
	// tower_3D: no tag claims "", so the defaults apply: steel tube
	// RO 114.3×4. Textbook section: A = π/4 (D² − d²), I = π/64 (D⁴ − d⁴),
	// J = 2I; steel E = 210 GPa, γ = 78.5 kN/m³ → ρ = 78.5e3/9.80665.
	g, err = Load(td("conmech", "tower_3D.json"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	D, d := 0.1143, 0.1143-2*0.004
	A := math.Pi / 4 * (D*D - d*d)
	I := math.Pi / 64 * (math.Pow(D, 4) - math.Pow(d, 4))
	for j, m := range g.Meta.ElemMaterial {
		if m.Name != "Steel" || math.Abs(m.EPa-210e9) > 1 || math.Abs(m.AreaM2-A) > 1e-9*A ||
			math.Abs(m.IyM4-I) > 1e-9*I || math.Abs(m.JM4-2*I) > 1e-9*I || math.Abs(m.DensityKgM3-78.5e3/9.80665) > 1e-9 {
			t.Errorf("element %d: %+v (A %g I %g)", j, m, A, I)
		}
	}
	// metres → mm
	lo, hi := g.Bounds()
	if lo != (r3.Vector{}) || hi.X != 10000 || hi.Y != 10000 {
		t.Errorf("bounds %v %v", lo, hi)
	}
}

// TestConmechMatchesAssembly: conmech's copies of three assembly_instances
// models (metres, own node order) describe the same structure: after unit
// conversion the struts, as pairs of end positions, coincide.
func TestConmechMatchesAssembly(t *testing.T) {
	key := func(p r3.Vector) [3]int64 {
		return [3]int64{int64(math.Round(p.X * 1e4)), int64(math.Round(p.Y * 1e4)), int64(math.Round(p.Z * 1e4))}
	}
	struts := func(g *Graph) (map[[2][3]int64]bool, map[[3]int64]bool) {
		s := map[[2][3]int64]bool{}
		gr := map[[3]int64]bool{}
		for _, e := range g.Edges {
			a, b := key(g.Pos[e.A]), key(g.Pos[e.B])
			if fmt.Sprint(a) > fmt.Sprint(b) {
				a, b = b, a
			}
			s[[2][3]int64{a, b}] = true
		}
		for i, p := range g.Pos {
			if g.Grounded[i] {
				gr[key(p)] = true
			}
		}
		return s, gr
	}
	for _, c := range [][2]string{{"four-frame.json", "four-frame.json"}, {"simple_frame.json", "simple_frame.json"},
		{"topopt-100_S1_03-14-2019_w_layer.json", "topopt-100.json"}} {
		a, err := Load(td("assembly_instances", c[0]), LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := Load(td("conmech", c[1]), LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sa, ga := struts(a)
		sb, gb := struts(b)
		if len(sa) != len(sb) || len(ga) != len(gb) {
			t.Fatalf("%s: %d/%d struts, %d/%d grounded", c[1], len(sa), len(sb), len(ga), len(gb))
		}
		for k := range sa {
			if !sb[k] {
				t.Fatalf("%s: strut %v missing in the conmech copy", c[1], k)
			}
		}
		for k := range ga {
			if !gb[k] {
				t.Fatalf("%s: grounded node %v missing in the conmech copy", c[1], k)
			}
		}
	}
}

func TestConmechLoadCaseFileIsNotAModel(t *testing.T) {
	_, err := Load(td("conmech", "tower_3D_loads.json"), LoadOptions{})
	if !errors.Is(err, ErrNotModel) || !strings.Contains(err.Error(), "tower_3D_loads.json") {
		t.Errorf("err %v", err)
	}
}

// cliFiles are the five samples with their layer counts and empty layers
// (shared/data/lpbf/SOURCES.md; Box has 102 layers without geometry).
var cliFiles = []struct {
	file          string
	layers, empty int
}{
	{"frustrum_ASCII.cli", 100, 0},
	{"Box_support_solid_ascii_with_params.cli", 1012, 102},
	{"s_Cylinder_ex.cli", 8, 0},
	{"Lanze_bottomdown_20mm_onlyblocksupport_p_s.cli", 82, 0},
	{"s_MiniCooper_ex.cli", 27, 0},
}

func cliPath(name string) string { return filepath.Join("commonlayer", "testdata", name) }

// TestLoadCLIEveryLayer rasterises every layer of every sample: at 0.05 mm
// (the LPBF spot) normally, at 0.2 mm with -short. Each graph must have one
// node per raster cell at the layer height, edges only between side
// neighbours at one pitch, and nodes on the global grid.
func TestLoadCLIEveryLayer(t *testing.T) {
	spacing := 0.05
	if testing.Short() {
		spacing = 0.2
	}
	for _, c := range cliFiles {
		t.Run(c.file, func(t *testing.T) {
			path := cliPath(c.file)
			n, err := LayerCount(path)
			if err != nil || n != c.layers {
				t.Fatalf("LayerCount %d %v, want %d", n, err, c.layers)
			}
			f, err := commonlayer.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			empty := 0
			for i := 0; i < n; i++ {
				g, err := Load(fmt.Sprintf("%s#%d", path, i), LoadOptions{SpacingMM: spacing})
				if errors.Is(err, ErrEmptyLayer) {
					if !f.Layers[i].Empty() {
						t.Fatalf("layer %d reported empty: %v", i, err)
					}
					empty++
					continue
				}
				if err != nil {
					t.Fatalf("layer %d: %v", i, err)
				}
				if g.Kind != Pixel || g.SpacingMM != spacing || g.Name != strings.TrimSuffix(c.file, ".cli") {
					t.Fatalf("layer %d: kind %v spacing %v name %q", i, g.Kind, g.SpacingMM, g.Name)
				}
				lo, hi := g.Bounds()
				if lo.Z != f.Layers[i].ZMM || hi.Z != f.Layers[i].ZMM {
					t.Fatalf("layer %d: z %v..%v, want %v", i, lo.Z, hi.Z, f.Layers[i].ZMM)
				}
				for e := range g.Edges {
					if math.Abs(g.LengthMM(e)-spacing) > 1e-9 {
						t.Fatalf("layer %d: edge %d has length %v", i, e, g.LengthMM(e))
					}
				}
				if p := g.Pos[0]; math.Abs(p.X/spacing-0.5-math.Round(p.X/spacing-0.5)) > 1e-6 {
					t.Fatalf("layer %d: node 0 at x=%v is off the global grid", i, p.X)
				}
				// node order: rows top-down, x ascending within a row
				for v := 1; v < g.NumNodes(); v++ {
					a, b := g.Pos[v-1], g.Pos[v]
					if b.Y > a.Y+1e-9 || (math.Abs(b.Y-a.Y) < 1e-9 && b.X <= a.X) {
						t.Fatalf("layer %d: node %d at %v after %v breaks row-major order", i, v, b, a)
					}
				}
			}
			if empty != c.empty {
				t.Errorf("%d empty layers, want %d", empty, c.empty)
			}
		})
	}
}

func TestLoadCLILayerSelection(t *testing.T) {
	path := cliPath("s_MiniCooper_ex.cli")
	a, err := Load(path+"#3", LoadOptions{SpacingMM: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(path, LoadOptions{SpacingMM: 0.1, Layer: 3})
	if err != nil {
		t.Fatal(err)
	}
	if a.NumNodes() != b.NumNodes() || a.NumEdges() != b.NumEdges() || a.Pos[0] != b.Pos[0] {
		t.Error("#3 and Layer: 3 differ")
	}
	if _, err := Load(path+"#27", LoadOptions{}); !errors.Is(err, ErrIndex) || !strings.Contains(err.Error(), "layer 27 does not exist") {
		t.Errorf("out of range: %v", err)
	}
	if n, _ := LayerCount(path + "#3"); n != 1 {
		t.Errorf("LayerCount of a selected layer = %d", n)
	}
	_, err = Load(cliPath("Box_support_solid_ascii_with_params.cli")+"#0", LoadOptions{})
	if !errors.Is(err, ErrEmptyLayer) || !errors.Is(err, ErrEmpty) {
		t.Errorf("empty layer: %v", err)
	}
	// node cap: the error names the layer and the size
	_, err = Load(path+"#3", LoadOptions{SpacingMM: 0.05, MaxNodes: 1000})
	if !errors.Is(err, ErrTooLarge) || !errors.Is(err, commonlayer.ErrTooLarge) || !strings.Contains(err.Error(), "layer 3") || !strings.Contains(err.Error(), "1000") {
		t.Errorf("cap: %v", err)
	}
}

func TestLoadCLICacheSeesChanges(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.cli")
	write := func(side int) {
		s := fmt.Sprintf("$$HEADERSTART\n$$ASCII\n$$UNITS/1\n$$HEADEREND\n$$GEOMETRYSTART\n$$LAYER/1\n$$POLYLINE/1,1,5,0,0,%d,0,%d,%d,0,%d,0,0\n$$GEOMETRYEND\n", side, side, side, side)
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(2)
	g, err := Load(path, LoadOptions{SpacingMM: 0.5})
	if err != nil || g.NumNodes() != 16 {
		t.Fatalf("%v %v", g, err)
	}
	write(30) // different size, so the cache key changes even within one mtime tick
	g, err = Load(path, LoadOptions{SpacingMM: 0.5})
	if err != nil || g.NumNodes() != 3600 {
		t.Fatalf("after rewrite: %d nodes, %v", g.NumNodes(), err)
	}
}

func TestFormatsRegistered(t *testing.T) {
	got := strings.Join(Formats(), ",")
	for _, f := range []string{"rl3dp-txt", "assembly-json", "conmech-json", "obj", "png-mask", "cli"} {
		if !strings.Contains(got, f) {
			t.Errorf("format %s not registered (%s)", f, got)
		}
	}
	names := Formats()
	sort.Strings(names)
	for i := 1; i < len(names); i++ {
		if names[i] == names[i-1] {
			t.Errorf("duplicate format %s", names[i])
		}
	}
}

func BenchmarkLoadDJMMBridge(b *testing.B) {
	path := td("assembly_instances", "DJMM_bridge.json")
	for b.Loop() {
		if _, err := Load(path, LoadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadLoungeOBJ(b *testing.B) {
	path := td("Lounge_wireframe.obj")
	for b.Loop() {
		if _, err := Load(path, LoadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestLayerSuffixOnSingleLayerFormats(t *testing.T) {
	path := td("Femur_wireframe.obj")
	if _, err := Load(path+"#0", LoadOptions{}); err != nil {
		t.Errorf("#0: %v", err)
	}
	if _, err := Load(path+"#2", LoadOptions{}); !errors.Is(err, ErrIndex) || !strings.Contains(err.Error(), "single layer") {
		t.Errorf("#2: %v", err)
	}
	if n, err := LayerCount(path); n != 1 || err != nil {
		t.Errorf("LayerCount = %d, %v", n, err)
	}
}

// TestAdjacencySorted covers both sort paths of Index (short lists and a
// hub of degree 40) and EdgeBetween on every edge.
func TestAdjacencySorted(t *testing.T) {
	pos := []r3.Vector{{}}
	var edges []Edge
	for i := 1; i <= 40; i++ {
		pos = append(pos, r3.Vector{X: float64(i)})
		edges = append(edges, Edge{A: (i * 17) % 40, B: 40})
	}
	edges[0] = Edge{A: 0, B: 1} // replaces the (17, 40) hub edge
	edges = append(edges, Edge{A: 3, B: 2}, Edge{A: 2, B: 1})
	g, err := New(pos, edges, nil)
	if err != nil {
		t.Fatal(err)
	}
	dj, err := Load(td("assembly_instances", "DJMM_bridge.json"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []*Graph{g, dj} {
		for v := 0; v < g.NumNodes(); v++ {
			nb := g.Neighbors(v)
			for i := 1; i < len(nb); i++ {
				if nb[i-1].To >= nb[i].To {
					t.Fatalf("node %d: neighbours not sorted: %v", v, nb)
				}
			}
		}
		for i, e := range g.Edges {
			if j, ok := g.EdgeBetween(e.B, e.A); !ok || j != i {
				t.Fatalf("EdgeBetween(%d,%d) = %d %v, want %d", e.B, e.A, j, ok, i)
			}
		}
	}
	if g.Degree(40) != 39 {
		t.Errorf("hub degree %d", g.Degree(40))
	}
}

// TestRL3DPByteOrderMark: Node/Edge files saved by Windows editors start
// with a UTF-8 byte-order mark; like the JSON, OBJ and CLI readers, the
// RL3DP reader ignores it instead of failing on "\ufeff0" as a coordinate.
func TestRL3DPByteOrderMark(t *testing.T) {
	dir := t.TempDir()
	node := filepath.Join(dir, "NodeBom_CCF.txt")
	os.WriteFile(node, []byte("\ufeff0 0 0\n10 0 0\n5 8 0\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "EdgeBom_CCF.txt"), []byte("\ufeff0 1\n1 2\n2 0\n0 1\n1 2\n2 0\n"), 0o644)
	g, err := Load(node, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if g.NumNodes() != 3 || g.NumEdges() != 3 || g.PassesOf(0) != 2 {
		t.Errorf("nodes %d, edges %d, passes %d", g.NumNodes(), g.NumEdges(), g.PassesOf(0))
	}
}
