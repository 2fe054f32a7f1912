package collision

import (
	"fmt"
	"math"

	"github.com/golang/geo/r3"

	"fabcell/config"
	"fabcell/simulation/geom"
)

// Head is the print-head collision model of the wire-frame process
// (spec lsg-dqn.md §8.1; RL3DP release constants: cone height 41 mm, base
// radius 32 mm, on a cylinder of height 150 mm, radius 32 mm).
//
// Frame: the head is axisymmetric about the tool axis a, a unit vector from
// the nozzle tip up into the head. Measured along a from the tip:
//
//	[0, NozzleLengthMM)                      nozzle: not modelled
//	[NozzleLengthMM, ConeHeightMM]           cone, radius growing linearly
//	                                         from 0 at the tip to ConeRadiusMM
//	[ConeHeightMM, ConeHeightMM+CylinderHeightMM]  cylinder, CylinderRadiusMM
//
// The collision shape is the convex hull of the cone frustum and the
// cylinder (exactly their union when the radii match), i.e. the hull of
// three discs.
//
// Why the nozzle is cut off: while printing, the tip sits on the node it
// extrudes to and every strut already meeting there touches it, so a
// head that reached down to the tip would collide on every move. Cutting
// the cone at NozzleLengthMM lets printed struts touch the nozzle within
// that length of the tip and nothing else. A printed strut can only touch
// the nozzle zone if it passes within NozzleLengthMM (axially) and
// NozzleLengthMM·ConeRadiusMM/ConeHeightMM (radially) of the tip path;
// any strut that reaches the cone above that is a collision. The nozzle
// length must exceed the strut radius plus clearance, otherwise the ball
// at the end of every strut meeting the node reaches the cut disc
// (config validation enforces this).
//
// A consequence for the process: re-traversing an already printed strut is
// not reliably a geometric collision here (a shallow strut stays inside
// the nozzle zone along the whole move; a steep one reaches the cone);
// coverage (Eq. 7's "moving along a printed strut") is the process's job.
// Likewise a printed strut that crosses the tip path within the nozzle
// zone is ignored; in a valid wire frame struts meet only at nodes.
type Head struct {
	NozzleLengthMM   float64
	ConeHeightMM     float64
	ConeRadiusMM     float64
	CylinderHeightMM float64
	CylinderRadiusMM float64
}

// HeadFromConfig returns the head of a wire-frame process configuration.
func HeadFromConfig(w config.WireframeProcess) (Head, error) {
	h := Head{
		NozzleLengthMM:   w.NozzleLengthMM,
		ConeHeightMM:     w.ConeHeightMM,
		ConeRadiusMM:     w.ConeRadiusMM,
		CylinderHeightMM: w.CylinderHeightMM,
		CylinderRadiusMM: w.CylinderRadiusMM,
	}
	return h, h.Validate()
}

// Validate checks the dimensions: finite, cone height and radius > 0,
// 0 < nozzle length < cone height, cylinder height and radius ≥ 0.
func (h Head) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"nozzle length", h.NozzleLengthMM}, {"cone height", h.ConeHeightMM}, {"cone radius", h.ConeRadiusMM},
		{"cylinder height", h.CylinderHeightMM}, {"cylinder radius", h.CylinderRadiusMM}} {
		if !finite(f.v) || f.v < 0 {
			return fmt.Errorf("collision: head %s %v mm must be finite and ≥ 0", f.name, f.v)
		}
	}
	if !(h.ConeHeightMM > 0 && h.ConeRadiusMM > 0) {
		return fmt.Errorf("collision: head cone %v × %v mm must have positive height and radius", h.ConeHeightMM, h.ConeRadiusMM)
	}
	if !(h.NozzleLengthMM > 0 && h.NozzleLengthMM < h.ConeHeightMM) {
		return fmt.Errorf("collision: head nozzle length %v mm must be in (0, cone height %v mm)", h.NozzleLengthMM, h.ConeHeightMM)
	}
	return nil
}

