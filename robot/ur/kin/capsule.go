package kin

import (
	"fmt"
	"math"

	"github.com/golang/geo/r3"

	"fabcell/simulation/geom"
)

// Capsule is a segment AB swept by a sphere of radius RadiusM (metres, base
// frame). Link is the index of the moving body: 0 base (fixed), 1 shoulder,
// 2 upper arm, 3 forearm, 4 wrist 1, 5 wrist 2, 6 wrist 3 (flange); the
// body of link i moves with joints 1…i.
type Capsule struct {
	A, B    r3.Vector
	RadiusM float64
	Link    int
}

// Distance returns the distance between the surfaces of two capsules
// (negative = overlap depth).
func (c Capsule) Distance(o Capsule) float64 {
	_, _, d := geom.SegmentSegment(c.A, c.B, o.A, o.B)
	return d - c.RadiusM - o.RadiusM
}

// PointDistance returns the distance from x to the capsule surface
// (negative inside).
func (c Capsule) PointDistance(x r3.Vector) float64 {
	return geom.PointSegmentDist(x, c.A, c.B) - c.RadiusM
}

// LinkRadii are the capsule radii (m) and the lateral offsets (m) of the
// physical arm tubes from the DH plane, measured along the shoulder axis
// z1 (the direction of d4).
//
// The UR5e numbers are estimates from UR's public data sheet and drawings,
// rounded up so the capsules enclose the covers: base Ø149 mm foot, size-3
// joint housings (base, shoulder) ≈ Ø120 mm → 0.060 m, elbow housing
// ≈ Ø100 mm → 0.050 m, arm tubes ≈ Ø90 mm (upper) / Ø75 mm (forearm),
// size-1 wrist housings ≈ Ø75 mm → 0.045 m; the upper-arm tube runs 0.138 m
// off the DH plane and the forearm 0.007 m (UR's ROS description
// shoulder/elbow offsets). They are not a CAD model: keep a clearance
// margin in collision checks, or set measured values with WithLinkRadii.
type LinkRadii struct {
	BaseM, ShoulderM, UpperArmM, ElbowM, ForearmM, WristM float64
	// ShoulderOffsetM: upper-arm tube offset along z1; ElbowOffsetM:
	// forearm tube offset along z1 (both from the DH plane).
	ShoulderOffsetM, ElbowOffsetM float64
}

func ur5eRadii() LinkRadii {
	return LinkRadii{BaseM: 0.075, ShoulderM: 0.060, UpperArmM: 0.054, ElbowM: 0.050,
		ForearmM: 0.045, WristM: 0.045, ShoulderOffsetM: 0.138, ElbowOffsetM: 0.007}
}

func ur5Radii() LinkRadii {
	// CB3 UR5: UR's ROS description offsets 0.13585 / 0.13585−0.1197.
	return LinkRadii{BaseM: 0.075, ShoulderM: 0.060, UpperArmM: 0.054, ElbowM: 0.050,
		ForearmM: 0.045, WristM: 0.045, ShoulderOffsetM: 0.13585, ElbowOffsetM: 0.01615}
}

// LinkRadii returns the capsule dimensions in use.
func (m *Model) LinkRadii() LinkRadii { return m.radii }

// WithLinkRadii returns a copy with other capsule dimensions. Radii must be
// in (0, 0.5] m and offsets finite within ±0.5 m.
func (m *Model) WithLinkRadii(r LinkRadii) (*Model, error) {
	for _, f := range []struct {
		n string
		v float64
	}{{"base", r.BaseM}, {"shoulder", r.ShoulderM}, {"upper arm", r.UpperArmM}, {"elbow", r.ElbowM}, {"forearm", r.ForearmM}, {"wrist", r.WristM}} {
		if !(f.v > 0 && f.v <= 0.5) {
			return nil, fmt.Errorf("kin: %s capsule radius %v m outside (0, 0.5]", f.n, f.v)
		}
	}
	for _, o := range []float64{r.ShoulderOffsetM, r.ElbowOffsetM} {
		if !(math.Abs(o) <= 0.5) {
			return nil, fmt.Errorf("kin: link offset %v m outside ±0.5", o)
		}
	}
	c := *m
	c.radii = r
	return &c, nil
}

// LinkCapsules returns the capsule model of the arm at q in the base frame
// (metres), in this order: base column (link 0), shoulder housing along z1
// (link 1), upper-arm tube (link 2), elbow housing (link 2→3), forearm tube
// (link 3), wrist-1 housing (link 3→4, up to frame 4), wrist 2 (link 4,
// frame 4 → 5), wrist 3 (link 5, frame 5 → flange). The tool is not
// included; model the head separately. Consecutive capsules touch at their
// joints, so callers skip adjacent pairs for self-collision.
func (m *Model) LinkCapsules(q [6]float64) []Capsule {
	f := m.Frames(q)
	r := m.radii
	z1 := f[1].R.Col(2) // shoulder axis, parallel to joints 2, 3, 4
	o1, o2, o3 := f[1].P, f[2].P, f[3].P
	so, eo := z1.Mul(r.ShoulderOffsetM), z1.Mul(r.ElbowOffsetM)
	return []Capsule{
		{A: f[0].P, B: o1, RadiusM: r.BaseM, Link: 0},
		{A: o1, B: o1.Add(so), RadiusM: r.ShoulderM, Link: 1},
		{A: o1.Add(so), B: o2.Add(so), RadiusM: r.UpperArmM, Link: 2},
		{A: o2.Add(so), B: o2.Add(eo), RadiusM: r.ElbowM, Link: 3},
		{A: o2.Add(eo), B: o3.Add(eo), RadiusM: r.ForearmM, Link: 3},
		{A: o3.Add(eo), B: f[4].P, RadiusM: r.WristM, Link: 4},
		{A: f[4].P, B: f[5].P, RadiusM: r.WristM, Link: 5},
		{A: f[5].P, B: f[6].P, RadiusM: r.WristM, Link: 6},
	}
}
