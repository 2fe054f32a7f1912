package geom

import (
	"flag"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/golang/geo/r3"
)

var seed = flag.Uint64("seed", 1, "seed for randomised geometry tests")

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func nearVec(a, b r3.Vector, tol float64) bool {
	return near(a.X, b.X, tol) && near(a.Y, b.Y, tol) && near(a.Z, b.Z, tol)
}

func randUnit(r *rand.Rand) r3.Vector {
	for {
		v := r3.Vector{X: r.Float64()*2 - 1, Y: r.Float64()*2 - 1, Z: r.Float64()*2 - 1}
		if n := v.Norm(); n > 0.1 && n <= 1 {
			return v.Mul(1 / n)
		}
	}
}

func TestRotVecRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(*seed, 2))
	angles := []float64{0, 1e-9, 1e-4, 0.5, 1, 2, 3, math.Pi - 1e-7, math.Pi}
	for i := 0; i < 200; i++ {
		u := randUnit(r)
		a := angles[i%len(angles)]
		rv := u.Mul(a)
		m := FromRotVec(rv)
		if d := m.Det(); !near(d, 1, 1e-12) {
			t.Fatalf("det = %v", d)
		}
		back := m.RotVec()
		m2 := FromRotVec(back)
		for p := 0; p < 3; p++ {
			for q := 0; q < 3; q++ {
				if !near(m[p][q], m2[p][q], 1e-9) {
					t.Fatalf("rotvec %v -> %v: matrices differ at %d,%d: %v vs %v", rv, back, p, q, m[p][q], m2[p][q])
				}
			}
		}
		if !near(back.Norm(), a, 1e-6) && !near(a, math.Pi, 1e-6) {
			t.Fatalf("angle %v recovered as %v", a, back.Norm())
		}
	}
}

func TestRodriguesMatchesElementary(t *testing.T) {
	for _, a := range []float64{0.3, -1.2, 2.5} {
		cases := []struct {
			axis r3.Vector
			want Mat3
		}{{r3.Vector{X: 1}, RotX(a)}, {r3.Vector{Y: 1}, RotY(a)}, {r3.Vector{Z: 1}, RotZ(a)}}
		for _, c := range cases {
			got := AxisAngle(c.axis, a)
			for i := 0; i < 3; i++ {
				for j := 0; j < 3; j++ {
					if !near(got[i][j], c.want[i][j], 1e-15) {
						t.Fatalf("axis %v angle %v: got %v want %v", c.axis, a, got, c.want)
					}
				}
			}
		}
	}
}

func TestRPYKnown(t *testing.T) {
	// Tool pointing straight down (URScript p[..., 0, π, 0] ≡ rpy(π, 0, 0)
	// up to the yaw about z): the z column is −z.
	m := RPY(math.Pi, 0, 0)
	if !nearVec(m.Col(2), r3.Vector{Z: -1}, 1e-12) {
		t.Fatalf("z column %v", m.Col(2))
	}
	// yaw 90°: x axis → y
	if got := RPY(0, 0, math.Pi/2).MulVec(r3.Vector{X: 1}); !nearVec(got, r3.Vector{Y: 1}, 1e-12) {
		t.Fatalf("yaw: %v", got)
	}
}

func TestMinimalRotation(t *testing.T) {
	r := rand.New(rand.NewPCG(*seed, 3))
	for i := 0; i < 100; i++ {
		a, b := randUnit(r), randUnit(r)
		if i == 0 {
			b = a.Mul(-1)
		}
		if i == 1 {
			b = a
		}
		m := MinimalRotation(a, b)
		if got := m.MulVec(a); !nearVec(got, b, 1e-9) {
			t.Fatalf("R a = %v, want %v", got, b)
		}
		if ang := m.Angle(); !near(ang, AngleBetween(a, b), 1e-9) {
			t.Fatalf("rotation angle %v != angle between %v", ang, AngleBetween(a, b))
		}
	}
}

