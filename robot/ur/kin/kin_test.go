package kin

import (
	"errors"
	"math"
	"math/rand"
	"testing"

	"github.com/golang/geo/r3"
	"go.uber.org/goleak"
	"gonum.org/v1/gonum/mat"

	"fabcell/simulation/geom"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// dhMatrix builds the standard DH transform as the product of the four
// elementary 4×4 matrices Rz(θ)·Tz(d)·Tx(a)·Rx(α) with gonum.
func dhMatrix(theta, d, a, alpha float64) *mat.Dense {
	st, ct := math.Sincos(theta)
	sa, ca := math.Sincos(alpha)
	rz := mat.NewDense(4, 4, []float64{ct, -st, 0, 0, st, ct, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1})
	tz := mat.NewDense(4, 4, []float64{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, d, 0, 0, 0, 1})
	tx := mat.NewDense(4, 4, []float64{1, 0, 0, a, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1})
	rx := mat.NewDense(4, 4, []float64{1, 0, 0, 0, 0, ca, -sa, 0, 0, sa, ca, 0, 0, 0, 0, 1})
	var out mat.Dense
	out.Product(rz, tz, tx, rx)
	return &out
}

// refFK is an independent base → flange product with gonum.
func refFK(q [6]float64) *mat.Dense {
	d := []float64{0.1625, 0, 0, 0.1333, 0.0997, 0.0996}
	a := []float64{0, -0.425, -0.3922, 0, 0, 0}
	al := []float64{math.Pi / 2, 0, 0, math.Pi / 2, -math.Pi / 2, 0}
	t := mat.NewDense(4, 4, nil)
	for i := 0; i < 4; i++ {
		t.Set(i, i, 1)
	}
	for i := 0; i < 6; i++ {
		var n mat.Dense
		n.Mul(t, dhMatrix(q[i], d[i], a[i], al[i]))
		t = &n
	}
	return t
}

func randQ(rng *rand.Rand) [6]float64 {
	var q [6]float64
	for i := range q {
		q[i] = (rng.Float64()*2 - 1) * math.Pi
	}
	return q
}

func TestFKMatchesGonumDHProduct(t *testing.T) {
	m := UR5e()
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 500; n++ {
		q := randQ(rng)
		want := refFK(q)
		got := m.FK(q)
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				if d := math.Abs(got.R[i][j] - want.At(i, j)); d > 1e-12 {
					t.Fatalf("q=%v R[%d][%d]=%v want %v", q, i, j, got.R[i][j], want.At(i, j))
				}
			}
		}
		p := [3]float64{got.P.X, got.P.Y, got.P.Z}
		for i := 0; i < 3; i++ {
			if d := math.Abs(p[i] - want.At(i, 3)); d > 1e-12 {
				t.Fatalf("q=%v P[%d]=%v want %v", q, i, p[i], want.At(i, 3))
			}
		}
		// Frames end at the flange.
		if dp, dr := poseError(m.Frames(q)[6], got); dp > 1e-15 || dr > 1e-12 {
			t.Fatalf("Frames[6] != FK: %g %g", dp, dr)
		}
	}
}

// Known poses worked out by hand from the DH table (see the derivation in
// the comments).
func TestFKKnownPoses(t *testing.T) {
	m := UR5e()
	tests := []struct {
		name string
		q    [6]float64
		p    r3.Vector
		x, z r3.Vector
	}{
		// q = 0: arm stretched along −x; x = a2 + a3, y = −(d4 + d6),
		// z = d1 − d5; flange x = +x, z = −y.
		{"zero", [6]float64{}, r3.Vector{X: -0.8172, Y: -0.2329, Z: 0.0628}, r3.Vector{X: 1}, r3.Vector{Y: -1}},
		// Home (config default): upper arm up, forearm along −x, tool
		// pointing down: x = a3 − d5, y = −d4, z = d1 − a2 − d6.
		{"home", [6]float64{0, -math.Pi / 2, math.Pi / 2, -math.Pi / 2, -math.Pi / 2, 0},
			r3.Vector{X: -0.4919, Y: -0.1333, Z: 0.4879}, r3.Vector{Y: 1}, r3.Vector{Z: -1}},
		// Base turned by 90°: the zero pose rotated about z.
		{"base90", [6]float64{math.Pi / 2, 0, 0, 0, 0, 0}, r3.Vector{X: 0.2329, Y: -0.8172, Z: 0.0628}, r3.Vector{Y: 1}, r3.Vector{X: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := m.FK(tc.q)
			if d := got.P.Sub(tc.p).Norm(); d > 1e-12 {
				t.Errorf("P = %v, want %v", got.P, tc.p)
			}
			if d := got.R.Col(0).Sub(tc.x).Norm(); d > 1e-12 {
				t.Errorf("x axis = %v, want %v", got.R.Col(0), tc.x)
			}
			if d := got.R.Col(2).Sub(tc.z).Norm(); d > 1e-12 {
				t.Errorf("z axis = %v, want %v", got.R.Col(2), tc.z)
			}
		})
	}
}

