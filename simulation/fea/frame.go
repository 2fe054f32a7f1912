package fea

import (
	"fmt"
	"math"
	"sync"

	"github.com/golang/geo/r3"
)

// DOFs per node: ux, uy, uz (m), rx, ry, rz (rad), global axes.
const DOFs = 6

// DOF names, indexed like a node's 6 DOFs.
var dofNames = [DOFs]string{"ux", "uy", "uz", "rx", "ry", "rz"}

// DOFName returns "ux", "uy", "uz", "rx", "ry" or "rz".
func DOFName(d int) string {
	if d >= 0 && d < DOFs {
		return dofNames[d]
	}
	return fmt.Sprintf("dof%d", d)
}

// GravityM is standard gravity (m/s²) used to turn a mass density into a
// unit weight (ISO 80000-3).
const GravityM = 9.80665

// Fixity marks the restrained DOFs of a node (ux, uy, uz, rx, ry, rz).
type Fixity [DOFs]bool

// FullyFixed restrains all six DOFs (a grounded node).
var FullyFixed = Fixity{true, true, true, true, true, true}

// Any reports whether at least one DOF is restrained.
func (f Fixity) Any() bool { return f != Fixity{} }

// Section is a member cross-section in SI units.
type Section struct {
	AreaM2 float64 // A
	IyM4   float64 // second moment about local y
	IzM4   float64 // second moment about local z
	JM4    float64 // torsion constant
}

// RoundSection returns the section of a solid round strut of diameter dM
// metres: A = πr², Iy = Iz = πr⁴/4, J = πr⁴/2.
func RoundSection(dM float64) Section {
	r := dM / 2
	return Section{AreaM2: math.Pi * r * r, IyM4: math.Pi * r * r * r * r / 4, IzM4: math.Pi * r * r * r * r / 4, JM4: math.Pi * r * r * r * r / 2}
}

// Material is an isotropic linear-elastic material in SI units.
type Material struct {
	Name string
	EPa  float64 // Young's modulus
	GPa  float64 // shear modulus
	// UnitWeightNPerM3 is the weight per unit volume γ = ρ·g (N/m³); self
	// weight per metre of an element is γ·A.
	UnitWeightNPerM3 float64
}

// Element is a straight prismatic member between nodes A and B.
type Element struct {
	A, B     int
	Section  Section
	Material Material
	// Pinned makes the element a truss member (axial stiffness only, pin
	// ends): conmech "bending_stiff": false.
	Pinned bool
	// OrientXZ is any vector in the local x–z plane that is not parallel
	// to the member (OpenSees vecxz); zero means the default (global +Z,
	// or global +X for vertical members). See the package comment.
	OrientXZ r3.Vector
}

// Frame is an immutable structural model: nodes in metres, supports and
// elements. Build it with NewFrame; it precomputes every element's global
// stiffness matrix, so it is safe for concurrent read-only use by many
// Sessions.
type Frame struct {
	// PosM holds node positions in metres.
	PosM []r3.Vector
	// Supports holds the restrained DOFs of each node (len = len(PosM)).
	Supports []Fixity
	// Elems holds the elements.
	Elems []Element

	el []elemData
	// node → incident elements (CSR): adjElem[adjStart[v]:adjStart[v+1]].
	adjStart []int32
	adjElem  []int32
	adjOther []int32

	floatOnce sync.Once
	floatErrs []FloatingError // per element: "this strut alone floats"

	orderMu    sync.Mutex
	ranks      map[Ordering][]int32 // node → elimination rank, per ordering
	autoChoice Ordering
}

// elemData is what the solvers need per element, precomputed.
type elemData struct {
	a, b    int32
	lengthM float64
	ex      r3.Vector  // unit local x (A→B), global axes
	rot     [9]float64 // rows = local x, y, z in global axes (Γ)
	k       [144]float64
	wPerG   float64 // weight per length per unit gravity factor, γ·A (N/m)
	pinned  bool
	ea, gj  float64 // for end forces
	eiy     float64
	eiz     float64
}

