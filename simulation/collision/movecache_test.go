package collision

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/golang/geo/r3"

	"fabcell/config"
	"fabcell/simulation/geom"
)

// TestMoveCacheMatchesChecker plays a planner's apply/undo pattern on the
// Bunny (a growing print with look-ahead branches applied and undone,
// some out-of-order removals, re-adds, an obstacle added midway) and after
// every change compares MoveCache with the uncached Checker on moves
// around the front: Free for random axes, and BestAccept with an accept
// callback that rejects some axes — the result and the exact sequence of
// accept calls must be equal.
func TestMoveCacheMatchesChecker(t *testing.T) {
	bunny := loadBunny(t)
	w, c := buildWorld(t, nil, 0)
	r := StrutRadiusMM(config.Defaults().Wireframe)
	mc, err := NewMoveCache(c, 2*len(bunny))
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(*seed, 77))
	axes := c.Axes()
	steps, queries := 1500, 6
	if testing.Short() {
		steps, queries = 500, 4
	}
	in := make([]bool, len(bunny))
	var stack []int // added in order (LIFO undo)
	next := 0       // print front
	add := func(i int) {
		if err := w.Add(i, bunny[i][0], bunny[i][1], r); err != nil {
			t.Fatal(err)
		}
		in[i] = true
		stack = append(stack, i)
	}
	remove := func(k int) { // stack index
		i := stack[k]
		if !w.Remove(i) {
			t.Fatalf("strut %d not in the world", i)
		}
		in[i] = false
		stack = slices.Delete(stack, k, k+1)
	}
	var calls, ccalls []int
	reject := func(key, axis int) bool { return (key*131+axis*31)%7 == 0 }
	checks, found := 0, 0
	for step := 0; step < steps; step++ {
		switch x := rnd.IntN(10); {
		case x < 5 && next < len(bunny): // print on
			add(next)
			next++
		case x < 8 && len(stack) > 0: // undo the last
			i := stack[len(stack)-1]
			remove(len(stack) - 1)
			if i == next-1 {
				next--
			}
		case x < 9 && len(stack) > 3: // out-of-order removal and re-add later
			remove(rnd.IntN(len(stack) - 1))
		default: // re-add a missing strut below the front
			if next > 0 {
				if i := rnd.IntN(next); !in[i] {
					add(i)
				}
			}
		}
		if step == steps/2 {
			p := bunny[next/2][0].Add(r3.Vector{X: 8, Z: 5})
			box, err := BoxFromAABB(geom.AABB{Min: p.Sub(r3.Vector{X: 3, Y: 3, Z: 3}), Max: p.Add(r3.Vector{X: 3, Y: 3, Z: 3})})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.AddObstacle("box", box); err != nil {
				t.Fatal(err)
			}
		}
		for q := 0; q < queries; q++ {
			lo := max(0, next-60)
			e := lo + rnd.IntN(min(len(bunny), next+20)-lo)
			if in[e] {
				continue
			}
			dir := rnd.IntN(2)
			a, b := bunny[e][0], bunny[e][1]
			if dir == 1 {
				a, b = b, a
			}
			key := 2*e + dir
			ax := rnd.IntN(len(axes))
			if got, want := mc.Free(key, a, b, ax), c.MoveFree(a, b, axes[ax]); got != want {
				t.Fatalf("step %d strut %d dir %d axis %d: cached free %v, checker %v", step, e, dir, ax, got, want)
			}
			prev := axes[rnd.IntN(len(axes))]
			if q == 0 {
				prev = r3.Vector{}
			}
			calls, ccalls = calls[:0], ccalls[:0]
			o1, ok1 := mc.BestAccept(key, a, b, prev, func(o Orientation) bool {
				calls = append(calls, o.Index)
				return !reject(key, o.Index)
			})
			o2, ok2 := c.BestAccept(a, b, prev, func(o Orientation) bool {
				ccalls = append(ccalls, o.Index)
				return !reject(key, o.Index)
			})
			if ok1 != ok2 || o1 != o2 || !slices.Equal(calls, ccalls) {
				t.Fatalf("step %d strut %d dir %d: cached %+v %v (accept calls %v), checker %+v %v (%v)", step, e, dir, o1, ok1, calls, o2, ok2, ccalls)
			}
			checks++
			if ok1 {
				found++
			}
		}
	}
	st := mc.Stats()
	t.Logf("%d searches (%d found an axis); cache: %d known blocked, %d free by scan (%d single-strut tests), %d full tests", checks, found, st.Blocked, st.Scanned, st.ScanTest, st.Full)
	if st.Blocked == 0 || st.Scanned == 0 || st.Full == 0 {
		t.Errorf("a cache path was not exercised: %+v", st)
	}
}