func TestWithTCP(t *testing.T) {
	tcp := geom.PoseFromRotVec(r3.Vector{X: 0.01, Y: -0.02, Z: 0.15}, r3.Vector{X: 0.3, Y: 0.1})
	base := UR5e()
	m := base.WithTCP(tcp)
	if base.TCP() != geom.IdentityPose() {
		t.Fatal("WithTCP modified the receiver")
	}
	q := [6]float64{0.3, -1.2, 1.4, -0.5, 1.1, 0.7}
	want := base.FK(q).Mul(tcp)
	if dp, dr := poseError(m.FK(q), want); dp > 1e-15 || dr > 1e-12 {
		t.Fatalf("TCP FK off by %g m %g rad", dp, dr)
	}
}

func equivalent(a, b [6]float64, tol float64) bool {
	for i := 0; i < 6; i++ {
		if math.Abs(geom.WrapAngle(a[i]-b[i])) > tol {
			return false
		}
	}
	return true
}

func TestIKRoundTrip(t *testing.T) {
	n := 5000
	if testing.Short() {
		n = 1000
	}
	tcp := geom.PoseFromRotVec(r3.Vector{X: 0.005, Z: 0.12}, r3.Vector{Y: 0.4})
	for _, m := range []*Model{UR5e(), UR5e().WithTCP(tcp), UR5()} {
		rng := rand.New(rand.NewSource(7))
		total, found := 0, 0
		for k := 0; k < n; k++ {
			q := randQ(rng)
			target := m.FK(q)
			sols := m.IK(target)
			if len(sols) == 0 {
				t.Fatalf("%s: no IK solution for FK(%v)", m.Name(), q)
			}
			if len(sols) > 8 {
				t.Fatalf("%d solutions", len(sols))
			}
			total += len(sols)
			hasOrig := false
			for _, s := range sols {
				if !m.InLimits(s) {
					t.Fatalf("solution %v outside limits", s)
				}
				dp, dr := poseError(m.FK(s), target)
				if dp > 1e-9 || dr > 1e-9 {
					t.Fatalf("%s: q=%v: solution %v misses the pose by %g m / %g rad", m.Name(), q, s, dp, dr)
				}
				if equivalent(s, q, 1e-6) {
					hasOrig = true
				}
			}
			if kind, _ := m.Singularity(q); kind == SingularityNone && !hasOrig {
				t.Fatalf("%s: original q=%v not among the %d solutions %v", m.Name(), q, len(sols), sols)
			}
			if hasOrig {
				found++
			}
		}
		t.Logf("%s: %d poses, mean %.2f solutions, original recovered %d times", m.Name(), n, float64(total)/float64(n), found)
	}
}

func TestIKEightSolutionsDistinct(t *testing.T) {
	m := UR5e()
	// A pose whose four (θ1, θ5) branches all admit the planar
	// two-link solution.
	q := [6]float64{0.66, 2.77, 1.03, -0.39, -0.47, 1.17}
	sols := m.IK(m.FK(q))
	if len(sols) != 8 {
		t.Fatalf("got %d solutions, want 8: %v", len(sols), sols)
	}
	for i := range sols {
		for j := i + 1; j < len(sols); j++ {
			if equivalent(sols[i], sols[j], 1e-6) {
				t.Fatalf("duplicate solutions %v and %v", sols[i], sols[j])
			}
		}
	}
}