func TestPoseInverse(t *testing.T) {
	r := rand.New(rand.NewPCG(*seed, 4))
	for i := 0; i < 50; i++ {
		p := PoseFromRotVec(randUnit(r).Mul(3), randUnit(r).Mul(2).Mul(r.Float64()*0.5+0.1))
		x := randUnit(r).Mul(7)
		if got := p.Inverse().Apply(p.Apply(x)); !nearVec(got, x, 1e-12) {
			t.Fatalf("inverse round trip %v -> %v", x, got)
		}
		q := PoseFromRotVec(randUnit(r), randUnit(r))
		if got, want := p.Mul(q).Apply(x), p.Apply(q.Apply(x)); !nearVec(got, want, 1e-12) {
			t.Fatalf("composition %v vs %v", got, want)
		}
	}
}

func TestSegmentSegment(t *testing.T) {
	cases := []struct {
		name           string
		p0, p1, q0, q1 r3.Vector
		want           float64
	}{
		{"crossing skew", r3.Vector{X: -1}, r3.Vector{X: 1}, r3.Vector{Y: -1, Z: 2}, r3.Vector{Y: 1, Z: 2}, 2},
		{"parallel offset", r3.Vector{}, r3.Vector{X: 1}, r3.Vector{Y: 3}, r3.Vector{X: 1, Y: 3}, 3},
		{"collinear gap", r3.Vector{}, r3.Vector{X: 1}, r3.Vector{X: 3}, r3.Vector{X: 4}, 2},
		{"endpoint to interior", r3.Vector{}, r3.Vector{X: 2}, r3.Vector{X: 1, Y: 1}, r3.Vector{X: 1, Y: 5}, 1},
		{"degenerate both", r3.Vector{X: 1}, r3.Vector{X: 1}, r3.Vector{Y: 1}, r3.Vector{Y: 1}, math.Sqrt2},
		{"degenerate one", r3.Vector{X: 0.5, Y: 1}, r3.Vector{X: 0.5, Y: 1}, r3.Vector{}, r3.Vector{X: 1}, 1},
		{"intersecting", r3.Vector{X: -1}, r3.Vector{X: 1}, r3.Vector{Y: -1}, r3.Vector{Y: 1}, 0},
	}
	for _, c := range cases {
		_, _, d := SegmentSegment(c.p0, c.p1, c.q0, c.q1)
		if !near(d, c.want, 1e-12) {
			t.Errorf("%s: dist %v want %v", c.name, d, c.want)
		}
	}
	// Against brute-force sampling.
	r := rand.New(rand.NewPCG(*seed, 5))
	for i := 0; i < 200; i++ {
		p0, p1, q0, q1 := randUnit(r), randUnit(r), randUnit(r).Mul(0.7), randUnit(r).Mul(0.7)
		_, _, d := SegmentSegment(p0, p1, q0, q1)
		best := math.Inf(1)
		const n = 200
		for a := 0; a <= n; a++ {
			pa := p0.Add(p1.Sub(p0).Mul(float64(a) / n))
			best = math.Min(best, PointSegmentDist(pa, q0, q1))
		}
		if d > best+1e-12 || d < best-0.02 {
			t.Fatalf("segment distance %v vs sampled %v", d, best)
		}
	}
}

func TestAABB(t *testing.T) {
	b := EmptyAABB()
	if !b.IsEmpty() {
		t.Fatal("empty box not empty")
	}
	b = b.Grow(r3.Vector{X: 1, Y: 2, Z: 3}).Grow(r3.Vector{X: -1})
	if b.IsEmpty() || !b.Contains(r3.Vector{Y: 1, Z: 1}) || b.Contains(r3.Vector{X: 2}) {
		t.Fatalf("box %v", b)
	}
	c := SegmentAABB(r3.Vector{X: 1.5}, r3.Vector{X: 3}, 0.4)
	if b.Overlaps(c) {
		t.Fatal("should not overlap")
	}
	if !b.Overlaps(c.Expand(0.2)) {
		t.Fatal("should overlap")
	}
}

func TestWrapAngle(t *testing.T) {
	for _, c := range [][2]float64{{0, 0}, {math.Pi, math.Pi}, {-math.Pi, math.Pi}, {3 * math.Pi, math.Pi}, {2*math.Pi + 0.1, 0.1}, {-0.1, -0.1}} {
		if got := WrapAngle(c[0]); !near(got, c[1], 1e-12) {
			t.Errorf("WrapAngle(%v) = %v want %v", c[0], got, c[1])
		}
	}
}
