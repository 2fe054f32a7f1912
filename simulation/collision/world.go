package collision

import (
	"errors"
	"fmt"
	"math"

	"github.com/golang/geo/r3"

	"fabcell/simulation/geom"
)

// World holds what the head and the arm must not hit, in the bed frame
// (mm): printed struts (capsules, indexed by a uniform grid), static convex
// obstacles (fixtures, keep-out boxes) and the bed, the half-space
// z < BedZMM.
//
// Struts are added and removed by id in O(cells the strut spans) — the
// planner applies and undoes candidate struts thousands of times. Queries
// visit only the grid cells near the query shape, so their cost does not
// grow with the number of struts elsewhere.
//
// A World is not safe for concurrent use (queries use scratch buffers);
// give each planning goroutine its own.
type World struct {
	grid  *grid
	slots []strutSlot
	ids   map[int]int32
	free  []int32
	stamp []uint32
	epoch uint32
	seg   Segment // scratch strut core passed by pointer (no boxing per test)

	extent geom.AABB // union of every strut box ever inserted

	obst  []obstacle
	bed   bool
	bedZ  float64
	nLive int

	// add log (for MoveCache): every Add gets the next serial; log lists
	// the adds in serial order (stale entries of removed struts are
	// skipped, popped from the top and compacted away). A live strut
	// with serial s has been in the world without interruption since s.
	serial    uint64
	log       []logEntry
	staticGen uint64 // bumped by AddObstacle
}

type logEntry struct {
	slot   int32
	serial uint64
}

type strutSlot struct {
	a, b   r3.Vector
	r      float64
	box    geom.AABB // capsule bounds
	lo, hi [3]int    // grid cells holding the slot
	id     int
	live   bool
	serial uint64 // add serial of the current occupant
}

type obstacle struct {
	name string
	s    Shape
	box  geom.AABB
}

// Options configures a World. Zero values mean the defaults.
type Options struct {
	// CellMM is the grid cell edge (default 20 mm, about two Bunny struts;
	// BenchmarkCellSize: 20 and 40 mm are equal within noise for head
	// queries, 10 and 80 mm slower).
	CellMM float64
	// BedZMM is the height of the bed plane in the bed frame; the region
	// below it is an obstacle unless NoBed is set.
	BedZMM float64
	NoBed  bool
	// MaxCells caps the dense grid (default 1<<22 cells, 16 MiB of list
	// heads); a larger region doubles the cell edge.
	MaxCells int
}

// MaxCoordMM bounds every coordinate the world accepts (10 km): far beyond
// any cell, small enough that grid arithmetic stays exact.
const MaxCoordMM = 1e7

// Errors returned by World.
var (
	ErrDuplicateID = errors.New("collision: strut id already present")
	ErrBadInput    = errors.New("collision: bad input")
)

// NewWorld returns an empty world.
func NewWorld(o Options) (*World, error) {
	if o.CellMM == 0 {
		o.CellMM = 20
	}
	if o.MaxCells == 0 {
		o.MaxCells = 1 << 22
	}
	if !(o.CellMM > 0) || !finite(o.CellMM) || o.CellMM > MaxCoordMM {
		return nil, fmt.Errorf("%w: grid cell %v mm must be in (0, %v]", ErrBadInput, o.CellMM, MaxCoordMM)
	}
	if !finite(o.BedZMM) || math.Abs(o.BedZMM) > MaxCoordMM {
		return nil, fmt.Errorf("%w: bed height %v mm is not a finite coordinate", ErrBadInput, o.BedZMM)
	}
	if o.MaxCells < 64 {
		return nil, fmt.Errorf("%w: max cells %d must be ≥ 64", ErrBadInput, o.MaxCells)
	}
	return &World{
		grid:   newGrid(o.CellMM, o.MaxCells),
		ids:    make(map[int]int32),
		extent: geom.EmptyAABB(),
		bed:    !o.NoBed,
		bedZ:   o.BedZMM,
	}, nil
}

// Bed returns the bed plane height and whether the bed is an obstacle.
func (w *World) Bed() (zMM float64, on bool) { return w.bedZ, w.bed }

