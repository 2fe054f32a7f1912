// Package kin is the kinematics of Universal Robots arms (UR5e by default):
// standard Denavit–Hartenberg forward kinematics, the closed-form inverse
// kinematics with up to eight solutions, joint limits, singularity
// detection, the geometric Jacobian and a capsule model of the links for
// arm-versus-structure collision checks.
//
// Units and frames: lengths in metres, angles in radians. Poses are
// simulation/geom Poses mapping a frame into the robot base frame (the UR
// "base" frame: z up along joint 1; at q = 0 the arm is stretched along −x).
// The TCP is the flange frame (frame 6 of the DH chain) composed with the
// tool offset given to WithTCP, the URScript set_tcp convention.
//
// DH convention (spec robot-protocols.md §2 "UR5e kinematics"): standard
// DH, T_i = Rz(θ_i)·Tz(d_i)·Tx(a_i)·Rx(α_i), base → flange = T_1·…·T_6.
//
// The inverse kinematics follows the geometric decomposition of K. P.
// Hawkins, "Analytic Inverse Kinematics for the Universal Robots UR-5/UR-10
// Arms" (2013): θ1 from the wrist point's offset from the shoulder plane,
// θ5 from the tool axis, θ6 from the shoulder axis seen in the flange
// frame, then a planar two-link problem for θ2, θ3 and θ4. See ik.go.
package kin

import (
	"errors"
	"fmt"
	"math"

	"github.com/golang/geo/r3"

	"fabcell/simulation/geom"
)

// DH is a UR-type standard Denavit–Hartenberg table (metres, radians).
// A UR arm has a1 = a4 = a5 = a6 = 0, d2 = d3 = 0 and
// α = [π/2, 0, 0, π/2, −π/2, 0]; NewUR checks that structure because the
// closed-form IK depends on it.
type DH struct {
	D     [6]float64 // d_i along z_{i−1}, m
	A     [6]float64 // a_i along x_i, m
	Alpha [6]float64 // α_i about x_i, rad
}

// Model is an immutable UR arm model: DH table, tool offset, joint limits,
// singularity thresholds and link radii. Methods never modify the receiver;
// the With* methods return copies, so a *Model can be shared between
// goroutines.
type Model struct {
	name   string
	dh     DH
	tcp    geom.Pose // flange → TCP
	tcpInv geom.Pose
	qMin   [6]float64
	qMax   [6]float64
	sing   SingularityThresholds
	radii  LinkRadii
	// sin/cos of α, cached
	sa, ca [6]float64
}

// UR5e returns the UR5e model with UR's published DH parameters (spec
// robot-protocols.md §2): d1 0.1625, a2 −0.425, a3 −0.3922, d4 0.1333,
// d5 0.0997, d6 0.0996 m; α = [π/2, 0, 0, π/2, −π/2, 0]. Joint limits are
// ±2π (±360°, UR5e manual), no tool offset.
func UR5e() *Model {
	m, err := NewUR("ur5e", DH{
		D:     [6]float64{0.1625, 0, 0, 0.1333, 0.0997, 0.0996},
		A:     [6]float64{0, -0.425, -0.3922, 0, 0, 0},
		Alpha: [6]float64{math.Pi / 2, 0, 0, math.Pi / 2, -math.Pi / 2, 0},
	})
	if err != nil {
		panic(err) // programmer error: the table above is valid
	}
	return m
}

// UR5 returns the CB3 UR5 model (spec robot-protocols.md §2, for
// comparison): d1 0.089159, a2 −0.425, a3 −0.39225, d4 0.10915,
// d5 0.09465, d6 0.0823 m.
func UR5() *Model {
	m, err := NewUR("ur5", DH{
		D:     [6]float64{0.089159, 0, 0, 0.10915, 0.09465, 0.0823},
		A:     [6]float64{0, -0.425, -0.39225, 0, 0, 0},
		Alpha: [6]float64{math.Pi / 2, 0, 0, math.Pi / 2, -math.Pi / 2, 0},
	})
	if err != nil {
		panic(err)
	}
	m.radii = ur5Radii()
	return m
}

// NewUR builds a model from a UR-type DH table (e.g. a calibrated one). It
// rejects tables the closed-form IK cannot handle.
func NewUR(name string, dh DH) (*Model, error) {
	wantAlpha := [6]float64{math.Pi / 2, 0, 0, math.Pi / 2, -math.Pi / 2, 0}
	for i := 0; i < 6; i++ {
		for _, x := range []float64{dh.D[i], dh.A[i], dh.Alpha[i]} {
			if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > 100 {
				return nil, fmt.Errorf("kin: %s: joint %d: DH value %v is not a finite length/angle", name, i+1, x)
			}
		}
		if math.Abs(dh.Alpha[i]-wantAlpha[i]) > 1e-9 {
			return nil, fmt.Errorf("kin: %s: alpha%d = %v, the UR closed-form IK needs %v", name, i+1, dh.Alpha[i], wantAlpha[i])
		}
	}
	switch {
	case dh.A[0] != 0 || dh.A[3] != 0 || dh.A[4] != 0 || dh.A[5] != 0:
		return nil, fmt.Errorf("kin: %s: a1, a4, a5, a6 must be 0 for a UR-type arm", name)
	case dh.D[1] != 0 || dh.D[2] != 0:
		return nil, fmt.Errorf("kin: %s: d2, d3 must be 0 for a UR-type arm", name)
	case dh.A[1] == 0 || dh.A[2] == 0:
		return nil, fmt.Errorf("kin: %s: a2 and a3 must be non-zero", name)
	case dh.D[5] == 0:
		return nil, fmt.Errorf("kin: %s: d6 must be non-zero", name)
	}
	m := &Model{
		name:   name,
		dh:     dh,
		tcp:    geom.IdentityPose(),
		tcpInv: geom.IdentityPose(),
		sing:   DefaultSingularityThresholds(),
		radii:  ur5eRadii(),
	}
	for i := 0; i < 6; i++ {
		m.qMin[i], m.qMax[i] = -2*math.Pi, 2*math.Pi
		m.sa[i], m.ca[i] = math.Sincos(dh.Alpha[i])
		// exact zeros for the right angles keep products clean
		if math.Abs(m.ca[i]) < 1e-15 {
			m.ca[i] = 0
		}
	}
	return m, nil
}

