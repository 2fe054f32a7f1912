package fea

import (
	"fmt"

	"github.com/golang/geo/r3"
)

// PointLoad is a concentrated force (N) and moment (N·m) at a node, in
// global axes.
type PointLoad struct {
	Node     int
	ForceN   r3.Vector
	MomentNm r3.Vector
}

// ElementLoad is a uniformly distributed load over the whole length of an
// element, in N/m, global axes.
type ElementLoad struct {
	Elem   int
	WNPerM r3.Vector
}

// LoadCase is one set of simultaneous loads.
type LoadCase struct {
	Name string
	// Gravity scales self-weight: each element carries γ·A·Gravity (N/m).
	// (0, 0, −1) is self-weight acting along −Z; zero means no self-weight.
	Gravity r3.Vector
	Points  []PointLoad
	Elems   []ElementLoad
}

// SelfWeight is the load case "self-weight along −Z" (the planner's d_max
// load, spec §8.1).
func SelfWeight() LoadCase { return LoadCase{Name: "self-weight", Gravity: r3.Vector{Z: -1}} }

// Validate checks indices and finiteness against frame f.
func (lc *LoadCase) Validate(f *Frame) error {
	if !finiteVec(lc.Gravity) {
		return fmt.Errorf("load case %q: non-finite gravity factor %v", lc.Name, lc.Gravity)
	}
	for i, p := range lc.Points {
		if p.Node < 0 || p.Node >= f.NumNodes() {
			return fmt.Errorf("load case %q: point load %d: node %d out of range [0,%d)", lc.Name, i, p.Node, f.NumNodes())
		}
		if !finiteVec(p.ForceN) || !finiteVec(p.MomentNm) {
			return fmt.Errorf("load case %q: point load %d at node %d: non-finite value", lc.Name, i, p.Node)
		}
	}
	for i, e := range lc.Elems {
		if e.Elem < 0 || e.Elem >= f.NumElems() {
			return fmt.Errorf("load case %q: element load %d: element %d out of range [0,%d)", lc.Name, i, e.Elem, f.NumElems())
		}
		if !finiteVec(e.WNPerM) {
			return fmt.Errorf("load case %q: element load %d on element %d: non-finite value", lc.Name, i, e.Elem)
		}
	}
	return nil
}

// TotalForceN returns the resultant force (N) of the load case on the
// given elements (nil = all) and its moment about the origin (N·m): the
// quantity the support reactions must balance.
func (lc *LoadCase) TotalForceN(f *Frame, elems []int) (force, momentAboutOrigin r3.Vector) {
	active := make([]bool, f.NumElems())
	touched := make([]bool, f.NumNodes())
	if elems == nil {
		for i := range active {
			active[i] = true
		}
	} else {
		for _, e := range elems {
			active[e] = true
		}
	}
	for e, on := range active {
		if !on {
			continue
		}
		ed := &f.el[e]
		touched[ed.a], touched[ed.b] = true, true
		w := lc.Gravity.Mul(ed.wPerG)
		F := w.Mul(ed.lengthM)
		mid := f.PosM[ed.a].Add(f.PosM[ed.b]).Mul(0.5)
		force = force.Add(F)
		momentAboutOrigin = momentAboutOrigin.Add(mid.Cross(F))
	}
	for _, el := range lc.Elems {
		if !active[el.Elem] {
			continue
		}
		ed := &f.el[el.Elem]
		F := el.WNPerM.Mul(ed.lengthM)
		mid := f.PosM[ed.a].Add(f.PosM[ed.b]).Mul(0.5)
		force = force.Add(F)
		momentAboutOrigin = momentAboutOrigin.Add(mid.Cross(F))
	}
	for _, p := range lc.Points {
		if !touched[p.Node] {
			continue
		}
		force = force.Add(p.ForceN)
		momentAboutOrigin = momentAboutOrigin.Add(f.PosM[p.Node].Cross(p.ForceN)).Add(p.MomentNm)
	}
	return force, momentAboutOrigin
}

func finiteVec(v r3.Vector) bool { return finite(v.X) && finite(v.Y) && finite(v.Z) }