func TestIKWristSingular(t *testing.T) {
	m := UR5e()
	q := [6]float64{0.3, -1.0, 1.2, -0.4, 0, 0.9} // q5 = 0: θ4 and θ6 couple
	target := m.FK(q)
	sols := m.IK(target)
	if len(sols) == 0 {
		t.Fatal("no solution at the wrist singularity")
	}
	for _, s := range sols {
		if dp, dr := poseError(m.FK(s), target); dp > 1e-9 || dr > 1e-9 {
			t.Fatalf("solution %v off by %g m / %g rad", s, dp, dr)
		}
	}
	// IKNear keeps θ6 at the reference and still reproduces the pose.
	got, err := m.IKNear(target, q)
	if err != nil {
		t.Fatal(err)
	}
	if !equivalent(got, q, 1e-9) {
		t.Fatalf("IKNear at singularity = %v, want %v", got, q)
	}
}

func TestIKNearPicksClosest(t *testing.T) {
	m := UR5e()
	rng := rand.New(rand.NewSource(3))
	for k := 0; k < 500; k++ {
		q := randQ(rng)
		if kind, _ := m.Singularity(q); kind != SingularityNone {
			continue
		}
		near := q
		for i := range near {
			near[i] += (rng.Float64()*2 - 1) * 0.01
		}
		got, err := m.IKNear(m.FK(q), near)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if math.Abs(got[i]-q[i]) > 1e-6 {
				t.Fatalf("IKNear(FK(%v), %v) = %v", q, near, got)
			}
		}
		// Shift the reference by a full turn on joint 1: the result must
		// follow it (q1 + 2π is within ±2π only when q1 < 0).
		shifted := near
		if q[0] < 0 {
			shifted[0] += 2 * math.Pi
		} else {
			shifted[0] -= 2 * math.Pi
		}
		got, err = m.IKNear(m.FK(q), shifted)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got[0]-(shifted[0]-(near[0]-q[0]))) > 1e-6 {
			t.Fatalf("joint 1 did not follow the 2π-shifted reference: got %v ref %v", got[0], shifted[0])
		}
	}
}

// Brute force: IKNear's answer equals the minimum over every solution and
// every 2π equivalent inside the limits.
func TestIKNearBruteForce(t *testing.T) {
	m := UR5e()
	rng := rand.New(rand.NewSource(11))
	for k := 0; k < 200; k++ {
		target := m.FK(randQ(rng))
		var near [6]float64
		for i := range near {
			near[i] = (rng.Float64()*2 - 1) * 2 * math.Pi
		}
		got, err := m.IKNear(target, near)
		if err != nil {
			t.Fatal(err)
		}
		best := math.Inf(1)
		for _, s := range m.IK(target) {
			d := 0.0
			for i := 0; i < 6; i++ {
				bi := math.Inf(1)
				for kk := -3; kk <= 3; kk++ {
					v := s[i] + float64(kk)*2*math.Pi
					if v >= -2*math.Pi && v <= 2*math.Pi {
						bi = math.Min(bi, (v-near[i])*(v-near[i]))
					}
				}
				d += bi
			}
			best = math.Min(best, d)
		}
		d := 0.0
		for i := 0; i < 6; i++ {
			d += (got[i] - near[i]) * (got[i] - near[i])
		}
		if math.Abs(d-best) > 1e-9 {
			t.Fatalf("IKNear distance² %v, brute force %v", d, best)
		}
	}
}

