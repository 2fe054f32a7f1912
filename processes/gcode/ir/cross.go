package ir

import (
	"math"
	"slices"
)

// Straight-travel crossing rule: when a generated travel retracts
// (README "Travels": PrusaSlicer's "only retract when crossing perimeters";
// a quality constraint in the sense of gcode-compiler.md, "Legality of a
// transformation" 3). A travel p→q crosses the perimeters of a layer when
// the nozzle, moving along the open segment, passes from one side of a
// perimeter to the other. With a tolerance eps (mm; the compiler uses half
// the file's resolution), for a travel of length L and a perimeter segment
// a→b with signed distances sa, sb (mm) of a and b from the line pq:
//
//  1. Transversal crossing: |sa|, |sb| > eps on opposite sides, and
//     ProperCross (p and q also farther than eps from the line ab, on
//     opposite sides). This is the rule before vertex contacts were added;
//     every travel it counts is still counted, also where the crossing lies
//     in a contact group that rule 5 ignores (a travel that runs along a wall
//     from its start and crosses another wall's edge where it leaves the
//     first; through the other wall's vertex instead it would not count).
//  2. Contact: a segment with an endpoint within eps of the line pq touches
//     the travel there. An endpoint on the line whose other endpoint is
//     farther than eps is a *ray* leaving the line to the left (sb > eps) or
//     right (sb < −eps), at the endpoint's position t (mm along p→q, by
//     projection); a segment with both endpoints within eps is *collinear*
//     and covers [min(ta, tb), max(ta, tb)] without a side. Zero-length
//     segments are ignored, and so are contacts that do not reach into the
//     open travel (t1 ≤ 0 or t0 ≥ L; rays from the travel's own ends, its
//     seams, in particular): they could only join groups that reach an end
//     zone, which never cross (rule 5).
//  3. Contacts whose positions lie within eps of each other (single
//     linkage: sorted by start, a contact joins the group when it starts at
//     most eps after the group's end) form one contact group, a point or an
//     interval [t0, t1] of the travel, e.g. a polygon vertex with its two
//     edges, or a wall the travel runs along together with the edges at its
//     ends.
//  4. A group crosses when it lies inside the travel (t0 > eps and
//     t1 < L − eps) and perimeter leaves it on both sides (a left ray and a
//     right ray): the perimeter then separates the points of the travel just
//     before the group from those just after it, in any neighbourhood of the
//     group. So a travel through a polygon's vertex from inside to outside,
//     along a symmetry axis through two vertices, or between two corners that
//     touch, crosses; a travel grazing a corner from outside (both edges on
//     one side), touching a reflex vertex from inside, passing an open wall's
//     end, or running along a wall and leaving it to the side it came from,
//     does not.
//  5. A group within eps of an end of the travel (t0 ≤ eps or t1 ≥ L − eps)
//     never crosses: travels usually start and end on perimeter vertices
//     (seams), and one that starts on a wall, or runs along it from its
//     start, has no side it came from. (Rule 1 likewise ignores a wall
//     through an end of the travel.)
//
// The rule is local and needs no loop structure (perimeters may be open
// polylines, overlap or touch), and it is symmetric: p→q crosses exactly
// when q→p does, to the last bit (the query is always evaluated from the
// lexicographically smaller end). A degenerate travel (p = q, or a length
// that is not finite) crosses nothing.

// contact is where a perimeter segment touches a travel (rule 2):
// positions t0 ≤ t1 in mm along the travel and the side the segment leaves
// to (+1 left, −1 right, 0 collinear).
type contact struct {
	t0, t1 float64
	side   int8
}

// travelTest is one crossing query along p→q: the state shared by the
// brute-force definition (TravelCrosses) and the index (SegIndex.CrossesWith),
// so both apply the very same arithmetic to every segment.
type travelTest struct {
	p, q Vec
	d    Vec     // q − p
	l    float64 // |q − p| (mm)
	eps  float64
	cont []contact
	// inner: some contact lies inside the travel by itself (t0 > eps,
	// t1 < L − eps). Without one every group reaches an end zone (rule 5),
	// so cross is false without sorting: the usual case, a travel from
	// and to perimeter vertices touching nothing else.
	inner bool
}

