// Package brute holds the independent reference predicates the G-code
// tests check the optimiser's geometry against (kept apart from package
// ir's own, so a bug there cannot hide in both).
package brute

import "math"

// ClosedIntersect reports whether the closed segments p→q and a→b (mm, XY)
// share a point, collinear overlaps and touching ends included, by the
// textbook parametric test with exact comparisons.
func ClosedIntersect(p, q, a, b [2]float64) bool {
	r := [2]float64{q[0] - p[0], q[1] - p[1]}
	s := [2]float64{b[0] - a[0], b[1] - a[1]}
	den := r[0]*s[1] - r[1]*s[0]
	ap := [2]float64{a[0] - p[0], a[1] - p[1]}
	if den == 0 {
		if ap[0]*r[1]-ap[1]*r[0] != 0 {
			return false // parallel, not collinear
		}
		rr := r[0]*r[0] + r[1]*r[1]
		if rr == 0 {
			return false
		}
		t0 := (ap[0]*r[0] + ap[1]*r[1]) / rr
		t1 := t0 + (s[0]*r[0]+s[1]*r[1])/rr
		return math.Max(math.Min(t0, t1), 0) <= math.Min(math.Max(t0, t1), 1)
	}
	t := (ap[0]*s[1] - ap[1]*s[0]) / den
	u := (ap[0]*r[1] - ap[1]*r[0]) / den
	return t >= 0 && t <= 1 && u >= 0 && u <= 1
}