func TestIKErrors(t *testing.T) {
	m := UR5e()
	down := geom.RotX(math.Pi)
	limited, err := m.WithLimits([6]float64{-0.1, -0.1, -0.1, -0.1, -0.1, -0.1}, [6]float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1})
	if err != nil {
		t.Fatal(err)
	}
	nan := geom.Pose{R: down, P: r3.Vector{X: math.NaN()}}
	tests := []struct {
		name   string
		m      *Model
		target geom.Pose
		want   error
	}{
		{"far away", m, geom.Pose{R: down, P: r3.Vector{X: 1.5, Y: 0.2, Z: 0.3}}, ErrUnreachable},
		{"above the reach", m, geom.Pose{R: down, P: r3.Vector{X: 0.1, Y: 0.1, Z: 1.3}}, ErrUnreachable},
		{"wrist inside the d4 cylinder", m, geom.Pose{R: down, P: r3.Vector{X: 0.02, Y: 0.03, Z: 0.3}}, ErrUnreachable},
		{"out of limits", limited, m.FK([6]float64{2, -1, 1.5, -1, 1, 2}), ErrOutOfLimits},
		{"NaN position", m, nan, ErrBadTarget},
		{"not a rotation", m, geom.Pose{R: geom.Mat3{{2, 0, 0}, {0, 1, 0}, {0, 0, 1}}, P: r3.Vector{X: 0.4}}, ErrBadTarget},
		{"reflection", m, geom.Pose{R: geom.Mat3{{-1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, P: r3.Vector{X: 0.4}}, ErrBadTarget},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.m.IKNear(tc.target, [6]float64{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var ie *IKError
			if !errors.As(err, &ie) || ie.Reason == "" {
				t.Fatalf("want *IKError with a reason, got %#v", err)
			}
			if tc.want != ErrOutOfLimits && len(tc.m.IK(tc.target)) != 0 {
				t.Fatalf("IK returned solutions for an invalid target")
			}
		})
	}
	if _, err := m.IKNear(m.FK([6]float64{}), [6]float64{math.Inf(1)}); !errors.Is(err, ErrBadTarget) {
		t.Fatalf("Inf reference: %v", err)
	}
}

func TestIKRespectsLimits(t *testing.T) {
	m := UR5e()
	lo := [6]float64{-math.Pi, -math.Pi, -math.Pi, -math.Pi, -math.Pi, -math.Pi}
	hi := [6]float64{math.Pi, 0, math.Pi, math.Pi, math.Pi, math.Pi}
	lm, err := m.WithLimits(lo, hi)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(5))
	for k := 0; k < 300; k++ {
		target := m.FK(randQ(rng))
		all := m.IK(target)
		lim := lm.IK(target)
		for _, s := range lim {
			if !lm.InLimits(s) {
				t.Fatalf("%v outside limits", s)
			}
		}
		// every unlimited solution with q2 ∈ [−π, 0] must survive
		n := 0
		for _, s := range all {
			if w := geom.WrapAngle(s[1]); w <= 0 || w == math.Pi {
				n++
			}
		}
		if len(lim) != n {
			t.Fatalf("%d solutions within limits, want %d of %v", len(lim), n, all)
		}
	}
	if _, err := m.WithLimits([6]float64{1}, [6]float64{0}); err == nil {
		t.Fatal("empty interval accepted")
	}
	if _, err := m.WithLimits([6]float64{-20}, [6]float64{20}); err == nil {
		t.Fatal("±20 rad accepted")
	}
}

func TestNewURRejectsNonURTables(t *testing.T) {
	good := UR5e().DH()
	bad := []func(*DH){
		func(d *DH) { d.Alpha[1] = 0.1 },
		func(d *DH) { d.A[0] = 0.1 },
		func(d *DH) { d.D[1] = 0.1 },
		func(d *DH) { d.D[5] = 0 },
		func(d *DH) { d.A[1] = math.NaN() },
	}
	for i, f := range bad {
		d := good
		f(&d)
		if _, err := NewUR("x", d); err == nil {
			t.Errorf("case %d accepted", i)
		}
	}
	if _, err := NewUR("ok", good); err != nil {
		t.Fatal(err)
	}
}

// det of a 6×6 matrix via gonum.
func det6(j [6][6]float64) float64 {
	d := mat.NewDense(6, 6, nil)
	for r := 0; r < 6; r++ {
		for c := 0; c < 6; c++ {
			d.Set(r, c, j[r][c])
		}
	}
	return mat.Det(d)
}

