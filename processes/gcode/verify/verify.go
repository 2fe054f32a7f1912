// Package verify checks a re-compiled G-code file against its original
// from the text of both files alone — it shares only the lexer/interpreter
// (processes/gcode/parse) with the optimiser, none of its bookkeeping.
//
// Both files are read in lock step, one layer group at a time (a group is a
// maximal run of consecutive extrusion moves at the same height; for a
// spiral vase every move is its own group), so memory is bounded by a layer.
// For every pair of groups it checks:
//
//   - the same height and the same order of groups (layer order preserved);
//   - total extrusion within RelE (1e-6) relative;
//   - the same multiset of extruded segments: identical segments (either
//     direction, same filament) match directly; the remaining original
//     segments must be covered exactly once by collinear pieces of the new
//     file whose filament sums to the original's and is distributed in
//     proportion to length (segments split at intersections);
//   - no move of the new file passes below material it has already printed
//     (a height map on a TolMM-fine grid), counted for both files.
package verify

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"

	"fabcell/processes/gcode/parse"
)

// Options tune the comparison; zero fields take the defaults.
type Options struct {
	// RelE is the relative tolerance on filament (per layer and per
	// segment). Default 1e-6.
	RelE float64
	// TolMM is the geometric tolerance for split points; default 1.5 units
	// of the finest XY resolution written in the files.
	TolMM float64
	// HeightCellMM is the height-map cell (default 0.25 mm); HeightTolMM the
	// allowed dip below printed material (default 0.001 mm).
	HeightCellMM float64
	HeightTolMM  float64
	// MaxProblems bounds the problems listed (default 20).
	MaxProblems int
	Parse       parse.Options
}

// Report is the outcome. OK is true when no problem was found.
type Report struct {
	OK                        bool
	Groups                    int
	SegmentsOrig, SegmentsNew int
	Exact, Covered            int // original segments matched exactly / by pieces
	Pieces                    int // new-file pieces used for coverage
	EOrigMM, ENewMM           float64
	MaxGroupRelErr            float64
	HeightViolationsOrig      int
	HeightViolationsNew       int
	NetEOrigMM, NetENewMM     float64 // filament including retractions
	Problems                  []string
	problemsDropped           int
}

func (r *Report) problem(max int, format string, args ...any) {
	r.OK = false
	if len(r.Problems) < max {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	} else {
		r.problemsDropped++
	}
}

// Summary is a one-line description.
func (r *Report) Summary() string {
	s := "ok"
	if !r.OK {
		s = fmt.Sprintf("FAILED (%d problems)", len(r.Problems)+r.problemsDropped)
	}
	return fmt.Sprintf("%s: %d layer groups, segments %d → %d (%d identical, %d covered by %d pieces), extrusion %.6f → %.6f mm (max layer error %.2e), below-printed moves %d → %d",
		s, r.Groups, r.SegmentsOrig, r.SegmentsNew, r.Exact, r.Covered, r.Pieces, r.EOrigMM, r.ENewMM, r.MaxGroupRelErr, r.HeightViolationsOrig, r.HeightViolationsNew)
}

// seg is one extrusion primitive (physical mm).
type seg struct {
	a, b   [3]float64
	e      float64
	arc    int8 // 0 line, 2 CW, 3 CCW
	center [2]float64
	line   int
}

type group struct {
	z    float64
	segs []seg
	eSum float64
}

// reader produces groups from one file.
type reader struct {
	sc      *parse.Scanner
	m       *parse.Machine
	pending *seg
	eof     bool
	hm      heightMap
	viol    int
	netE    float64
	decXY   int
	decE    int
	name    string
}

func newReader(r io.Reader, name string, o *Options) *reader {
	return &reader{sc: parse.NewScanner(r), m: parse.NewMachine(o.Parse), name: name,
		hm: heightMap{cell: o.HeightCellMM, tol: o.HeightTolMM, z: map[[2]int32]float64{}}}
}