// Len returns the number of struts.
func (w *World) Len() int { return w.nLive }

// CellMM returns the current grid cell edge.
func (w *World) CellMM() float64 { return w.grid.cell }

func checkCoord(name string, v r3.Vector) error {
	if !finiteVec(v) || math.Abs(v.X) > MaxCoordMM || math.Abs(v.Y) > MaxCoordMM || math.Abs(v.Z) > MaxCoordMM {
		return fmt.Errorf("%w: %s %v is not a finite coordinate within ±%g mm", ErrBadInput, name, v, MaxCoordMM)
	}
	return nil
}

// Add inserts strut id as the capsule from a to b with radius radiusMM
// (physical strut radius; query margins add the clearance). Errors: a
// duplicate id, non-finite or out-of-range coordinates, a radius outside
// [0, 1000] mm.
func (w *World) Add(id int, a, b r3.Vector, radiusMM float64) error {
	if _, dup := w.ids[id]; dup {
		return fmt.Errorf("%w: %d", ErrDuplicateID, id)
	}
	if err := checkCoord("strut end", a); err != nil {
		return fmt.Errorf("strut %d: %w", id, err)
	}
	if err := checkCoord("strut end", b); err != nil {
		return fmt.Errorf("strut %d: %w", id, err)
	}
	if !(radiusMM >= 0 && radiusMM <= 1000) {
		return fmt.Errorf("%w: strut %d radius %v mm outside [0, 1000]", ErrBadInput, id, radiusMM)
	}
	var slot int32
	if n := len(w.free); n > 0 {
		slot = w.free[n-1]
		w.free = w.free[:n-1]
	} else {
		w.slots = append(w.slots, strutSlot{})
		w.stamp = append(w.stamp, 0)
		slot = int32(len(w.slots) - 1)
	}
	s := &w.slots[slot]
	*s = strutSlot{a: a, b: b, r: radiusMM, box: geom.SegmentAABB(a, b, radiusMM), id: id}
	w.fit(s.box)
	s.lo, s.hi = w.grid.cellRange(s.box)
	w.grid.add(slot, s.lo, s.hi)
	s.live = true
	w.serial++
	s.serial = w.serial
	w.log = append(w.log, logEntry{slot: slot, serial: w.serial})
	w.ids[id] = slot
	w.nLive++
	return nil
}

// Serial returns the number of Adds so far: every Add gets the next
// serial, so a strut present now with serial ≤ Serial() at some earlier
// time T has been present since then (the basis of incremental caches).
func (w *World) Serial() uint64 { return w.serial }

// StrutRef names one insertion of a strut (its Add), so a cache can tell
// the same strut instance from one removed and added again.
type StrutRef struct {
	slot   int32
	serial uint64 // 0 = none
}

// Ref returns the reference of strut id's current insertion.
func (w *World) Ref(id int) (StrutRef, bool) {
	slot, ok := w.ids[id]
	if !ok {
		return StrutRef{}, false
	}
	return StrutRef{slot: slot, serial: w.slots[slot].serial}, true
}

// Alive reports whether the insertion r is still in the world.
func (w *World) Alive(r StrutRef) bool {
	return r.serial != 0 && w.liveEntry(logEntry{slot: r.slot, serial: r.serial})
}

// AddedSince visits the struts present now that were added after serial
// (newest first) until fn returns false. If more than max such struts
// are present it visits none and returns false (a full query is then
// cheaper).
func (w *World) AddedSince(serial uint64, max int, fn func(id int, c Capsule) bool) bool {
	top := len(w.log)
	for top > 0 && w.log[top-1].serial > serial {
		top--
	}
	n := 0
	for _, en := range w.log[top:] {
		if w.liveEntry(en) {
			n++
		}
	}
	if n > max {
		return false
	}
	for i := len(w.log) - 1; i >= top; i-- {
		en := w.log[i]
		if !w.liveEntry(en) {
			continue
		}
		s := &w.slots[en.slot]
		if !fn(s.id, Capsule{A: s.a, B: s.b, R: s.r}) {
			break
		}
	}
	return true
}