// discs returns the three discs (axial offset from the tip, radius) whose
// hull is the head; n = 2 when there is no cylinder.
func (h Head) discs() (off [3]float64, rad [3]float64, n int) {
	off[0], rad[0] = h.NozzleLengthMM, h.ConeRadiusMM*h.NozzleLengthMM/h.ConeHeightMM
	off[1], rad[1] = h.ConeHeightMM, h.ConeRadiusMM
	n = 2
	if h.CylinderHeightMM > 0 {
		// the cylinder's lower disc shares the cone base plane; the larger
		// of the two coplanar discs contains the other
		rad[1] = math.Max(h.ConeRadiusMM, h.CylinderRadiusMM)
		off[2], rad[2] = h.ConeHeightMM+h.CylinderHeightMM, h.CylinderRadiusMM
		n = 3
	}
	return off, rad, n
}

// TopMM is the axial length of the head from the tip.
func (h Head) TopMM() float64 { return h.ConeHeightMM + h.CylinderHeightMM }

// MaxRadiusMM is the largest radius of the head.
func (h Head) MaxRadiusMM() float64 { return math.Max(h.ConeRadiusMM, h.CylinderRadiusMM) }

// ReachMM bounds the distance from the tip to any head point.
func (h Head) ReachMM() float64 { return math.Hypot(h.TopMM(), h.MaxRadiusMM()) }

// Shape returns the head with its tip at tip (bed frame, mm) and tool axis
// axis (normalised here; must be non-zero).
func (h Head) Shape(tip, axis r3.Vector) Shape {
	var s headShape
	s.set(h, tip, tip, axis)
	return &s
}

// Swept returns the volume swept by the head when its tip moves in a
// straight line from a to b at constant tool axis: head(a) ⊕ segment(0,
// b − a) (spec §8.1: H(o) is convex).
func (h Head) Swept(a, b, axis r3.Vector) Shape {
	var s headShape
	s.set(h, a, b, axis)
	return &s
}

// headShape is the (swept) head: hull of up to three discs, plus the sweep
// vector. A concrete type so the hot loop neither allocates nor chains
// interface calls.
type headShape struct {
	c     [3]r3.Vector // disc centres at the start of the move
	r     [3]float64
	n     int
	axis  r3.Vector // unit tool axis
	sweep r3.Vector // b − a
	// bounding capsule of the swept head: segment (p0, p1), radius rad
	p0, p1 r3.Vector
	rad    float64
}

func (s *headShape) set(h Head, a, b, axis r3.Vector) {
	axis = axis.Normalize()
	off, rad, n := h.discs()
	s.n = n
	s.axis = axis
	s.sweep = b.Sub(a)
	for k := 0; k < n; k++ {
		s.c[k] = a.Add(axis.Mul(off[k]))
		s.r[k] = rad[k]
	}
	m := a.Add(b).Mul(0.5)
	s.p0 = m.Add(axis.Mul(off[0]))
	s.p1 = m.Add(axis.Mul(off[n-1]))
	rmax := 0.0
	for k := 0; k < n; k++ {
		rmax = math.Max(rmax, rad[k])
	}
	s.rad = rmax + s.sweep.Norm()/2
}

// Support implements Shape.
func (s *headShape) Support(d r3.Vector) r3.Vector {
	// rim direction: d projected onto the disc plane
	u, _ := rimDir(d, s.axis) // zero when d ∥ axis: disc centres
	best := s.c[0].Add(u.Mul(s.r[0]))
	bd := d.Dot(best)
	for k := 1; k < s.n; k++ {
		q := s.c[k].Add(u.Mul(s.r[k]))
		if v := d.Dot(q); v > bd {
			best, bd = q, v
		}
	}
	if d.Dot(s.sweep) > 0 {
		best = best.Add(s.sweep)
	}
	return best
}