// next returns the next group, or nil at EOF.
func (rd *reader) next(ctx context.Context, g *group) (bool, error) {
	g.segs = g.segs[:0]
	g.eSum = 0
	have := false
	if rd.pending != nil {
		g.segs = append(g.segs, *rd.pending)
		g.z = rd.pending.b[2]
		g.eSum = rd.pending.e
		rd.pending = nil
		have = true
	}
	n := 0
	for !rd.eof {
		if !rd.sc.Scan() {
			if err := rd.sc.Err(); err != nil {
				return false, fmt.Errorf("%s: %w", rd.name, err)
			}
			rd.eof = true
			break
		}
		n++
		if n&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		l := rd.sc.Line()
		op, err := rd.m.Exec(l)
		if err != nil {
			return false, fmt.Errorf("%s: %w", rd.name, err)
		}
		if l.Letter == 'G' {
			rd.decXY = max(rd.decXY, l.Decimals('X'), l.Decimals('Y'))
			rd.decE = max(rd.decE, l.Decimals('E'))
		}
		if op != parse.OpMove && op != parse.OpHome {
			continue
		}
		mv := &rd.m.Move
		rd.netE += mv.DE
		ext := op == parse.OpMove && mv.IsExtrusion() && !mv.Firmware
		rd.viol += rd.hm.check(mv, ext)
		if !ext {
			continue
		}
		s := seg{a: mv.From, b: mv.To, e: mv.DE, line: l.Num}
		switch mv.Kind {
		case parse.ArcCW:
			s.arc, s.center = 2, mv.Center
		case parse.ArcCCW:
			s.arc, s.center = 3, mv.Center
		}
		if have && math.Abs(s.b[2]-g.z) > 1e-6 || have && s.a[2] != s.b[2] {
			rd.pending = &s
			return true, nil
		}
		if !have {
			g.z = s.b[2]
			have = true
		}
		g.segs = append(g.segs, s)
		g.eSum += s.e
	}
	return have, nil
}

// Verify compares the original and the new file.
func Verify(ctx context.Context, orig, opt io.Reader, o Options) (Report, error) {
	if o.RelE <= 0 {
		o.RelE = 1e-6
	}
	if o.HeightCellMM <= 0 {
		o.HeightCellMM = 0.25
	}
	if o.HeightTolMM <= 0 {
		o.HeightTolMM = 1e-3
	}
	if o.MaxProblems <= 0 {
		o.MaxProblems = 20
	}
	rep := Report{OK: true}
	ro := newReader(orig, "original", &o)
	rn := newReader(opt, "new", &o)
	var go_, gn group
	for {
		ho, err := ro.next(ctx, &go_)
		if err != nil {
			return rep, err
		}
		hn, err := rn.next(ctx, &gn)
		if err != nil {
			return rep, err
		}
		if !ho && !hn {
			break
		}
		if ho != hn {
			if ho {
				rep.problem(o.MaxProblems, "group %d (z=%.4f, line %d): missing from the new file", rep.Groups+1, go_.z, go_.segs[0].line)
			} else {
				rep.problem(o.MaxProblems, "new file has an extra group (z=%.4f, line %d)", gn.z, gn.segs[0].line)
			}
			break
		}
		rep.Groups++
		compareGroups(&rep, &o, &go_, &gn, ro, rn)
	}
	rep.HeightViolationsOrig = ro.viol
	rep.HeightViolationsNew = rn.viol
	rep.NetEOrigMM, rep.NetENewMM = ro.netE, rn.netE
	if rn.viol > ro.viol {
		rep.problem(o.MaxProblems, "new file moves below already printed material %d times (original: %d)", rn.viol, ro.viol)
	}
	if d := math.Abs(ro.netE - rn.netE); d > o.RelE*math.Max(math.Abs(ro.netE), 1)+1e-6 {
		rep.problem(o.MaxProblems, "net filament differs: %.6f vs %.6f mm", ro.netE, rn.netE)
	}
	return rep, nil
}

func tolOf(o *Options, ro, rn *reader) float64 {
	if o.TolMM > 0 {
		return o.TolMM
	}
	d := max(ro.decXY, rn.decXY, 1)
	return 1.5 * math.Pow(10, -float64(min(d, 9)))
}

