// Package geom is fabcell's bottom geometry layer: rotations, rigid poses,
// axis-aligned boxes and closest-point queries between points and segments.
// Vectors are github.com/golang/geo/r3 values.
//
// Length units are whatever the caller uses consistently (the planner and
// collision code work in millimetres, robot kinematics in metres); every
// function here is unit-agnostic, and callers name units in their own
// identifiers. Angles are radians.
//
// Conventions:
//   - Mat3 is row-major; rotation matrices act on column vectors (v' = R v).
//   - A rotation vector (URScript "rx, ry, rz") is axis × angle, angle in
//     [0, π].
//   - RPY follows URScript rpy2rotvec: R = Rz(yaw)·Ry(pitch)·Rx(roll).
package geom

import (
	"math"

	"github.com/golang/geo/r3"
)

// Mat3 is a 3×3 matrix in row-major order.
type Mat3 [3][3]float64

// Identity returns the identity matrix.
func Identity() Mat3 { return Mat3{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}} }

// Mul returns m·n.
func (m Mat3) Mul(n Mat3) Mat3 {
	var r Mat3
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			r[i][j] = m[i][0]*n[0][j] + m[i][1]*n[1][j] + m[i][2]*n[2][j]
		}
	}
	return r
}

// MulVec returns m·v.
func (m Mat3) MulVec(v r3.Vector) r3.Vector {
	return r3.Vector{
		X: m[0][0]*v.X + m[0][1]*v.Y + m[0][2]*v.Z,
		Y: m[1][0]*v.X + m[1][1]*v.Y + m[1][2]*v.Z,
		Z: m[2][0]*v.X + m[2][1]*v.Y + m[2][2]*v.Z,
	}
}

// T returns the transpose (the inverse of a rotation).
func (m Mat3) T() Mat3 {
	return Mat3{{m[0][0], m[1][0], m[2][0]}, {m[0][1], m[1][1], m[2][1]}, {m[0][2], m[1][2], m[2][2]}}
}

// Col returns column j.
func (m Mat3) Col(j int) r3.Vector { return r3.Vector{X: m[0][j], Y: m[1][j], Z: m[2][j]} }

// FromCols builds a matrix from its columns.
func FromCols(x, y, z r3.Vector) Mat3 {
	return Mat3{{x.X, y.X, z.X}, {x.Y, y.Y, z.Y}, {x.Z, y.Z, z.Z}}
}

// Det returns the determinant.
func (m Mat3) Det() float64 {
	return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) -
		m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
		m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
}

// RotX returns the rotation by a radians about x.
func RotX(a float64) Mat3 {
	s, c := math.Sincos(a)
	return Mat3{{1, 0, 0}, {0, c, -s}, {0, s, c}}
}

// RotY returns the rotation by a radians about y.
func RotY(a float64) Mat3 {
	s, c := math.Sincos(a)
	return Mat3{{c, 0, s}, {0, 1, 0}, {-s, 0, c}}
}

// RotZ returns the rotation by a radians about z.
func RotZ(a float64) Mat3 {
	s, c := math.Sincos(a)
	return Mat3{{c, -s, 0}, {s, c, 0}, {0, 0, 1}}
}

// RPY returns Rz(yaw)·Ry(pitch)·Rx(roll) (URScript rpy2rotvec order).
func RPY(roll, pitch, yaw float64) Mat3 { return RotZ(yaw).Mul(RotY(pitch)).Mul(RotX(roll)) }

// AxisAngle returns the rotation by angle radians about the unit axis u
// (Rodrigues' formula).
func AxisAngle(u r3.Vector, angle float64) Mat3 {
	s, c := math.Sincos(angle)
	t := 1 - c
	x, y, z := u.X, u.Y, u.Z
	return Mat3{
		{t*x*x + c, t*x*y - s*z, t*x*z + s*y},
		{t*x*y + s*z, t*y*y + c, t*y*z - s*x},
		{t*x*z - s*y, t*y*z + s*x, t*z*z + c},
	}
}

// FromRotVec returns the rotation of the rotation vector v (axis·angle).
func FromRotVec(v r3.Vector) Mat3 {
	a := v.Norm()
	if a < 1e-15 {
		return Identity()
	}
	return AxisAngle(v.Mul(1/a), a)
}