// Bounds implements Bounder.
func (s *headShape) Bounds() geom.AABB {
	b := geom.EmptyAABB()
	for k := 0; k < s.n; k++ {
		e := discExtent(s.axis, s.r[k])
		b = b.Grow(s.c[k].Sub(e)).Grow(s.c[k].Add(e))
	}
	return geom.AABB{Min: b.Min.Add(minVec(s.sweep, r3.Vector{})), Max: b.Max.Add(maxVec(s.sweep, r3.Vector{}))}
}

// lowestZ returns the smallest z of the swept head: a disc with unit
// normal a and radius r reaches r·sqrt(1 − a_z²) below its centre.
func (s *headShape) lowestZ() float64 {
	f := math.Sqrt(math.Max(0, 1-s.axis.Z*s.axis.Z))
	z := math.Inf(1)
	for k := 0; k < s.n; k++ {
		z = math.Min(z, s.c[k].Z-s.r[k]*f)
	}
	return z + math.Min(0, s.sweep.Z)
}

func minVec(a, b r3.Vector) r3.Vector {
	return r3.Vector{X: math.Min(a.X, b.X), Y: math.Min(a.Y, b.Y), Z: math.Min(a.Z, b.Z)}
}

func maxVec(a, b r3.Vector) r3.Vector {
	return r3.Vector{X: math.Max(a.X, b.X), Y: math.Max(a.Y, b.Y), Z: math.Max(a.Z, b.Z)}
}

var (
	_ Shape   = (*headShape)(nil)
	_ Bounder = (*headShape)(nil)
)

// ---------------------------------------------------------------------------
// Candidate tool axes on the Gauss sphere (Eq. 6).

// FibonacciAxes returns n unit tool axes: straight up (+z) first, then n − 1
// axes spread evenly by area over the spherical cap of half-angle
// maxTiltRad around +z (spherical Fibonacci spiral: equal-area rings in
// cos θ, golden-angle azimuth steps). n ≥ 1, maxTiltRad in [0, π/2].
// With maxTiltRad = 0 only +z is returned.
func FibonacciAxes(n int, maxTiltRad float64) ([]r3.Vector, error) {
	if n < 1 {
		return nil, fmt.Errorf("collision: need at least one orientation sample, got %d", n)
	}
	if !(maxTiltRad >= 0 && maxTiltRad <= math.Pi/2) {
		return nil, fmt.Errorf("collision: max tilt %v rad outside [0, π/2]", maxTiltRad)
	}
	axes := []r3.Vector{ez}
	if maxTiltRad == 0 || n == 1 {
		return axes, nil
	}
	golden := math.Pi * (3 - math.Sqrt(5))
	m := n - 1
	c0 := math.Cos(maxTiltRad)
	for i := 0; i < m; i++ {
		cosT := 1 - (1-c0)*(float64(i)+0.5)/float64(m)
		sinT := math.Sqrt(math.Max(0, 1-cosT*cosT))
		sp, cp := math.Sincos(float64(i) * golden)
		axes = append(axes, r3.Vector{X: sinT * cp, Y: sinT * sp, Z: cosT})
	}
	return axes, nil
}

// ReleaseAxes returns the 37 tool axes of the RL3DP release (spec §8.1):
// straight up plus 36 axes at tilts 29°, 42° and 55° from vertical (the
// release's downward rays at elevations −61°, −48°, −35°, negated) with
// azimuths every 30°.
func ReleaseAxes() []r3.Vector {
	axes := []r3.Vector{ez}
	for _, elevDeg := range []float64{61, 48, 35} {
		e := elevDeg * math.Pi / 180
		for k := 0; k < 12; k++ {
			az := float64(k) * math.Pi / 6
			axes = append(axes, r3.Vector{X: math.Cos(e) * math.Cos(az), Y: math.Cos(e) * math.Sin(az), Z: math.Sin(e)})
		}
	}
	return axes
}