func compareGroups(rep *Report, o *Options, a, b *group, ro, rn *reader) {
	rep.SegmentsOrig += len(a.segs)
	rep.SegmentsNew += len(b.segs)
	rep.EOrigMM += a.eSum
	rep.ENewMM += b.eSum
	where := fmt.Sprintf("group %d (z=%.4f, original line %d, new line %d)", rep.Groups, a.z, a.segs[0].line, b.segs[0].line)
	if math.Abs(a.z-b.z) > 1e-6 {
		rep.problem(o.MaxProblems, "%s: height differs: %.6f vs %.6f (layer order changed?)", where, a.z, b.z)
		return
	}
	rel := math.Abs(a.eSum-b.eSum) / math.Max(math.Abs(a.eSum), 1e-12)
	rep.MaxGroupRelErr = math.Max(rep.MaxGroupRelErr, rel)
	if math.Abs(a.eSum-b.eSum) > o.RelE*math.Abs(a.eSum)+1e-9 {
		rep.problem(o.MaxProblems, "%s: extrusion differs: %.7f vs %.7f mm (rel %.2e)", where, a.eSum, b.eSum, rel)
	}
	tol := tolOf(o, ro, rn)
	eUnit := math.Pow(10, -float64(min(max(ro.decE, rn.decE, 1), 9)))
	// Exact matches.
	type key struct {
		p, q [2]int64
		e    int64
		arc  int8
		c    [2]int64
		z    int64
	}
	qz := func(v float64) int64 { return int64(math.Round(v / (tol / 1.5))) }
	mk := func(s *seg) key {
		p := [2]int64{qz(s.a[0]), qz(s.a[1])}
		q := [2]int64{qz(s.b[0]), qz(s.b[1])}
		arc := s.arc
		if q[0] < p[0] || q[0] == p[0] && q[1] < p[1] {
			p, q = q, p
			if arc == 2 {
				arc = 3
			} else if arc == 3 {
				arc = 2
			}
		}
		k := key{p: p, q: q, e: int64(math.Round(s.e / eUnit * 8)), arc: arc, z: qz(s.b[2])}
		if s.arc != 0 {
			k.c = [2]int64{qz(s.center[0]), qz(s.center[1])}
		}
		return k
	}
	counts := make(map[key][]int, len(a.segs))
	for i := range a.segs {
		k := mk(&a.segs[i])
		counts[k] = append(counts[k], i)
	}
	matchedA := make([]bool, len(a.segs))
	var restB []int
	for j := range b.segs {
		k := mk(&b.segs[j])
		if l := counts[k]; len(l) > 0 {
			matchedA[l[len(l)-1]] = true
			counts[k] = l[:len(l)-1]
			rep.Exact++
			continue
		}
		restB = append(restB, j)
	}
	var restA []int
	for i, m := range matchedA {
		if !m {
			restA = append(restA, i)
		}
	}
	if len(restA) == 0 && len(restB) == 0 {
		return
	}
	cover(rep, o, where, a, b, restA, restB, tol, eUnit)
}