// liveEntry reports whether log entry en is the current occupant of its
// slot.
func (w *World) liveEntry(en logEntry) bool {
	s := &w.slots[en.slot]
	return s.live && s.serial == en.serial
}

// trimLog pops stale entries from the top of the add log and compacts it
// when stale entries dominate (out-of-order removals).
func (w *World) trimLog() {
	for n := len(w.log); n > 0 && !w.liveEntry(w.log[n-1]); n-- {
		w.log = w.log[:n-1]
	}
	if len(w.log) > 2*w.nLive+64 {
		k := 0
		for _, en := range w.log {
			if w.liveEntry(en) {
				w.log[k] = en
				k++
			}
		}
		w.log = w.log[:k]
	}
}

// fit makes the grid cover box, growing it around everything inserted so
// far (w.extent) and doubling the cell edge while the region would need
// more than MaxCells cells; live struts are re-listed after a rebuild.
func (w *World) fit(box geom.AABB) {
	lo, hi := w.grid.cellRange(box)
	if w.grid.covers(lo, hi) {
		return
	}
	w.extent = w.extent.Union(box)
	for {
		lo, hi = w.grid.cellRange(w.extent)
		if w.grid.resize(lo, hi) {
			break
		}
		w.grid.setCell(2 * w.grid.cell)
	}
	for i := range w.slots {
		s := &w.slots[i]
		if !s.live {
			continue
		}
		s.lo, s.hi = w.grid.cellRange(s.box)
		w.grid.add(int32(i), s.lo, s.hi)
	}
}

// Remove deletes strut id; it reports whether it was present.
func (w *World) Remove(id int) bool {
	slot, ok := w.ids[id]
	if !ok {
		return false
	}
	s := &w.slots[slot]
	w.grid.remove(slot, s.lo, s.hi)
	s.live = false
	delete(w.ids, id)
	w.free = append(w.free, slot)
	w.nLive--
	w.trimLog()
	return true
}

// Has reports whether strut id is present.
func (w *World) Has(id int) bool { _, ok := w.ids[id]; return ok }

// Strut returns strut id as a capsule (physical radius).
func (w *World) Strut(id int) (Capsule, bool) {
	slot, ok := w.ids[id]
	if !ok {
		return Capsule{}, false
	}
	s := &w.slots[slot]
	return Capsule{A: s.a, B: s.b, R: s.r}, true
}

// Struts calls fn for every strut (in slot order) until fn returns false.
func (w *World) Struts(fn func(id int, c Capsule) bool) {
	for i := range w.slots {
		s := &w.slots[i]
		if s.live && !fn(s.id, Capsule{A: s.a, B: s.b, R: s.r}) {
			return
		}
	}
}

// Clear removes every strut (obstacles and bed stay).
func (w *World) Clear() {
	for id := range w.ids {
		w.Remove(id)
	}
}

// AddObstacle adds a static convex obstacle (e.g. a keep-out box from
// BoxFromAABB) and returns its index. Its bounding box must be finite.
func (w *World) AddObstacle(name string, s Shape) (int, error) {
	if s == nil {
		return 0, fmt.Errorf("%w: obstacle %q has no shape", ErrBadInput, name)
	}
	b := BoundsOf(s)
	if err := checkCoord("obstacle "+name+" bound", b.Min); err != nil {
		return 0, err
	}
	if err := checkCoord("obstacle "+name+" bound", b.Max); err != nil {
		return 0, err
	}
	if b.IsEmpty() {
		return 0, fmt.Errorf("%w: obstacle %q is empty", ErrBadInput, name)
	}
	w.obst = append(w.obst, obstacle{name: name, s: s, box: b})
	w.staticGen++
	return len(w.obst) - 1, nil
}

// Obstacle returns obstacle i's name and shape.
func (w *World) Obstacle(i int) (string, Shape) { return w.obst[i].name, w.obst[i].s }

// NumObstacles returns the number of static obstacles.
func (w *World) NumObstacles() int { return len(w.obst) }