// init starts a query, from the lexicographically smaller end (so the
// result is exactly symmetric); false for a degenerate travel, which
// crosses nothing.
func (t *travelTest) init(p, q Vec, eps float64, cont []contact) bool {
	if q[0] < p[0] || q[0] == p[0] && q[1] < p[1] {
		p, q = q, p
	}
	t.p, t.q, t.eps = p, q, eps
	t.d = q.sub(p)
	t.l = math.Sqrt(t.d[0]*t.d[0] + t.d[1]*t.d[1])
	t.cont = cont[:0]
	t.inner = false
	return t.l > 0 && !math.IsInf(t.l, 0)
}

// seg examines a→b given ca, cb = d × (a − p), d × (b − p): true if it
// crosses the travel transversally (rule 1); contacts are recorded for
// rules 2–5 (cross).
func (t *travelTest) seg(a, b Vec, ca, cb float64) bool {
	eps := t.eps
	sa, sb := ca/t.l, cb/t.l
	if (sa > eps && sb > eps) || (sa < -eps && sb < -eps) {
		return false
	}
	if math.Abs(sa) > eps && math.Abs(sb) > eps {
		return properCrossRest(t.p, t.q, a, b, sa, sb, eps)
	}
	if a == b {
		return false
	}
	switch {
	case math.Abs(sa) <= eps && math.Abs(sb) <= eps:
		ta := t.d.dot(a.sub(t.p)) / t.l
		tb := t.d.dot(b.sub(t.p)) / t.l
		t.add(min(ta, tb), max(ta, tb), 0)
	case math.Abs(sa) <= eps:
		// A ray from the travel's own end (a seam: most queries) is a
		// point contact at t = 0 or L, which add would drop.
		if a != t.p && a != t.q {
			ta := t.d.dot(a.sub(t.p)) / t.l
			t.add(ta, ta, side(sb))
		}
	default:
		if b != t.p && b != t.q {
			tb := t.d.dot(b.sub(t.p)) / t.l
			t.add(tb, tb, side(sa))
		}
	}
	return false
}

func side(s float64) int8 {
	if s > 0 {
		return 1
	}
	return -1
}

// add records a contact, unless it does not reach into the open travel
// (t1 ≤ 0 or t0 ≥ L; rule 2): every contact within eps of such a one has
// t0 ≤ eps (or t1 ≥ L − eps), so the groups it could join or link reach an
// end zone anyway and never cross (rule 5). The index relies on the
// pruning: every recorded contact lies within eps of the travel's line at
// a point of the travel, so within 2·eps of the segment (band's margin).
func (t *travelTest) add(t0, t1 float64, s int8) {
	if t1 <= 0 || t0 >= t.l {
		return
	}
	t.inner = t.inner || t0 > t.eps && t1 < t.l-t.eps
	t.cont = append(t.cont, contact{t0, t1, s})
}

// cross applies rules 3–5 to the recorded contacts. The groups are the
// connected components of the contacts under "within eps", so the result
// does not depend on the order the segments were examined in.
func (t *travelTest) cross() bool {
	c := t.cont
	if !t.inner {
		return false
	}
	slices.SortFunc(c, func(x, y contact) int {
		switch {
		case x.t0 < y.t0:
			return -1
		case x.t0 > y.t0:
			return 1
		}
		return 0
	})
	for i := 0; i < len(c); {
		g0, g1 := c[i].t0, c[i].t1
		var left, right bool
		j := i
		for ; j < len(c) && c[j].t0 <= g1+t.eps; j++ {
			g1 = max(g1, c[j].t1)
			left = left || c[j].side > 0
			right = right || c[j].side < 0
		}
		if left && right && g0 > t.eps && g1 < t.l-t.eps {
			return true
		}
		i = j
	}
	return false
}

// TravelCrosses reports whether the travel p→q crosses any of the
// perimeter segments a[i]→b[i] under the rule above (eps in mm): the
// brute-force definition, linear in the segments. SegIndex.Crosses gives
// exactly the same answer from its grid.
func TravelCrosses(p, q Vec, a, b []Vec, eps float64) bool {
	var t travelTest
	if !t.init(p, q, eps, nil) {
		return false
	}
	for i := range a {
		if t.seg(a[i], b[i], t.d.cross(a[i].sub(t.p)), t.d.cross(b[i].sub(t.p))) {
			return true
		}
	}
	return t.cross()
}
