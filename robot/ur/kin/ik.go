package kin

import (
	"errors"
	"fmt"
	"math"

	"fabcell/simulation/geom"
)

// Sentinel errors wrapped by *IKError.
var (
	// ErrUnreachable: no joint configuration reaches the pose (outside the
	// workspace, or inside the cylinder of radius d4 around the base axis).
	ErrUnreachable = errors.New("pose unreachable")
	// ErrOutOfLimits: the pose is reachable, but every solution violates
	// the joint limits.
	ErrOutOfLimits = errors.New("all IK solutions outside the joint limits")
	// ErrBadTarget: the target or the reference joints are not finite or
	// the rotation is not a rotation.
	ErrBadTarget = errors.New("bad IK input")
)

// IKError describes a failed IKNear. It wraps one of ErrUnreachable,
// ErrOutOfLimits or ErrBadTarget.
type IKError struct {
	Target geom.Pose // requested base → TCP pose (m)
	// Reason names the failing step, e.g. "wrist point 0.02 m from the base
	// axis, inside the d4 = 0.1333 m cylinder".
	Reason string
	// Raw is the number of closed-form solutions found before the joint
	// limits were applied.
	Raw int
	Err error
}

func (e *IKError) Error() string {
	p := e.Target.P
	return fmt.Sprintf("kin: IK for TCP at (%.4f, %.4f, %.4f) m: %v: %s", p.X, p.Y, p.Z, e.Err, e.Reason)
}

func (e *IKError) Unwrap() error { return e.Err }

// Tolerances of the closed-form solution.
const (
	// acosSlack: arguments of acos up to 1+acosSlack in magnitude are
	// clamped (rounding at workspace boundaries); beyond, the branch has no
	// solution.
	acosSlack = 1e-9
	// wristFreeSin: below this |sin θ5| the wrist is exactly singular and
	// θ6 is free; it is then taken from the hint.
	wristFreeSin = 1e-10
	// VerifyTolM and VerifyTolRad: every returned solution is checked by
	// FK; one that misses the target by more than this (possible only at
	// clamped workspace boundaries) is dropped.
	VerifyTolM   = 1e-6
	VerifyTolRad = 1e-6
	// dupTol: two wrapped solutions closer than this in every joint (rad)
	// are duplicates (e.g. the ± branches at a singular configuration).
	dupTol = 1e-9
)