// NewFrame validates the model and precomputes element matrices.
// supports may be nil (no supports) or have one entry per node.
func NewFrame(posM []r3.Vector, supports []Fixity, elems []Element) (*Frame, error) {
	if len(posM) == 0 {
		return nil, fmt.Errorf("fea: frame has no nodes")
	}
	if len(posM) > math.MaxInt32/DOFs {
		return nil, fmt.Errorf("fea: %d nodes exceed the solver limit", len(posM))
	}
	if supports == nil {
		supports = make([]Fixity, len(posM))
	}
	if len(supports) != len(posM) {
		return nil, fmt.Errorf("fea: %d supports for %d nodes", len(supports), len(posM))
	}
	for i, p := range posM {
		if !finite(p.X) || !finite(p.Y) || !finite(p.Z) {
			return nil, fmt.Errorf("fea: node %d: non-finite position (%v, %v, %v)", i, p.X, p.Y, p.Z)
		}
	}
	f := &Frame{PosM: posM, Supports: supports, Elems: elems, el: make([]elemData, len(elems))}
	n := len(posM)
	for i := range elems {
		e := &elems[i]
		if e.A < 0 || e.A >= n || e.B < 0 || e.B >= n {
			return nil, fmt.Errorf("fea: element %d (%d,%d): node index out of range [0,%d)", i, e.A, e.B, n)
		}
		if e.A == e.B {
			return nil, fmt.Errorf("fea: element %d: both ends on node %d", i, e.A)
		}
		if err := checkProps(e); err != nil {
			return nil, fmt.Errorf("fea: element %d (%d,%d): %w", i, e.A, e.B, err)
		}
		d := posM[e.B].Sub(posM[e.A])
		L := d.Norm()
		// Relative to the model size, a member this short is a data error
		// (coincident nodes), not a stiff spring.
		if !(L > 1e-9) {
			return nil, fmt.Errorf("fea: element %d (%d,%d): zero length (nodes coincide)", i, e.A, e.B)
		}
		ed := &f.el[i]
		if err := ed.init(e, d, L); err != nil {
			return nil, fmt.Errorf("fea: element %d (%d,%d): %w", i, e.A, e.B, err)
		}
	}
	// adjacency
	start := make([]int32, n+1)
	for _, e := range elems {
		start[e.A+1]++
		start[e.B+1]++
	}
	for i := 1; i <= n; i++ {
		start[i] += start[i-1]
	}
	f.adjStart = start
	f.adjElem = make([]int32, 2*len(elems))
	f.adjOther = make([]int32, 2*len(elems))
	fill := make([]int32, n)
	for i, e := range elems {
		p := start[e.A] + fill[e.A]
		f.adjElem[p], f.adjOther[p] = int32(i), int32(e.B)
		fill[e.A]++
		p = start[e.B] + fill[e.B]
		f.adjElem[p], f.adjOther[p] = int32(i), int32(e.A)
		fill[e.B]++
	}
	return f, nil
}

func checkProps(e *Element) error {
	s, m := e.Section, e.Material
	pos := func(name string, v float64) error {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("%s must be positive and finite, got %v", name, v)
		}
		return nil
	}
	if err := pos("area", s.AreaM2); err != nil {
		return err
	}
	if err := pos("E", m.EPa); err != nil {
		return err
	}
	if !e.Pinned {
		for _, c := range []struct {
			n string
			v float64
		}{{"Iy", s.IyM4}, {"Iz", s.IzM4}, {"J", s.JM4}, {"G", m.GPa}} {
			if err := pos(c.n, c.v); err != nil {
				return err
			}
		}
	}
	if !(m.UnitWeightNPerM3 >= 0) || math.IsInf(m.UnitWeightNPerM3, 0) {
		return fmt.Errorf("unit weight must be >= 0 and finite, got %v", m.UnitWeightNPerM3)
	}
	if !finite(e.OrientXZ.X) || !finite(e.OrientXZ.Y) || !finite(e.OrientXZ.Z) {
		return fmt.Errorf("non-finite orientation vector")
	}
	return nil
}

// NumNodes returns the number of nodes.
func (f *Frame) NumNodes() int { return len(f.PosM) }

// NumElems returns the number of elements.
func (f *Frame) NumElems() int { return len(f.Elems) }

// LengthM returns the length of element e in metres.
func (f *Frame) LengthM(e int) float64 { return f.el[e].lengthM }

// LocalAxes returns the unit local x, y, z axes of element e in global
// coordinates (see the package comment for the convention).
func (f *Frame) LocalAxes(e int) (x, y, z r3.Vector) {
	r := &f.el[e].rot
	return r3.Vector{X: r[0], Y: r[1], Z: r[2]}, r3.Vector{X: r[3], Y: r[4], Z: r[5]}, r3.Vector{X: r[6], Y: r[7], Z: r[8]}
}

// GlobalStiffness returns element e's 12×12 stiffness matrix in global
// axes (row-major; DOFs: the 6 of end A, then the 6 of end B).
func (f *Frame) GlobalStiffness(e int) [144]float64 { return f.el[e].k }

// WeightN returns the self-weight of element e (N), γ·A·L.
func (f *Frame) WeightN(e int) float64 { return f.el[e].wPerG * f.el[e].lengthM }

// Incident calls fn for each element at node v with the element's other
// end, in element order.
func (f *Frame) Incident(v int, fn func(elem, other int)) {
	for p := f.adjStart[v]; p < f.adjStart[v+1]; p++ {
		fn(int(f.adjElem[p]), int(f.adjOther[p]))
	}
}

// Degree returns the number of elements at node v.
func (f *Frame) Degree(v int) int { return int(f.adjStart[v+1] - f.adjStart[v]) }

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// floatingStrut returns the (shared, immutable) error for element e
// printed without any connection to the structure or a support. Built once
// per frame so the planner's hot path does not allocate errors.
func (f *Frame) floatingStrut(e int) error {
	f.floatOnce.Do(func() {
		f.floatErrs = make([]FloatingError, len(f.el))
		nodes := make([]int, 2*len(f.el))
		for i := range f.el {
			a, b := int(f.el[i].a), int(f.el[i].b)
			if a > b {
				a, b = b, a
			}
			nodes[2*i], nodes[2*i+1] = a, b
			f.floatErrs[i].Nodes = nodes[2*i : 2*i+2 : 2*i+2]
		}
	})
	return &f.floatErrs[e]
}