func TestSingularities(t *testing.T) {
	m := UR5e()
	// A shoulder-singular configuration: choose q4 so that the wrist point's
	// in-plane coordinate a2·c2 + a3·c23 + d5·s234 vanishes.
	q2, q3 := -math.Pi/2, math.Pi-0.2
	x := -0.425*math.Cos(q2) - 0.3922*math.Cos(q2+q3)
	q4 := math.Asin(-x/0.0997) - q2 - q3
	tests := []struct {
		name string
		q    [6]float64
		want SingularityKind
	}{
		{"home", [6]float64{0, -math.Pi / 2, math.Pi / 2, -math.Pi / 2, -math.Pi / 2, 0}, SingularityNone},
		{"wrist q5=0", [6]float64{0.2, -1, 1.2, -0.5, 0, 0.3}, SingularityWrist},
		{"wrist q5=π−0.01", [6]float64{0.2, -1, 1.2, -0.5, math.Pi - 0.01, 0.3}, SingularityWrist},
		{"elbow stretched", [6]float64{0.2, -1, 0, -0.5, 1.2, 0.3}, SingularityElbow},
		{"shoulder", [6]float64{0.5, q2, q3, q4, 1.0, 0}, SingularityShoulder},
		{"zero config", [6]float64{}, SingularityWrist | SingularityElbow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kind, measure := m.Singularity(tc.q)
			if kind != tc.want {
				t.Fatalf("kind = %v, want %v (measure %v)", kind, tc.want, measure)
			}
			if (kind != SingularityNone) != (measure < 1) {
				t.Fatalf("measure %v inconsistent with kind %v", measure, kind)
			}
			d := math.Abs(det6(m.Jacobian(tc.q)))
			if tc.want != SingularityNone && tc.name != "wrist q5=π−0.01" && d > 1e-12 {
				t.Fatalf("|det J| = %g at an exact singularity", d)
			}
			if tc.want == SingularityNone && d < 1e-4 {
				t.Fatalf("|det J| = %g away from singularities", d)
			}
		})
	}
	if s := (SingularityWrist | SingularityElbow).String(); s != "wrist+elbow" {
		t.Fatalf("String = %q", s)
	}
}

// det J of a UR arm factorises into a constant times the three measures;
// this checks that SingularityMeasures finds every rank loss.
func TestJacobianDeterminantFactorises(t *testing.T) {
	m := UR5e()
	rng := rand.New(rand.NewSource(9))
	ratio := math.NaN()
	for k := 0; k < 300; k++ {
		q := randQ(rng)
		w, e, s := m.SingularityMeasures(q)
		if w*e*s < 1e-3 {
			continue
		}
		r := math.Abs(det6(m.Jacobian(q))) / (w * e * s)
		if math.IsNaN(ratio) {
			ratio = r
			continue
		}
		if math.Abs(r-ratio) > 1e-9*ratio {
			t.Fatalf("|det J|/(w·e·s) = %v, earlier %v", r, ratio)
		}
	}
	// and the constant is |a2·a3|
	if want := 0.425 * 0.3922; math.Abs(ratio-want) > 1e-9*want {
		t.Fatalf("|det J| = %v · w·e·s, want |a2·a3| = %v", ratio, want)
	}
}

func TestJacobianFiniteDifferences(t *testing.T) {
	tcp := geom.PoseFromRotVec(r3.Vector{Y: 0.02, Z: 0.15}, r3.Vector{X: 0.2})
	m := UR5e().WithTCP(tcp)
	rng := rand.New(rand.NewSource(13))
	const h = 1e-6
	for k := 0; k < 200; k++ {
		q := randQ(rng)
		j := m.Jacobian(q)
		for c := 0; c < 6; c++ {
			qp, qm := q, q
			qp[c] += h
			qm[c] -= h
			fp, fm := m.FK(qp), m.FK(qm)
			v := fp.P.Sub(fm.P).Mul(1 / (2 * h))
			w := fp.R.Mul(fm.R.T()).RotVec().Mul(1 / (2 * h))
			num := [6]float64{v.X, v.Y, v.Z, w.X, w.Y, w.Z}
			for r := 0; r < 6; r++ {
				if math.Abs(num[r]-j[r][c]) > 1e-6 {
					t.Fatalf("q=%v J[%d][%d]=%v, finite difference %v", q, r, c, j[r][c], num[r])
				}
			}
		}
		qd := [6]float64{0.1, -0.2, 0.3, 0.05, -0.1, 0.4}
		v, _ := m.TCPVelocity(q, qd)
		var want r3.Vector
		for c := 0; c < 6; c++ {
			want = want.Add(r3.Vector{X: j[0][c], Y: j[1][c], Z: j[2][c]}.Mul(qd[c]))
		}
		if v.Sub(want).Norm() > 1e-15 {
			t.Fatal("TCPVelocity disagrees with J·qd")
		}
	}
}

