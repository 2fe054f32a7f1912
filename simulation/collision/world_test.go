package collision

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/golang/geo/r3"

	"fabcell/simulation/geom"
)

// bruteWorld is the reference: a plain map of capsules, every query tests
// every strut.
type bruteWorld map[int]Capsule

func (b bruteWorld) hits(s Shape, margin float64) []int {
	var ids []int
	for id, c := range b {
		if WithinDistance(s, c, margin) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// bruteMoveHits lists the struts within clearance of the swept head.
func (b bruteWorld) moveHits(h Head, a, bb, axis r3.Vector, clearance float64) []int {
	return b.hits(h.Swept(a, bb, axis), clearance)
}

func strutIDs(hs []Hit) []int {
	var ids []int
	for _, h := range hs {
		if h.Kind == HitStrut {
			ids = append(ids, h.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

func randStrut(r *rand.Rand, span float64) (r3.Vector, r3.Vector) {
	a := r3.Vector{X: (r.Float64()*2 - 1) * span, Y: (r.Float64()*2 - 1) * span, Z: r.Float64() * span}
	return a, a.Add(randVec(r, 12))
}

// TestAddRemoveMatchesBruteForce: random inserts, removals and queries;
// every query's hit set must equal the brute-force set.
func TestAddRemoveMatchesBruteForce(t *testing.T) {
	for _, opt := range []Options{{NoBed: true}, {NoBed: true, CellMM: 7}, {NoBed: true, CellMM: 3, MaxCells: 4096}} {
		r := rng(40)
		w, err := NewWorld(opt)
		if err != nil {
			t.Fatal(err)
		}
		ref := bruteWorld{}
		h := releaseHead()
		c, err := NewChecker(w, h, []r3.Vector{ez}, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		nextID := 0
		span := 60.0
		steps := 3000
		if testing.Short() {
			steps = 800
		}
		for step := 0; step < steps; step++ {
			switch op := r.IntN(10); {
			case op < 5 || len(ref) == 0: // add
				a, b := randStrut(r, span)
				if step%500 == 499 { // now and then far away: the grid grows
					a = a.Add(r3.Vector{X: 400 * float64(step/500)})
					b = b.Add(r3.Vector{X: 400 * float64(step/500)})
				}
				rad := 0.5 + r.Float64()
				if err := w.Add(nextID, a, b, rad); err != nil {
					t.Fatal(err)
				}
				ref[nextID] = Capsule{a, b, rad}
				nextID++
			case op < 8: // remove a random present id
				ids := make([]int, 0, len(ref))
				for id := range ref {
					ids = append(ids, id)
				}
				slices.Sort(ids)
				id := ids[r.IntN(len(ids))]
				if !w.Remove(id) {
					t.Fatalf("remove %d: absent", id)
				}
				delete(ref, id)
				if w.Remove(id) {
					t.Fatalf("second remove of %d succeeded", id)
				}
			default: // remove then re-add the same id (planner undo/redo)
				for id, cap := range ref {
					w.Remove(id)
					if err := w.Add(id, cap.A, cap.B, cap.R); err != nil {
						t.Fatal(err)
					}
					break
				}
			}
			if w.Len() != len(ref) {
				t.Fatalf("len %d, reference %d", w.Len(), len(ref))
			}
			if step%10 != 0 {
				continue
			}
			// queries: capsule, box, sphere, swept head
			a, b := randStrut(r, span)
			qs := []Shape{Capsule{a, b, r.Float64() * 5}, Sphere{a, 1 + r.Float64()*20}}
			box, _ := BoxFromAABB(geom.SegmentAABB(a, b, 3))
			qs = append(qs, box)
			for _, q := range qs {
				margin := r.Float64() * 2
				got := strutIDs(w.Hits(q, margin, nil, nil))
				want := ref.hits(q, margin)
				if !slices.Equal(got, want) {
					t.Fatalf("opt %+v step %d %T: grid %v, brute force %v", opt, step, q, got, want)
				}
				_, any := w.FirstHit(q, margin, nil)
				if any != (len(want) > 0) {
					t.Fatalf("FirstHit %v, want %v", any, len(want) > 0)
				}
			}
			axis := tiltedAxis(r.Float64()*60*deg, r.Float64()*2*math.Pi)
			want := ref.moveHits(h, a, b, axis, 0.5)
			if _, hit := c.MoveHit(a, b, axis); hit != (len(want) > 0) {
				t.Fatalf("step %d: MoveHit %v, brute force hits %v", step, hit, want)
			}
			// Nearest vs brute force
			maxD := 10 + r.Float64()*20
			near, ok := w.Nearest(Sphere{a, 1}, maxD, nil)
			best, bestID := math.Inf(1), -1
			for id, cp := range ref {
				if d := Distance(Sphere{a, 1}, cp).Dist; d < best {
					best, bestID = d, id
				}
			}
			if ok != (best <= maxD) || ok && (!near2(near.DistMM, best) || near.Kind != HitStrut) {
				t.Fatalf("Nearest %+v ok=%v, brute force %v (id %d) within %v", near, ok, best, bestID, maxD)
			}
		}
		t.Logf("opt %+v: %d struts at the end, cell %v mm", opt, w.Len(), w.CellMM())
	}
}

func near2(a, b float64) bool { return math.Abs(a-b) <= 1e-9*(1+math.Abs(b)) }

func TestWorldSkipAndStrutAccess(t *testing.T) {
	w, _ := NewWorld(Options{BedZMM: -50})
	_ = w.Add(7, v3(0, 0, 5), v3(10, 0, 5), 1)
	_ = w.Add(9, v3(0, 2, 5), v3(10, 2, 5), 1)
	q := Capsule{v3(5, -5, 5), v3(5, 5, 5), 0.5}
	if got := strutIDs(w.Hits(q, 0, nil, nil)); !slices.Equal(got, []int{7, 9}) {
		t.Fatalf("hits %v", got)
	}
	if got := strutIDs(w.Hits(q, 0, func(id int) bool { return id == 7 }, nil)); !slices.Equal(got, []int{9}) {
		t.Fatalf("skip: %v", got)
	}
	if h, ok := w.CapsuleHit(v3(5, 10, 5), v3(5, 20, 5), 1, 0, nil); ok {
		t.Fatalf("far capsule hit %v", h)
	}
	if hs := w.Hits(Capsule{v3(5, 10, 5), v3(5, 20, 5), 1}, 7.5, nil, nil); !slices.Equal(strutIDs(hs), []int{9}) || len(hs) != 1 {
		t.Fatalf("capsule with 7.5 mm margin: %v (gap to strut 9 is 7 mm)", hs)
	}
	if h, ok := w.CapsuleHit(v3(5, 10, -49.5), v3(5, 20, -49.5), 1, 0, nil); !ok || h.Kind != HitBed {
		t.Fatalf("link below the bed: %v %v", h, ok)
	}
	c, ok := w.Strut(7)
	if !ok || c.A != v3(0, 0, 5) || c.R != 1 || !w.Has(9) || w.Has(8) {
		t.Fatalf("strut access: %+v %v", c, ok)
	}
	n := 0
	w.Struts(func(int, Capsule) bool { n++; return true })
	if n != 2 {
		t.Fatalf("Struts visited %d", n)
	}
	w.QueryBox(geom.AABB{Min: v3(9, 1.5, 4), Max: v3(12, 4, 6)}, 0, func(id int, _ Capsule) bool {
		if id != 9 {
			t.Fatalf("QueryBox returned %d", id)
		}
		return true
	})
	near, ok := w.Nearest(Sphere{v3(5, 10, 5), 1}, 100, nil)
	if !ok || near.ID != 9 || !near2(near.DistMM, 6) {
		t.Fatalf("nearest %+v", near)
	}
	if !near2(near.OnObject.Sub(near.OnShape).Norm(), 6) {
		t.Fatalf("nearest points %v %v", near.OnShape, near.OnObject)
	}
	bedNear, ok := w.Nearest(Sphere{v3(50, 50, -46), 1}, 100, nil)
	if !ok || bedNear.Kind != HitBed || !near2(bedNear.DistMM, 3) {
		t.Fatalf("bed nearest %+v", bedNear)
	}
	w.Clear()
	if w.Len() != 0 || w.Has(7) {
		t.Fatal("Clear left struts")
	}
}

func TestWorldBadInput(t *testing.T) {
	if _, err := NewWorld(Options{CellMM: -1}); err == nil {
		t.Fatal("negative cell accepted")
	}
	if _, err := NewWorld(Options{BedZMM: math.NaN()}); err == nil {
		t.Fatal("NaN bed accepted")
	}
	w, _ := NewWorld(Options{})
	if err := w.Add(1, v3(0, 0, 0), v3(1, 0, 0), 1); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"duplicate": w.Add(1, v3(0, 0, 0), v3(1, 0, 0), 1),
		"NaN":       w.Add(2, v3(math.NaN(), 0, 0), v3(1, 0, 0), 1),
		"Inf":       w.Add(3, v3(0, 0, 0), v3(math.Inf(1), 0, 0), 1),
		"far":       w.Add(4, v3(0, 0, 0), v3(2e7, 0, 0), 1),
		"radius":    w.Add(5, v3(0, 0, 0), v3(1, 0, 0), -1),
		"radiusNaN": w.Add(6, v3(0, 0, 0), v3(1, 0, 0), math.NaN()),
	} {
		if err == nil {
			t.Fatalf("%s accepted", name)
		}
		if name == "duplicate" && !errors.Is(err, ErrDuplicateID) || name != "duplicate" && !errors.Is(err, ErrBadInput) {
			t.Fatalf("%s: wrong error %v", name, err)
		}
	}
	if w.Len() != 1 {
		t.Fatalf("failed adds changed the world: %d", w.Len())
	}
	if _, err := w.AddObstacle("nan", Point{v3(math.NaN(), 0, 0)}); err == nil {
		t.Fatal("NaN obstacle accepted")
	}
	if _, err := w.AddObstacle("nil", nil); err == nil {
		t.Fatal("nil obstacle accepted")
	}
	if _, err := NewChecker(w, releaseHead(), nil, 0.5); err == nil {
		t.Fatal("no axes accepted")
	}
	if _, err := NewChecker(w, releaseHead(), []r3.Vector{{}}, 0.5); err == nil {
		t.Fatal("zero axis accepted")
	}
	if _, err := NewChecker(w, releaseHead(), []r3.Vector{ez}, -1); err == nil {
		t.Fatal("negative clearance accepted")
	}
	c, _ := NewChecker(w, releaseHead(), []r3.Vector{ez}, 0.5)
	if h, hit := w.FirstHit(Sphere{v3(math.NaN(), 0, 0), 1}, 0, nil); !hit || h.Kind != HitInvalid {
		t.Fatalf("NaN sphere: %v %v", h, hit)
	}
	if h, hit := w.FirstHit(Sphere{v3(100, 100, 100), 1}, math.NaN(), nil); !hit || h.Kind != HitInvalid {
		t.Fatalf("NaN margin: %v %v", h, hit)
	}
	if n, ok := w.Nearest(Sphere{v3(math.Inf(1), 0, 0), 1}, 10, nil); !ok || n.Kind != HitInvalid || n.DistMM != 0 {
		t.Fatalf("Inf sphere nearest: %+v", n)
	}
	if h, hit := c.MoveHit(v3(math.NaN(), 0, 10), v3(0, 0, 10), ez); !hit || h.Kind != HitInvalid {
		t.Fatalf("NaN move: %v %v", h, hit)
	}
}