// IK returns every closed-form solution for the base → TCP target pose
// (metres), at most eight: shoulder left/right × wrist up/down × elbow
// up/down (Hawkins 2013). Each solution is wrapped into the joint limits
// (the representative of θ + 2πk inside the limits with the smallest |θ|),
// solutions that fit no equivalent are dropped, and duplicates removed. At
// an exact wrist singularity (sin θ5 = 0) θ6 is free and set to 0. The
// result is nil for an unreachable or invalid target; use IKNear for the
// reason.
func (m *Model) IK(target geom.Pose) [][6]float64 {
	sols, _, _ := m.solve(target, 0)
	out := make([][6]float64, 0, len(sols))
	for _, s := range sols {
		var w [6]float64
		ok := true
		for j := 0; j < 6; j++ {
			w[j], ok = wrapSmallest(s[j], m.qMin[j], m.qMax[j])
			if !ok {
				break
			}
		}
		if ok && !containsDup(out, w) {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// IKNear returns the solution for target (base → TCP, m) closest to qNear
// in joint space: Euclidean distance, every joint choosing the 2π
// equivalent inside the limits nearest to qNear. At an exact wrist
// singularity θ6 is taken from qNear. Errors are *IKError.
func (m *Model) IKNear(target geom.Pose, qNear [6]float64) ([6]float64, error) {
	for j, x := range qNear {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return [6]float64{}, &IKError{Target: target, Reason: fmt.Sprintf("reference joint %d is %v", j+1, x), Err: ErrBadTarget}
		}
	}
	sols, reason, err := m.solve(target, qNear[5])
	if err != nil {
		return [6]float64{}, &IKError{Target: target, Reason: reason, Err: err}
	}
	best, bestD := [6]float64{}, math.Inf(1)
	for _, s := range sols {
		var w [6]float64
		ok := true
		d := 0.0
		for j := 0; j < 6; j++ {
			w[j], ok = wrapNearest(s[j], qNear[j], m.qMin[j], m.qMax[j])
			if !ok {
				break
			}
			d += (w[j] - qNear[j]) * (w[j] - qNear[j])
		}
		if ok && d < bestD {
			best, bestD = w, d
		}
	}
	if math.IsInf(bestD, 1) {
		return [6]float64{}, &IKError{Target: target, Raw: len(sols),
			Reason: fmt.Sprintf("%d solutions, none within the limits", len(sols)), Err: ErrOutOfLimits}
	}
	return best, nil
}

// solve returns the raw closed-form solutions (angles in (−π, π] before
// wrapping), verified by FK. theta6Free is used for θ6 at an exact wrist
// singularity. When there is none it returns a reason and ErrUnreachable
// or ErrBadTarget.
func (m *Model) solve(target geom.Pose, theta6Free float64) ([][6]float64, string, error) {
	if err := checkPose(target); err != nil {
		return nil, err.Error(), ErrBadTarget
	}
	// Re-orthonormalise: the check above tolerates 1e-6 drift.
	target.R = orthonormalize(target.R)
	t06 := target.Mul(m.tcpInv) // base → flange
	d4, d6 := m.dh.D[3], m.dh.D[5]
	a2, a3 := m.dh.A[1], m.dh.A[2]
	x6, y6, z6 := t06.R.Col(0), t06.R.Col(1), t06.R.Col(2)
	p6 := t06.P

	// θ1: the wrist point p5 = p6 − d6·z6 lies at distance d4 from the
	// shoulder plane: p5·z1 = d4 with z1 = (sin θ1, −cos θ1, 0), so
	// θ1 = atan2(p5y, p5x) + π/2 ± acos(d4 / |p5xy|).
	p5 := p6.Sub(z6.Mul(d6))
	rxy := math.Hypot(p5.X, p5.Y)
	if rxy < 1e-12 {
		return nil, fmt.Sprintf("wrist point on the base axis, inside the d4 = %g m cylinder", d4), ErrUnreachable
	}
	c, ok := clampAcosArg(d4 / rxy)
	if !ok {
		return nil, fmt.Sprintf("wrist point %.4f m from the base axis, inside the d4 = %g m cylinder", rxy, d4), ErrUnreachable
	}
	phi := math.Atan2(p5.Y, p5.X)
	psi := math.Acos(c)
	th1 := [2]float64{phi + math.Pi/2 + psi, phi + math.Pi/2 - psi}

	var sols [][6]float64
	reason := ""
	for _, t1 := range th1 {
		s1, c1 := math.Sincos(t1)
		// θ5: p6·z1 = d4 + d6·cos θ5.
		c5, ok := clampAcosArg((p6.X*s1 - p6.Y*c1 - d4) / d6)
		if !ok {
			reason = "tool axis cannot be aligned (|cos θ5| > 1): pose out of reach"
			continue
		}
		t5a := math.Acos(c5)
		for _, t5 := range [2]float64{t5a, -t5a} {
			s5 := math.Sin(t5)
			// θ6: z1 seen in the flange frame is (s5·c6, −s5·s6, c5).
			var t6 float64
			if math.Abs(s5) < wristFreeSin {
				t6 = theta6Free
			} else {
				z1 := [3]float64{s1, -c1, 0}
				xz := x6.X*z1[0] + x6.Y*z1[1]
				yz := y6.X*z1[0] + y6.Y*z1[1]
				if s5 < 0 {
					xz, yz = -xz, -yz
				}
				t6 = math.Atan2(-yz, xz)
			}
			// T14 = T01⁻¹ · T06 · T56⁻¹ · T45⁻¹.
			t14 := m.jointTransform(0, t1).Inverse().Mul(t06).
				Mul(m.jointTransform(5, t6).Inverse()).
				Mul(m.jointTransform(4, t5).Inverse())
			px, py := t14.P.X, t14.P.Y
			c3, ok := clampAcosArg((px*px + py*py - a2*a2 - a3*a3) / (2 * a2 * a3))
			if !ok {
				reason = fmt.Sprintf("wrist %.4f m from the shoulder, outside the arm's reach [%.4f, %.4f] m",
					math.Hypot(px, py), math.Abs(math.Abs(a2)-math.Abs(a3)), math.Abs(a2)+math.Abs(a3))
				continue
			}
			t3a := math.Acos(c3)
			for _, t3 := range [2]float64{t3a, -t3a} {
				s3, c3 := math.Sincos(t3)
				t2 := math.Atan2(py, px) - math.Atan2(a3*s3, a2+a3*c3)
				t4 := math.Atan2(t14.R[1][0], t14.R[0][0]) - t2 - t3
				q := [6]float64{
					geom.WrapAngle(t1), geom.WrapAngle(t2), geom.WrapAngle(t3),
					geom.WrapAngle(t4), geom.WrapAngle(t5), geom.WrapAngle(t6),
				}
				dp, dr := poseError(m.FK(q), target)
				if dp > VerifyTolM || dr > VerifyTolRad {
					reason = fmt.Sprintf("boundary solution misses the target by %.2g m / %.2g rad", dp, dr)
					continue
				}
				sols = append(sols, q)
			}
		}
	}
	if len(sols) == 0 {
		return nil, reason, ErrUnreachable
	}
	return sols, "", nil
}

// clampAcosArg clamps x into [−1, 1] when it is within acosSlack of it.
func clampAcosArg(x float64) (float64, bool) {
	if math.IsNaN(x) || math.Abs(x) > 1+acosSlack {
		return 0, false
	}
	return math.Max(-1, math.Min(1, x)), true
}

// wrapSmallest returns the equivalent x + 2πk in [lo, hi] with the smallest
// magnitude.
func wrapSmallest(x, lo, hi float64) (float64, bool) { return wrapNearest(x, 0, lo, hi) }

// wrapNearest returns the equivalent x + 2πk in [lo, hi] nearest to ref.
func wrapNearest(x, ref, lo, hi float64) (float64, bool) {
	const tau = 2 * math.Pi
	best, bestD, found := 0.0, math.Inf(1), false
	for k := math.Ceil((lo - x) / tau); k <= math.Floor((hi-x)/tau); k++ {
		v := x + k*tau
		if v < lo || v > hi {
			continue
		}
		if d := math.Abs(v - ref); d < bestD {
			best, bestD, found = v, d, true
		}
	}
	return best, found
}

func containsDup(list [][6]float64, q [6]float64) bool {
	for _, s := range list {
		same := true
		for j := 0; j < 6; j++ {
			if math.Abs(s[j]-q[j]) > dupTol {
				same = false
				break
			}
		}
		if same {
			return true
		}
	}
	return false
}
