package kin

import (
	"math"
	"strings"
)

// SingularityKind is a bit set of the UR arm's three singularities.
type SingularityKind uint8

// SingularityNone: q is farther than every threshold from a singularity.
const SingularityNone SingularityKind = 0

const (
	// SingularityWrist: joint 5 near 0 or π, so the axes of joints 4 and 6
	// are parallel (sin q5 ≈ 0).
	SingularityWrist SingularityKind = 1 << iota
	// SingularityShoulder: the wrist point lies on (near) the plane through
	// the base axis perpendicular to the arm plane, i.e. its distance from
	// the base axis measured in the arm plane, √(|p5xy|² − d4²), vanishes;
	// for d4 = 0 this is "wrist centre on the base axis".
	SingularityShoulder
	// SingularityElbow: the upper arm and forearm are aligned (stretched
	// or folded, sin q3 ≈ 0).
	SingularityElbow
)

func (k SingularityKind) String() string {
	if k == SingularityNone {
		return "none"
	}
	var parts []string
	for _, p := range []struct {
		k SingularityKind
		n string
	}{{SingularityWrist, "wrist"}, {SingularityShoulder, "shoulder"}, {SingularityElbow, "elbow"}} {
		if k&p.k != 0 {
			parts = append(parts, p.n)
		}
	}
	return strings.Join(parts, "+")
}

// SingularityThresholds says how close to a singularity counts as singular.
type SingularityThresholds struct {
	WristSin  float64 // |sin q5| below this → wrist singular
	ElbowSin  float64 // |sin q3| below this → elbow singular
	ShoulderM float64 // in-plane wrist distance from the base axis (m) below this → shoulder singular
}

// DefaultSingularityThresholds: sin 5° (≈ 0.0872) for wrist and elbow and
// 0.05 m for the shoulder. At these margins the joint speed needed for a
// 0.25 m/s TCP move stays within a few rad/s (see the Jacobian test), which
// a UR5e can follow below its π rad/s joint limit only at slow print speeds;
// tighten them for fast moves.
func DefaultSingularityThresholds() SingularityThresholds {
	s := math.Sin(5 * math.Pi / 180)
	return SingularityThresholds{WristSin: s, ElbowSin: s, ShoulderM: 0.05}
}

// WithSingularityThresholds returns a copy with the given thresholds; zero
// fields keep the current value.
func (m *Model) WithSingularityThresholds(t SingularityThresholds) *Model {
	c := *m
	if t.WristSin > 0 {
		c.sing.WristSin = t.WristSin
	}
	if t.ElbowSin > 0 {
		c.sing.ElbowSin = t.ElbowSin
	}
	if t.ShoulderM > 0 {
		c.sing.ShoulderM = t.ShoulderM
	}
	return &c
}

// SingularityThresholds returns the thresholds in use.
func (m *Model) SingularityThresholds() SingularityThresholds { return m.sing }

// SingularityMeasures returns the raw distances from the three
// singularities at q: |sin q5|, |sin q3| (dimensionless) and the wrist
// point's in-plane distance from the base axis (m). The Jacobian
// determinant of a UR arm is a constant times their product (checked in the
// tests: |det J| = |a2·a3|·|sin q5|·|sin q3|·shoulder distance), so each
// one vanishing is exactly one way to lose rank.
func (m *Model) SingularityMeasures(q [6]float64) (wristSin, elbowSin, shoulderM float64) {
	// In frame 1 the wrist point (origin of frame 5) has in-plane
	// coordinate x1 = a2·c2 + a3·c23 + d5·s234.
	a2, a3, d5 := m.dh.A[1], m.dh.A[2], m.dh.D[4]
	x1 := a2*math.Cos(q[1]) + a3*math.Cos(q[1]+q[2]) + d5*math.Sin(q[1]+q[2]+q[3])
	return math.Abs(math.Sin(q[4])), math.Abs(math.Sin(q[2])), math.Abs(x1)
}

// Singularity reports which singularities q is near (a bit set, thresholds
// from SingularityThresholds) and measure = the smallest ratio
// raw measure / threshold over the three: measure < 1 exactly when kind is
// not SingularityNone; 0 is exactly singular.
func (m *Model) Singularity(q [6]float64) (kind SingularityKind, measure float64) {
	w, e, s := m.SingularityMeasures(q)
	rw, re, rs := w/m.sing.WristSin, e/m.sing.ElbowSin, s/m.sing.ShoulderM
	if rw < 1 {
		kind |= SingularityWrist
	}
	if re < 1 {
		kind |= SingularityElbow
	}
	if rs < 1 {
		kind |= SingularityShoulder
	}
	return kind, math.Min(rw, math.Min(re, rs))
}