// cover checks that the unmatched original segments are covered exactly
// once by the unmatched new pieces.
func cover(rep *Report, o *Options, where string, a, b *group, restA, restB []int, tol, eUnit float64) {
	// Grid over the original segments' bounding boxes.
	cell := 1.0
	type ck [2]int32
	grid := map[ck][]int{}
	cellOf := func(x, y float64) ck { return ck{int32(math.Floor(x / cell)), int32(math.Floor(y / cell))} }
	for _, i := range restA {
		s := &a.segs[i]
		if s.arc != 0 {
			rep.problem(o.MaxProblems, "%s: arc at original line %d not found in the new file", where, s.line)
			continue
		}
		lo := cellOf(math.Min(s.a[0], s.b[0])-tol, math.Min(s.a[1], s.b[1])-tol)
		hi := cellOf(math.Max(s.a[0], s.b[0])+tol, math.Max(s.a[1], s.b[1])+tol)
		if int64(hi[0]-lo[0]+1)*int64(hi[1]-lo[1]+1) > 1<<20 {
			rep.problem(o.MaxProblems, "%s: segment at line %d too long to index", where, s.line)
			continue
		}
		for x := lo[0]; x <= hi[0]; x++ {
			for y := lo[1]; y <= hi[1]; y++ {
				grid[ck{x, y}] = append(grid[ck{x, y}], i)
			}
		}
	}
	type piece struct {
		t0, t1 float64
		e      float64
		line   int
	}
	type cand struct {
		i      int
		t0, t1 float64
	}
	type pend struct {
		j     int
		cands []cand
	}
	var pends []pend
	for _, j := range restB {
		p := &b.segs[j]
		if p.arc != 0 {
			rep.problem(o.MaxProblems, "%s: arc at new line %d matches no original arc", where, p.line)
			continue
		}
		var cs []cand
		for _, i := range grid[cellOf(p.a[0], p.a[1])] {
			s := &a.segs[i]
			t0, d0 := param(s, p.a)
			t1, d1 := param(s, p.b)
			L := segLen(s)
			if d0 > tol || d1 > tol || L == 0 {
				continue
			}
			lo, hi := math.Min(t0, t1), math.Max(t0, t1)
			if lo*L < -tol || hi*L > L+tol {
				continue
			}
			cs = append(cs, cand{i, lo, hi})
		}
		if len(cs) == 0 {
			rep.problem(o.MaxProblems, "%s: extrusion at new line %d lies on no original segment (extra extrusion)", where, p.line)
			continue
		}
		pends = append(pends, pend{j, cs})
	}
	// Unambiguous pieces first, then longer ones; among candidates prefer
	// one whose interval is still free and whose filament density matches.
	sort.SliceStable(pends, func(x, y int) bool {
		if (len(pends[x].cands) == 1) != (len(pends[y].cands) == 1) {
			return len(pends[x].cands) == 1
		}
		return segLen(&b.segs[pends[x].j]) > segLen(&b.segs[pends[y].j])
	})
	assigned := map[int][]piece{}
	choice := make([]int, len(pends)) // candidate index per pending piece
	overlap := func(i int, t0, t1 float64) float64 {
		L := segLen(&a.segs[i])
		ov := 0.0
		for _, q := range assigned[i] {
			ov += math.Max(0, math.Min(t1, q.t1)-math.Max(t0, q.t0)) * L
		}
		return ov
	}
	for x, pd := range pends {
		p := &b.segs[pd.j]
		best, bestScore := -1, math.Inf(1)
		for k, c := range pd.cands {
			s := &a.segs[c.i]
			want := s.e * (c.t1 - c.t0)
			score := overlap(c.i, c.t0, c.t1)/tol*1e3 + math.Abs(p.e-want)/eUnit
			if score < bestScore {
				best, bestScore = k, score
			}
		}
		choice[x] = best
		c := pd.cands[best]
		assigned[c.i] = append(assigned[c.i], piece{c.t0, c.t1, p.e, p.line})
		rep.Pieces++
	}
	// check returns the first problem of original i with its assigned
	// pieces ("" when it is covered exactly once with its filament).
	check := func(i int) string {
		s := &a.segs[i]
		ps := assigned[i]
		if len(ps) == 0 {
			return fmt.Sprintf("%s: segment at original line %d is not printed (dropped)", where, s.line)
		}
		sort.Slice(ps, func(x, y int) bool { return ps[x].t0 < ps[y].t0 })
		L := segLen(s)
		cur := 0.0
		eSum := 0.0
		for _, p := range ps {
			if math.Abs(p.t0-cur)*L > tol {
				if p.t0 > cur {
					return fmt.Sprintf("%s: segment at original line %d has a gap of %.4f mm at t=%.4f", where, s.line, (p.t0-cur)*L, cur)
				}
				return fmt.Sprintf("%s: segment at original line %d is printed twice over %.4f mm (new line %d)", where, s.line, (cur-p.t0)*L, p.line)
			}
			want := s.e * (p.t1 - p.t0)
			if math.Abs(p.e-want) > 2*eUnit+s.e*2*tol/L+1e-9 {
				return fmt.Sprintf("%s: piece at new line %d of original line %d carries %.6f mm filament, %.6f expected for its length", where, p.line, s.line, p.e, want)
			}
			cur = p.t1
			eSum += p.e
		}
		if math.Abs(1-cur)*L > tol {
			return fmt.Sprintf("%s: segment at original line %d is only printed up to t=%.4f", where, s.line, cur)
		}
		if math.Abs(eSum-s.e) > o.RelE*s.e+1e-9 {
			return fmt.Sprintf("%s: segment at original line %d: pieces carry %.7f mm filament, original %.7f", where, s.line, eSum, s.e)
		}
		return ""
	}
	// The greedy choice can fail where pieces fit several originals (tiny
	// pieces at a point where lines meet, shorter than the tolerance): then
	// search the ambiguous pieces' assignments, cluster by cluster, for one
	// under which every original involved is covered exactly once with its
	// filament — the property checked is that such an assignment exists.
	move := func(x, k int) {
		pd := &pends[x]
		old := pd.cands[choice[x]]
		line := b.segs[pd.j].line
		ps := assigned[old.i]
		for y := range ps {
			if ps[y].line == line {
				ps[y] = ps[len(ps)-1]
				assigned[old.i] = ps[:len(ps)-1]
				break
			}
		}
		choice[x] = k
		c := pd.cands[k]
		assigned[c.i] = append(assigned[c.i], piece{c.t0, c.t1, b.segs[pd.j].e, line})
	}
	byOrig := map[int][]int{} // original → ambiguous pending pieces that fit it
	for x := range pends {
		if len(pends[x].cands) > 1 {
			for _, c := range pends[x].cands {
				byOrig[c.i] = append(byOrig[c.i], x)
			}
		}
	}
	done := map[int]bool{}
	for _, i0 := range restA {
		if a.segs[i0].arc != 0 || done[i0] || len(byOrig[i0]) == 0 || check(i0) == "" {
			continue
		}
		// The cluster: originals and ambiguous pieces linked by fits.
		origs, xs := []int{i0}, []int(nil)
		inX := map[int]bool{}
		done[i0] = true
		combos := 1.0
		for q := 0; q < len(origs); q++ {
			for _, x := range byOrig[origs[q]] {
				if inX[x] {
					continue
				}
				inX[x] = true
				xs = append(xs, x)
				combos *= float64(len(pends[x].cands))
				for _, c := range pends[x].cands {
					if !done[c.i] {
						done[c.i] = true
						origs = append(origs, c.i)
					}
				}
			}
		}
		if combos > 1<<16 {
			continue // too ambiguous to search: report the greedy result
		}
		orig := make([]int, len(xs))
		for y, x := range xs {
			orig[y] = choice[x]
		}
		allOK := func() bool {
			for _, i := range origs {
				if check(i) != "" {
					return false
				}
			}
			return true
		}
		var search func(y int) bool
		search = func(y int) bool {
			if y == len(xs) {
				return allOK()
			}
			for k := range pends[xs[y]].cands {
				if choice[xs[y]] != k {
					move(xs[y], k)
				}
				if search(y + 1) {
					return true
				}
			}
			return false
		}
		if !search(0) {
			for y, x := range xs { // keep the greedy assignment for the report
				if choice[x] != orig[y] {
					move(x, orig[y])
				}
			}
		}
	}
	for _, i := range restA {
		if a.segs[i].arc != 0 {
			continue
		}
		if msg := check(i); msg != "" {
			rep.problem(o.MaxProblems, "%s", msg)
			continue
		}
		rep.Covered++
	}
}