// HitKind says what a query hit.
type HitKind uint8

// Hit kinds.
const (
	HitStrut HitKind = iota + 1
	HitObstacle
	HitBed
	// HitInvalid: the query geometry was not finite; reported as a hit so
	// bad input never passes as collision-free.
	HitInvalid
)

// Hit names the object a query hit: a strut id, an obstacle index, or the
// bed (ID 0).
type Hit struct {
	Kind HitKind
	ID   int
}

func (h Hit) String() string {
	switch h.Kind {
	case HitStrut:
		return fmt.Sprintf("strut %d", h.ID)
	case HitObstacle:
		return fmt.Sprintf("obstacle %d", h.ID)
	case HitBed:
		return "bed"
	case HitInvalid:
		return "invalid query geometry"
	}
	return "nothing"
}

// each calls fn once for every live strut listed in the grid cells that
// overlap box (a strut spanning several cells is reported once), until fn
// returns false. Testing while walking lets a first-hit query stop early.
func (w *World) each(box geom.AABB, fn func(slot int32, st *strutSlot) bool) {
	w.epoch++
	if w.epoch == 0 {
		clear(w.stamp)
		w.epoch = 1
	}
	ep := w.epoch
	w.grid.visit(box, func(slot int32) bool {
		if w.stamp[slot] == ep {
			return true
		}
		w.stamp[slot] = ep
		return fn(slot, &w.slots[slot])
	})
}

// QueryBox calls fn for every strut whose bounding box (grown by marginMM)
// overlaps box — the broad phase on its own — until fn returns false.
func (w *World) QueryBox(box geom.AABB, marginMM float64, fn func(id int, c Capsule) bool) {
	w.each(box.Expand(marginMM), func(_ int32, st *strutSlot) bool {
		if !st.box.Expand(marginMM).Overlaps(box) {
			return true
		}
		return fn(st.id, Capsule{A: st.a, B: st.b, R: st.r})
	})
}

// Skip filters struts out of a query (e.g. the struts of the arm's own
// node); nil skips nothing.
type Skip func(id int) bool

// FirstHit returns an object within marginMM of shape s (bed, then
// obstacles, then struts; touching counts). Capsules, spheres and segments
// are tested against struts in closed form; other shapes with GJK. A shape
// with non-finite bounds or a margin that is negative or not finite reports
// HitInvalid.
func (w *World) FirstHit(s Shape, marginMM float64, skip Skip) (Hit, bool) {
	var found Hit
	ok := false
	w.hits(s, marginMM, skip, func(h Hit) bool { found, ok = h, true; return false })
	return found, ok
}

// Hits appends every object within marginMM of s to dst.
func (w *World) Hits(s Shape, marginMM float64, skip Skip, dst []Hit) []Hit {
	w.hits(s, marginMM, skip, func(h Hit) bool { dst = append(dst, h); return true })
	return dst
}

// CapsuleHit tests an arm link (segment a–b, radius rMM) against the world
// with extra clearance marginMM.
func (w *World) CapsuleHit(a, b r3.Vector, rMM, marginMM float64, skip Skip) (Hit, bool) {
	return w.FirstHit(Capsule{A: a, B: b, R: rMM}, marginMM, skip)
}