// TestMoveCacheKeyReuseAndBadInput: a key queried with other end points
// forgets what it knew; keys out of range and non-finite moves fall back
// to the checker; constructor errors.
func TestMoveCacheKeyReuseAndBadInput(t *testing.T) {
	struts, a, b := freeConeScene()
	axes, err := FibonacciAxes(64, 60*deg)
	if err != nil {
		t.Fatal(err)
	}
	w, c := worldWith(t, struts, 1, axes)
	mc, err := NewMoveCache(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	// key 0 for the blocked-cone move, then for a move far away where the
	// vertical axis is free
	o, ok := mc.BestAccept(0, a, b, ez, nil)
	o2, ok2 := c.BestAccept(a, b, ez, nil)
	if ok != ok2 || o != o2 || o.Index == 0 {
		t.Fatalf("cone scene: cached %+v %v, checker %+v %v", o, ok, o2, ok2)
	}
	far := r3.Vector{X: 500, Y: 500, Z: 20}
	if !mc.Free(0, far, far.Add(r3.Vector{Y: 10}), 0) {
		t.Fatal("key reused for a free move still reports the old blocker")
	}
	if err := w.Add(99, far.Add(r3.Vector{X: -60, Z: 100}), far.Add(r3.Vector{X: 60, Z: 100}), 1); err != nil {
		t.Fatal(err)
	}
	if got, want := mc.Free(0, far, far.Add(r3.Vector{Y: 10}), 0), c.MoveFree(far, far.Add(r3.Vector{Y: 10}), axes[0]); got != want {
		t.Fatalf("after adding a strut over it: cached %v, checker %v", got, want)
	}
	if mc.Free(5, a, b, 0) != c.MoveFree(a, b, axes[0]) {
		t.Fatal("out-of-range key disagrees with the checker")
	}
	nan := r3.Vector{X: nanf()}
	if mc.Free(0, nan, b, 0) {
		t.Fatal("non-finite move reported free")
	}
	if _, err := NewMoveCache(nil, 3); err == nil {
		t.Fatal("nil checker accepted")
	}
	if _, err := NewMoveCache(c, -1); err == nil {
		t.Fatal("negative key count accepted")
	}
}

func nanf() float64 { z := 0.0; return z / z }

// TestWorldAddLog: serials, strut references and AddedSince across
// removals (LIFO and out of order) and re-adds.
func TestWorldAddLog(t *testing.T) {
	w, err := NewWorld(Options{})
	if err != nil {
		t.Fatal(err)
	}
	add := func(id int) {
		if err := w.Add(id, v3(float64(id), 0, 0), v3(float64(id), 10, 0), 1); err != nil {
			t.Fatal(err)
		}
	}
	since := func(serial uint64, max int) ([]int, bool) {
		var ids []int
		ok := w.AddedSince(serial, max, func(id int, _ Capsule) bool { ids = append(ids, id); return true })
		return ids, ok
	}
	add(1)
	add(2)
	t0 := w.Serial()
	r2, _ := w.Ref(2)
	add(3)
	add(4)
	if ids, ok := since(t0, 10); !ok || !slices.Equal(ids, []int{4, 3}) {
		t.Fatalf("added since %d: %v %v, want [4 3]", t0, ids, ok)
	}
	if _, ok := since(t0, 1); ok {
		t.Fatal("AddedSince ignored its limit")
	}
	w.Remove(3) // out of order
	w.Remove(2)
	if w.Alive(r2) {
		t.Fatal("removed strut still alive")
	}
	add(2) // the same id again: a new insertion
	if w.Alive(r2) {
		t.Fatal("old reference alive after re-add")
	}
	if r, _ := w.Ref(2); !w.Alive(r) {
		t.Fatal("new reference not alive")
	}
	if ids, _ := since(t0, 10); !slices.Equal(ids, []int{2, 4}) {
		t.Fatalf("after removals and re-add: %v, want [2 4]", ids)
	}
	if ids, _ := since(w.Serial(), 10); len(ids) != 0 {
		t.Fatalf("nothing added since now, got %v", ids)
	}
	if w.Alive(StrutRef{}) {
		t.Fatal("zero reference alive")
	}
}