// RotVec returns the rotation vector (axis·angle, angle in [0, π]) of the
// rotation matrix m. It is robust near 0 and π.
func (m Mat3) RotVec() r3.Vector {
	a := m.Angle()
	w := r3.Vector{X: m[2][1] - m[1][2], Y: m[0][2] - m[2][0], Z: m[1][0] - m[0][1]}
	if a < 1e-7 {
		// first order: R ≈ I + [θ]×
		return w.Mul(0.5)
	}
	if math.Pi-a > 1e-6 {
		return w.Mul(a / (2 * math.Sin(a)))
	}
	// near π: axis from the diagonal of (R + I)/2 = u uᵀ
	xx := math.Max(0, (m[0][0]+1)/2)
	yy := math.Max(0, (m[1][1]+1)/2)
	zz := math.Max(0, (m[2][2]+1)/2)
	var u r3.Vector
	switch {
	case xx >= yy && xx >= zz:
		x := math.Sqrt(xx)
		u = r3.Vector{X: x, Y: (m[0][1] + m[1][0]) / (4 * x), Z: (m[0][2] + m[2][0]) / (4 * x)}
	case yy >= zz:
		y := math.Sqrt(yy)
		u = r3.Vector{X: (m[0][1] + m[1][0]) / (4 * y), Y: y, Z: (m[1][2] + m[2][1]) / (4 * y)}
	default:
		z := math.Sqrt(zz)
		u = r3.Vector{X: (m[0][2] + m[2][0]) / (4 * z), Y: (m[1][2] + m[2][1]) / (4 * z), Z: z}
	}
	u = u.Normalize()
	// fix the sign with the (small) antisymmetric part when available
	if w.Dot(u) < 0 {
		u = u.Mul(-1)
	}
	return u.Mul(a)
}

// Angle returns the rotation angle of m in [0, π].
// It uses atan2(|w|/2, (tr−1)/2), w the antisymmetric part, which stays
// accurate near 0 and π where acos of the trace alone does not.
func (m Mat3) Angle() float64 {
	tr := m[0][0] + m[1][1] + m[2][2]
	w := r3.Vector{X: m[2][1] - m[1][2], Y: m[0][2] - m[2][0], Z: m[1][0] - m[0][1]}
	return math.Atan2(w.Norm()/2, (tr-1)/2)
}

// MinimalRotation returns the smallest rotation taking direction a onto
// direction b (both non-zero; they need not be unit).
func MinimalRotation(a, b r3.Vector) Mat3 {
	a, b = a.Normalize(), b.Normalize()
	c := a.Cross(b)
	s := c.Norm()
	d := a.Dot(b)
	if s < 1e-12 {
		if d > 0 {
			return Identity()
		}
		// 180°: any axis perpendicular to a
		return AxisAngle(Perpendicular(a), math.Pi)
	}
	return AxisAngle(c.Mul(1/s), math.Atan2(s, d))
}

// Perpendicular returns a unit vector perpendicular to v (v non-zero).
func Perpendicular(v r3.Vector) r3.Vector {
	v = v.Normalize()
	other := r3.Vector{X: 1}
	if math.Abs(v.X) > 0.9 {
		other = r3.Vector{Y: 1}
	}
	return v.Cross(other).Normalize()
}

// AngleBetween returns the angle between a and b in [0, π] (0 if either is
// zero).
func AngleBetween(a, b r3.Vector) float64 {
	na, nb := a.Norm(), b.Norm()
	if na == 0 || nb == 0 {
		return 0
	}
	return math.Atan2(a.Cross(b).Norm(), a.Dot(b))
}

// Pose is a rigid transform x ↦ R·x + P.
type Pose struct {
	R Mat3
	P r3.Vector
}

// IdentityPose returns the identity transform.
func IdentityPose() Pose { return Pose{R: Identity()} }

// PoseFromRotVec builds a pose from a translation and a rotation vector
// (the URScript p[x, y, z, rx, ry, rz] layout).
func PoseFromRotVec(p, rv r3.Vector) Pose { return Pose{R: FromRotVec(rv), P: p} }

// Apply transforms point x.
func (p Pose) Apply(x r3.Vector) r3.Vector { return p.R.MulVec(x).Add(p.P) }

// ApplyDir rotates direction d (no translation).
func (p Pose) ApplyDir(d r3.Vector) r3.Vector { return p.R.MulVec(d) }

// Mul returns the composition p·q (apply q first, then p).
func (p Pose) Mul(q Pose) Pose { return Pose{R: p.R.Mul(q.R), P: p.R.MulVec(q.P).Add(p.P)} }

// Inverse returns p⁻¹.
func (p Pose) Inverse() Pose {
	rt := p.R.T()
	return Pose{R: rt, P: rt.MulVec(p.P).Mul(-1)}
}

// RotVec returns the rotation vector of the pose's rotation.
func (p Pose) RotVec() r3.Vector { return p.R.RotVec() }

// Scale returns the pose with its translation multiplied by s (unit change,
// e.g. 0.001 for mm → m).
func (p Pose) Scale(s float64) Pose { return Pose{R: p.R, P: p.P.Mul(s)} }

// AABB is an axis-aligned bounding box. The zero value is the point box at
// the origin; use EmptyAABB for an empty box to grow.
type AABB struct {
	Min, Max r3.Vector
}

