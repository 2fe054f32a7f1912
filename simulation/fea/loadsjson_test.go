package fea

import (
	"math"
	"strings"
	"testing"

	"github.com/golang/geo/r3"
)

// TestParseLoads checks unit conversions, both layouts, tags and indices,
// local element loads and the gravity forms against hand-converted values.
func TestParseLoads(t *testing.T) {
	_, f := loadModel(t, "testdata/conmech/tower_3D.json")
	tags := make([]string, f.NumElems())
	tags[3], tags[5] = "brace", "brace"
	near := func(a, b r3.Vector) bool { return a.Sub(b).Norm() <= 1e-9*(1+b.Norm()) }
	t.Run("units", func(t *testing.T) {
		lcs, err := ParseLoads([]byte(`{"loadcases": {"0": {"ploads": [
			{"node_ind": 1, "force": [1, 2, 3], "force_unit": "kN", "moment": [4, 5, 6], "moment_unit": "kN*m"},
			{"node_ind": 2, "force": [1, 0, 0], "force_unit": "kip", "moment": [0, 1, 0], "moment_unit": "kip*in"},
			{"node_ind": 3, "force": [0, 0, 7], "force_unit": "N"},
			{"node_ind": 4, "moment": [0, 0, 2]}]}}}`), "t.json", f, tags)
		if err != nil {
			t.Fatal(err)
		}
		p := lcs[0].Points
		want := []PointLoad{
			{1, r3.Vector{X: 1e3, Y: 2e3, Z: 3e3}, r3.Vector{X: 4e3, Y: 5e3, Z: 6e3}},
			{2, r3.Vector{X: 4448.2216152605}, r3.Vector{Y: 4448.2216152605 * 0.0254}},
			{3, r3.Vector{Z: 7}, r3.Vector{}},
			{4, r3.Vector{}, r3.Vector{Z: 2e3}}, // default kNm
		}
		for i := range want {
			if p[i].Node != want[i].Node || !near(p[i].ForceN, want[i].ForceN) || !near(p[i].MomentNm, want[i].MomentNm) {
				t.Errorf("pload %d = %+v, want %+v", i, p[i], want[i])
			}
		}
	})
	t.Run("eloads", func(t *testing.T) {
		lcs, err := ParseLoads([]byte(`{"eloads": [
			{"q": [0, 0, -2], "elem_tags": ["brace"]},
			{"q": [0, 0, -500], "q_unit": "N/m", "elem_inds": [3, 7], "elem_ind": 9},
			{"q": [1, 0, 0], "q_unit": "kN/m", "elem_inds": [0], "is_local": true}],
			"gravity": [0, 0, -2]}`), "t.json", f, tags)
		if err != nil {
			t.Fatal(err)
		}
		lc := lcs[0]
		if lc.Gravity != (r3.Vector{Z: -2}) {
			t.Errorf("gravity %v", lc.Gravity)
		}
		got := map[int]r3.Vector{}
		for _, el := range lc.Elems {
			got[el.Elem] = got[el.Elem].Add(el.WNPerM)
		}
		x0, _, _ := f.LocalAxes(0)
		want := map[int]r3.Vector{3: {Z: -2500}, 5: {Z: -2000}, 7: {Z: -500}, 9: {Z: -500}, 0: x0.Mul(1e3)}
		if len(got) != len(want) {
			t.Fatalf("loaded elements %v, want %v", got, want)
		}
		for e, w := range want {
			if !near(got[e], w) {
				t.Errorf("element %d: %v, want %v", e, got[e], w)
			}
		}
	})
	t.Run("all elements", func(t *testing.T) {
		lcs, err := ParseLoads([]byte(`{"eloads": [{"q": [0, 0, -1], "elem_tags": []}]}`), "t.json", f, tags)
		if err != nil {
			t.Fatal(err)
		}
		if len(lcs[0].Elems) != f.NumElems() {
			t.Errorf("%d element loads, want all %d", len(lcs[0].Elems), f.NumElems())
		}
	})
	t.Run("conmech gravity object", func(t *testing.T) {
		lcs, err := ParseLoads([]byte(`{"loadcases": {"0": {"ploads": [], "eloads": [], "gravity": {"force": [0, 0, -1], "force_unit": "kN"}}}}`), "t.json", f, nil)
		if err != nil {
			t.Fatal(err)
		}
		if lcs[0].Gravity != (r3.Vector{Z: -1}) || len(lcs[0].Points)+len(lcs[0].Elems) != 0 {
			t.Errorf("%+v", lcs[0])
		}
	})
	bad := map[string]string{
		"empty":          ``,
		"array":          `[1, 2]`,
		"no node":        `{"ploads": [{"force": [0, 0, 1]}]}`,
		"negative node":  `{"ploads": [{"node_ind": -1}]}`,
		"fraction node":  `{"ploads": [{"node_ind": 1.5}]}`,
		"bad moment":     `{"ploads": [{"node_ind": 1, "moment_unit": "kNmm"}]}`,
		"tags no model":  `{"eloads": [{"q": [0, 0, 1], "elem_tags": ["x"]}]}`,
		"no q":           `{"eloads": [{"elem_inds": [1]}]}`,
		"is_local str":   `{"eloads": [{"q": [0, 0, 1], "is_local": "yes"}]}`,
		"gravity string": `{"gravity": "down"}`,
		"case not obj":   `{"loadcases": [1]}`,
		"no cases":       `{"loadcases": {}}`,
		"extra key":      `{"loadcases": {"0": {}}, "ploads2": 1}`,
		"trailing":       `{"ploads": []} {}`,
		"inf":            `{"gravity": [0, 0, -1e400]}`,
	}
	for name, src := range bad {
		tg := tags
		if name == "tags no model" {
			tg = nil
		}
		_, err := ParseLoads([]byte(src), "bad.json", f, tg)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "bad.json") || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q should be one line starting with the file name", name, msg)
		}
	}
}

// TestSelfWeightLumping: the consistent load of a uniformly loaded member
// has the statically equivalent resultant (wL) and, about end A, the
// moment of the resultant at mid-span — for an inclined member, checked
// through the reactions of a clamped cantilever (independent statics).
func TestSelfWeightLumping(t *testing.T) {
	sec := RoundSection(0.002)
	m := Material{EPa: 3.5e9, GPa: 2.4e9, UnitWeightNPerM3: 12258.2}
	a, b := r3.Vector{X: 0.01, Y: 0.02, Z: 0}, r3.Vector{X: 0.05, Y: -0.01, Z: 0.03}
	f, err := NewFrame([]r3.Vector{a, b}, []Fixity{FullyFixed, {}}, []Element{{A: 0, B: 1, Section: sec, Material: m}})
	if err != nil {
		t.Fatal(err)
	}
	res := solveAll(t, f, SelfWeight())
	W := m.UnitWeightNPerM3 * sec.AreaM2 * b.Sub(a).Norm()
	R := res.Reactions[0]
	checkRel(t, "Rz", R.F[2], W, 1e-12)
	// moment about A of the weight at mid-span: r × F, reaction = −that
	mom := b.Sub(a).Mul(0.5).Cross(r3.Vector{Z: -W})
	for c, want := range [3]float64{-mom.X, -mom.Y, -mom.Z} {
		if math.Abs(R.F[3+c]-want) > 1e-12*W {
			t.Errorf("reaction moment %d = %v, want %v", c, R.F[3+c], want)
		}
	}
}