// Name returns the model name ("ur5e").
func (m *Model) Name() string { return m.name }

// DH returns the DH table.
func (m *Model) DH() DH { return m.dh }

// TCP returns the flange → TCP offset (metres).
func (m *Model) TCP() geom.Pose { return m.tcp }

// WithTCP returns a copy with the tool offset tcp (flange → TCP, metres;
// URScript set_tcp). The rotation is re-orthonormalised.
func (m *Model) WithTCP(tcp geom.Pose) *Model {
	c := *m
	c.tcp = geom.Pose{R: orthonormalize(tcp.R), P: tcp.P}
	c.tcpInv = c.tcp.Inverse()
	return &c
}

// Limits returns the joint limits (rad); default ±2π for every joint.
func (m *Model) Limits() (min, max [6]float64) { return m.qMin, m.qMax }

// WithLimits returns a copy with joint limits min ≤ q ≤ max (rad). Each
// range must be finite, non-empty and no wider than ±2π·2 (a UR joint turns
// at most two full turns).
func (m *Model) WithLimits(min, max [6]float64) (*Model, error) {
	for i := 0; i < 6; i++ {
		if math.IsNaN(min[i]) || math.IsNaN(max[i]) || !(min[i] <= max[i]) {
			return nil, fmt.Errorf("kin: joint %d limits [%v, %v] are not an interval", i+1, min[i], max[i])
		}
		if min[i] < -4*math.Pi || max[i] > 4*math.Pi {
			return nil, fmt.Errorf("kin: joint %d limits [%v, %v] exceed ±4π rad", i+1, min[i], max[i])
		}
	}
	c := *m
	c.qMin, c.qMax = min, max
	return &c, nil
}

// InLimits reports whether every joint of q is within the limits.
func (m *Model) InLimits(q [6]float64) bool {
	for i := 0; i < 6; i++ {
		if !(q[i] >= m.qMin[i] && q[i] <= m.qMax[i]) {
			return false
		}
	}
	return true
}

// jointTransform returns T_i(θ) = Rz(θ)·Tz(d)·Tx(a)·Rx(α) for joint i
// (0-based).
func (m *Model) jointTransform(i int, theta float64) geom.Pose {
	st, ct := math.Sincos(theta)
	sa, ca := m.sa[i], m.ca[i]
	a, d := m.dh.A[i], m.dh.D[i]
	return geom.Pose{
		R: geom.Mat3{
			{ct, -st * ca, st * sa},
			{st, ct * ca, -ct * sa},
			{0, sa, ca},
		},
		P: r3.Vector{X: a * ct, Y: a * st, Z: d},
	}
}

// flange returns base → flange (frame 6).
func (m *Model) flange(q [6]float64) geom.Pose {
	t := m.jointTransform(0, q[0])
	for i := 1; i < 6; i++ {
		t = t.Mul(m.jointTransform(i, q[i]))
	}
	return t
}

// FK returns base → TCP for joint angles q (rad); positions in metres.
func (m *Model) FK(q [6]float64) geom.Pose { return m.flange(q).Mul(m.tcp) }

// Frames returns base → frame i for i = 0…6: Frames[0] is the base
// (identity), Frames[i] the DH frame i whose z axis is joint i+1's axis
// (Frames[6] is the flange, not the TCP).
func (m *Model) Frames(q [6]float64) [7]geom.Pose {
	var f [7]geom.Pose
	f[0] = geom.IdentityPose()
	for i := 0; i < 6; i++ {
		f[i+1] = f[i].Mul(m.jointTransform(i, q[i]))
	}
	return f
}

// orthonormalize returns the rotation closest to r by Gram–Schmidt on its
// columns (x, then y, z = x × y).
func orthonormalize(r geom.Mat3) geom.Mat3 {
	x := r.Col(0).Normalize()
	y := r.Col(1)
	y = y.Sub(x.Mul(x.Dot(y))).Normalize()
	return geom.FromCols(x, y, x.Cross(y))
}

// poseError returns the translation (same unit as the poses) and rotation
// (rad) difference between two poses.
func poseError(a, b geom.Pose) (dp, dr float64) {
	return a.P.Sub(b.P).Norm(), a.R.T().Mul(b.R).Angle()
}

// checkPose verifies that p is a finite rigid transform.
func checkPose(p geom.Pose) error {
	for _, x := range []float64{p.P.X, p.P.Y, p.P.Z} {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return errors.New("target position is not finite")
		}
	}
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			if math.IsNaN(p.R[i][j]) || math.IsInf(p.R[i][j], 0) {
				return errors.New("target rotation is not finite")
			}
		}
	}
	rrt := p.R.Mul(p.R.T())
	id := geom.Identity()
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			if math.Abs(rrt[i][j]-id[i][j]) > 1e-6 {
				return errors.New("target rotation is not orthonormal")
			}
		}
	}
	if p.R.Det() < 0 {
		return errors.New("target rotation is a reflection (det < 0)")
	}
	return nil
}