// EmptyAABB returns a box that contains nothing; Grow it.
func EmptyAABB() AABB {
	inf := math.Inf(1)
	return AABB{Min: r3.Vector{X: inf, Y: inf, Z: inf}, Max: r3.Vector{X: -inf, Y: -inf, Z: -inf}}
}

// IsEmpty reports whether the box contains no point.
func (b AABB) IsEmpty() bool { return b.Min.X > b.Max.X || b.Min.Y > b.Max.Y || b.Min.Z > b.Max.Z }

// Grow returns the box extended to contain x.
func (b AABB) Grow(x r3.Vector) AABB {
	return AABB{
		Min: r3.Vector{X: math.Min(b.Min.X, x.X), Y: math.Min(b.Min.Y, x.Y), Z: math.Min(b.Min.Z, x.Z)},
		Max: r3.Vector{X: math.Max(b.Max.X, x.X), Y: math.Max(b.Max.Y, x.Y), Z: math.Max(b.Max.Z, x.Z)},
	}
}

// Union returns the smallest box containing b and c.
func (b AABB) Union(c AABB) AABB { return b.Grow(c.Min).Grow(c.Max) }

// Expand returns the box grown by r on every side.
func (b AABB) Expand(r float64) AABB {
	d := r3.Vector{X: r, Y: r, Z: r}
	return AABB{Min: b.Min.Sub(d), Max: b.Max.Add(d)}
}

// Overlaps reports whether b and c intersect (touching counts).
func (b AABB) Overlaps(c AABB) bool {
	return b.Min.X <= c.Max.X && c.Min.X <= b.Max.X &&
		b.Min.Y <= c.Max.Y && c.Min.Y <= b.Max.Y &&
		b.Min.Z <= c.Max.Z && c.Min.Z <= b.Max.Z
}

// Contains reports whether x lies in b (boundary included).
func (b AABB) Contains(x r3.Vector) bool {
	return x.X >= b.Min.X && x.X <= b.Max.X && x.Y >= b.Min.Y && x.Y <= b.Max.Y && x.Z >= b.Min.Z && x.Z <= b.Max.Z
}

// SegmentAABB returns the bounding box of segment ab grown by r.
func SegmentAABB(a, b r3.Vector, r float64) AABB {
	return EmptyAABB().Grow(a).Grow(b).Expand(r)
}

// ClosestOnSegment returns the parameter t in [0,1] of the point of segment
// ab closest to x, and that point.
func ClosestOnSegment(x, a, b r3.Vector) (float64, r3.Vector) {
	ab := b.Sub(a)
	l2 := ab.Norm2()
	if l2 == 0 {
		return 0, a
	}
	t := math.Max(0, math.Min(1, x.Sub(a).Dot(ab)/l2))
	return t, a.Add(ab.Mul(t))
}

// PointSegmentDist returns the distance from x to segment ab.
func PointSegmentDist(x, a, b r3.Vector) float64 {
	_, c := ClosestOnSegment(x, a, b)
	return x.Sub(c).Norm()
}

// SegmentSegment returns the closest points of segments p0p1 and q0q1 as
// parameters s, t in [0,1] and their distance (Ericson, Real-Time Collision
// Detection, §5.1.9). Degenerate segments are handled.
func SegmentSegment(p0, p1, q0, q1 r3.Vector) (s, t, dist float64) {
	d1 := p1.Sub(p0)
	d2 := q1.Sub(q0)
	r := p0.Sub(q0)
	a := d1.Norm2()
	e := d2.Norm2()
	f := d2.Dot(r)
	const eps = 1e-18
	switch {
	case a <= eps && e <= eps:
		return 0, 0, p0.Sub(q0).Norm()
	case a <= eps:
		s = 0
		t = clamp01(f / e)
	default:
		c := d1.Dot(r)
		if e <= eps {
			t = 0
			s = clamp01(-c / a)
		} else {
			b := d1.Dot(d2)
			denom := a*e - b*b
			if denom > eps*a*e {
				s = clamp01((b*f - c*e) / denom)
			} else {
				s = 0
			}
			t = (b*s + f) / e
			if t < 0 {
				t = 0
				s = clamp01(-c / a)
			} else if t > 1 {
				t = 1
				s = clamp01((b - c) / a)
			}
		}
	}
	cp := p0.Add(d1.Mul(s))
	cq := q0.Add(d2.Mul(t))
	return s, t, cp.Sub(cq).Norm()
}

func clamp01(x float64) float64 { return math.Max(0, math.Min(1, x)) }

// WrapAngle maps a to (−π, π].
func WrapAngle(a float64) float64 {
	a = math.Mod(a+math.Pi, 2*math.Pi)
	if a <= 0 {
		a += 2 * math.Pi
	}
	return a - math.Pi
}