func segLen(s *seg) float64 { return math.Hypot(s.b[0]-s.a[0], s.b[1]-s.a[1]) }

// param returns the parameter of p's projection on s and its distance.
func param(s *seg, p [3]float64) (float64, float64) {
	dx, dy := s.b[0]-s.a[0], s.b[1]-s.a[1]
	l2 := dx*dx + dy*dy
	if l2 == 0 {
		return 0, math.Hypot(p[0]-s.a[0], p[1]-s.a[1])
	}
	t := ((p[0]-s.a[0])*dx + (p[1]-s.a[1])*dy) / l2
	qx, qy := s.a[0]+t*dx, s.a[1]+t*dy
	return t, math.Hypot(p[0]-qx, p[1]-qy)
}

// heightMap records the top of printed material per XY cell.
type heightMap struct {
	cell, tol float64
	z         map[[2]int32]float64
}

// check samples the move's XY path; it counts cells where the nozzle is
// below printed material, then (for extrusions) raises the cells.
func (h *heightMap) check(mv *parse.Move, ext bool) int {
	l := mv.XYLength()
	n := int(l/(h.cell/2)) + 1
	if n > 1<<20 {
		n = 1 << 20
	}
	viol := 0
	var cells [][2]int32
	var zs []float64
	last := [2]int32{math.MaxInt32, math.MaxInt32}
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		var p [3]float64
		if mv.Kind == parse.Linear {
			for k := 0; k < 3; k++ {
				p[k] = mv.From[k] + (mv.To[k]-mv.From[k])*t
			}
		} else {
			p = mv.ArcPoint(t)
		}
		c := [2]int32{int32(math.Floor(p[0] / h.cell)), int32(math.Floor(p[1] / h.cell))}
		if c == last {
			continue
		}
		last = c
		if top, ok := h.z[c]; ok && p[2] < top-h.tol {
			viol++
		}
		if ext {
			cells = append(cells, c)
			zs = append(zs, p[2])
		}
	}
	for k, c := range cells {
		if zs[k] > h.z[c] || !hasKey(h.z, c) {
			h.z[c] = zs[k]
		}
	}
	if viol > 0 {
		return 1
	}
	return 0
}

func hasKey(m map[[2]int32]float64, k [2]int32) bool { _, ok := m[k]; return ok }