func (w *World) hits(s Shape, margin float64, skip Skip, emit func(Hit) bool) {
	box := BoundsOf(s)
	if !finiteVec(box.Min) || !finiteVec(box.Max) || !(margin >= 0) || !finite(margin) {
		emit(Hit{Kind: HitInvalid})
		return
	}
	if w.bed && box.Min.Z-w.bedZ <= margin {
		if !emit(Hit{Kind: HitBed}) {
			return
		}
	}
	for i := range w.obst {
		o := &w.obst[i]
		if o.box.Expand(margin).Overlaps(box) && WithinDistance(s, o.s, margin) {
			if !emit(Hit{Kind: HitObstacle, ID: i}) {
				return
			}
		}
	}
	a0, a1, rs, isLine := lineShape(s)
	var core Shape
	var rc float64
	if !isLine {
		core, rc = split(s)
	}
	centre := box.Min.Add(box.Max).Mul(0.5)
	w.each(box.Expand(margin), func(_ int32, st *strutSlot) bool {
		if !st.box.Expand(margin).Overlaps(box) || (skip != nil && skip(st.id)) {
			return true
		}
		var hit bool
		if isLine {
			_, _, d := geom.SegmentSegment(a0, a1, st.a, st.b)
			hit = !(d > margin+rs+st.r)
		} else {
			w.seg = Segment{A: st.a, B: st.b}
			m := margin + rc + st.r
			o := gjkFrom(core, &w.seg, st.a.Add(st.b).Mul(0.5).Sub(centre), true, m)
			hit = o.bad || o.intersect || o.dist <= m
		}
		return !hit || emit(Hit{Kind: HitStrut, ID: st.id})
	})
}

// Near is the nearest object found by Nearest.
type Near struct {
	Hit
	// DistMM is the distance between the surfaces (0 when touching or
	// overlapping).
	DistMM float64
	// OnShape and OnObject are the closest points (for the bed, the point
	// below the lowest point of the shape).
	OnShape, OnObject r3.Vector
}

// Nearest returns the object closest to s among those within maxMM
// (minimum distance for clearance checks); ok is false if none is. A shape
// with non-finite bounds or a negative/NaN maxMM returns HitInvalid at
// distance 0.
func (w *World) Nearest(s Shape, maxMM float64, skip Skip) (Near, bool) {
	box := BoundsOf(s)
	if !finiteVec(box.Min) || !finiteVec(box.Max) || !(maxMM >= 0) {
		return Near{Hit: Hit{Kind: HitInvalid}}, true
	}
	best := Near{DistMM: math.Inf(1)}
	ok := false
	consider := func(h Hit, r Result) {
		if r.Dist <= maxMM && r.Dist < best.DistMM {
			best = Near{Hit: h, DistMM: r.Dist, OnShape: r.PA, OnObject: r.PB}
			ok = true
		}
	}
	if w.bed {
		p := s.Support(ez.Mul(-1))
		d := math.Max(0, p.Z-w.bedZ)
		consider(Hit{Kind: HitBed}, Result{Dist: d, PA: p, PB: r3.Vector{X: p.X, Y: p.Y, Z: w.bedZ}})
	}
	for i := range w.obst {
		o := &w.obst[i]
		if o.box.Expand(maxMM).Overlaps(box) {
			consider(Hit{Kind: HitObstacle, ID: i}, Distance(s, o.s))
		}
	}
	a0, a1, rs, isLine := lineShape(s)
	var core Shape
	var rc float64
	if !isLine {
		core, rc = split(s)
	}
	w.each(box.Expand(maxMM), func(_ int32, st *strutSlot) bool {
		if skip != nil && skip(st.id) || boxGap(st.box, box) > math.Min(maxMM, best.DistMM) {
			return true
		}
		if isLine {
			consider(Hit{Kind: HitStrut, ID: st.id}, lineDistance(a0, a1, rs, st.a, st.b, st.r))
			return best.DistMM > 0
		}
		w.seg = Segment{A: st.a, B: st.b}
		if d, pa, pb, ok := coreDistance(core, &w.seg); ok {
			consider(Hit{Kind: HitStrut, ID: st.id}, roundResult(d, pa, pb, rc, st.r))
		}
		return best.DistMM > 0 // touching: nothing is nearer
	})
	return best, ok
}

// boxGap is the distance between two boxes (0 when they overlap): a lower
// bound on the distance of anything inside them.
func boxGap(a, b geom.AABB) float64 {
	dx := math.Max(0, math.Max(a.Min.X-b.Max.X, b.Min.X-a.Max.X))
	dy := math.Max(0, math.Max(a.Min.Y-b.Max.Y, b.Min.Y-a.Max.Y))
	dz := math.Max(0, math.Max(a.Min.Z-b.Max.Z, b.Min.Z-a.Max.Z))
	return math.Sqrt(dx*dx + dy*dy + dz*dz)
}
