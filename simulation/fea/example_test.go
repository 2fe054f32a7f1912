package fea_test

import (
	"context"
	"fmt"

	"fabcell/simulation/fea"

	"github.com/golang/geo/r3"
)

// A PLA cantilever strut of 20 mm under its own weight: the one-shot
// solve.
func ExampleFrame_Solve() {
	pos := []r3.Vector{{}, {X: 0.02}} // metres
	strut := fea.Element{A: 0, B: 1, Section: fea.RoundSection(0.002),
		Material: fea.Material{EPa: 3.5e9, GPa: 2.4e9, UnitWeightNPerM3: 1250 * fea.GravityM}}
	f, err := fea.NewFrame(pos, []fea.Fixity{fea.FullyFixed, {}}, []fea.Element{strut})
	if err != nil {
		panic(err)
	}
	res, err := f.Solve(context.Background(), fea.SelfWeight(), fea.Options{})
	if err != nil {
		panic(err)
	}
	// w L⁴ / (8 E I) = 0.03851 N/m · (0.02 m)⁴ / (8 · 2.749e-3 N·m²) = 0.280 µm
	fmt.Printf("tip sag %.3g µm at node %d\n", res.MaxTranslationM*1e6, res.MaxNode)
	// Output: tip sag 0.28 µm at node 1
}

// The planner's pattern: score candidates without changing the printed
// set, print the best, undo when an episode ends.
func ExampleSession() {
	// a 10 mm square frame on two grounded feet
	P := func(x, z float64) r3.Vector { return r3.Vector{X: x / 1000, Z: z / 1000} }
	pos := []r3.Vector{P(0, 0), P(10, 0), P(0, 10), P(10, 10)}
	mat := fea.Material{EPa: 3.5e9, GPa: 2.4e9, UnitWeightNPerM3: 1250 * fea.GravityM}
	el := func(a, b int) fea.Element {
		return fea.Element{A: a, B: b, Section: fea.RoundSection(0.002), Material: mat}
	}
	f, _ := fea.NewFrame(pos, []fea.Fixity{fea.FullyFixed, fea.FullyFixed, {}, {}},
		[]fea.Element{el(0, 2), el(1, 3), el(2, 3)})
	s, _ := f.NewSession(fea.SelfWeight(), fea.SessionOptions{})
	s.Add(0) // left post
	for _, e := range []int{1, 2} {
		d, err := s.WithCandidate(e)
		fmt.Printf("candidate %d: d_max %.3g µm, err %v\n", e, d*1e6, err)
	}
	s.Add(2) // the beam, hanging from the left post
	d, _, _ := s.MaxDisplacement()
	fmt.Printf("printed: d_max %.3g µm\n", d*1e6)
	s.Remove(2) // undo
	// By hand: the right post alone shortens by w h²/(2EA) = 0.000175 µm;
	// the beam hanging from the left post drops θL + wL⁴/(8EI) plus the
	// post's shortening (88.1 nm) and sways M h²/(2EI) (35.0 nm), with
	// M = wL·L/2 and θ = M h/(EI): √(88.1² + 35.0²) nm = 0.0948 µm.
	// Output:
	// candidate 1: d_max 0.000175 µm, err <nil>
	// candidate 2: d_max 0.0948 µm, err <nil>
	// printed: d_max 0.0948 µm
}