func TestLinkCapsules(t *testing.T) {
	m := UR5e()
	rng := rand.New(rand.NewSource(17))
	for k := 0; k < 100; k++ {
		q := randQ(rng)
		caps := m.LinkCapsules(q)
		if len(caps) != 8 {
			t.Fatalf("%d capsules", len(caps))
		}
		for i := 1; i < len(caps); i++ {
			if caps[i].A.Sub(caps[i-1].B).Norm() > 1e-12 {
				t.Fatalf("capsule chain broken between %d and %d", i-1, i)
			}
			if caps[i].Link < caps[i-1].Link {
				t.Fatal("link indices not monotone")
			}
		}
		if caps[0].A != (r3.Vector{}) || caps[len(caps)-1].B.Sub(m.FK(q).P).Norm() > 1e-12 {
			t.Fatal("chain must run from the base origin to the flange")
		}
	}
	// zero configuration, by hand: upper-arm tube from (0, −0.138, d1) to
	// (a2, −0.138, d1).
	caps := m.LinkCapsules([6]float64{})
	ua := caps[2]
	if ua.A.Sub(r3.Vector{Y: -0.138, Z: 0.1625}).Norm() > 1e-12 || ua.B.Sub(r3.Vector{X: -0.425, Y: -0.138, Z: 0.1625}).Norm() > 1e-12 {
		t.Fatalf("upper arm capsule %v", ua)
	}
	// a point on the upper-arm axis is inside; the base plane under the
	// stretched arm is outside.
	if ua.PointDistance(r3.Vector{X: -0.2, Y: -0.138, Z: 0.1625}) >= 0 {
		t.Fatal("axis point not inside")
	}
	if caps[4].PointDistance(r3.Vector{X: -0.6, Y: -0.1, Z: 0}) <= 0 {
		t.Fatal("floor point inside forearm")
	}
	if d := caps[2].Distance(caps[3]); d >= 0 {
		t.Fatalf("upper arm and elbow housing share an end but report distance %v", d)
	}
	// the tubes are offset by 0.138 − 0.007 m along y at q = 0, radii
	// 0.054 + 0.045 m: 0.032 m apart.
	if d := caps[2].Distance(caps[4]); math.Abs(d-0.032) > 1e-12 {
		t.Fatalf("upper arm – forearm distance %v, want 0.032", d)
	}
	if _, err := m.WithLinkRadii(LinkRadii{}); err == nil {
		t.Fatal("zero radii accepted")
	}
}

func BenchmarkFK(b *testing.B) {
	m := UR5e()
	q := [6]float64{0.4, -1.1, 1.3, -1.6, -1.3, 0.2}
	var sink geom.Pose
	for b.Loop() {
		sink = m.FK(q)
	}
	_ = sink
}

func BenchmarkIK(b *testing.B) {
	m := UR5e()
	target := m.FK([6]float64{0.4, -1.1, 1.3, -1.6, -1.3, 0.2})
	n := 0
	for b.Loop() {
		n += len(m.IK(target))
	}
	_ = n
}

func BenchmarkIKNear(b *testing.B) {
	m := UR5e()
	q := [6]float64{0.4, -1.1, 1.3, -1.6, -1.3, 0.2}
	target := m.FK(q)
	var sink [6]float64
	for b.Loop() {
		sink, _ = m.IKNear(target, q)
	}
	_ = sink
}

func BenchmarkJacobian(b *testing.B) {
	m := UR5e()
	q := [6]float64{0.4, -1.1, 1.3, -1.6, -1.3, 0.2}
	var sink [6][6]float64
	for b.Loop() {
		sink = m.Jacobian(q)
	}
	_ = sink
}

func BenchmarkLinkCapsules(b *testing.B) {
	m := UR5e()
	q := [6]float64{0.4, -1.1, 1.3, -1.6, -1.3, 0.2}
	var sink []Capsule
	for b.Loop() {
		sink = m.LinkCapsules(q)
	}
	_ = sink
}
