package collision

import (
	"fmt"
	"sort"

	"github.com/golang/geo/r3"

	"fabcell/simulation/geom"
)

// MoveCache memoises the Eq. 5 swept-head test of a Checker per move and
// candidate axis across changes of the World, with answers identical to
// Checker.MoveFree / Checker.BestAccept (spec lsg-dqn.md §8.1, Eqs. 5–7).
//
// A planner tests the same moves (one per strut and direction) against
// printed sets that differ by a few struts, thousands of times. Two facts
// survive such changes exactly:
//
//   - blocked: the axis was found blocked by strut instance X (one Add of
//     one id); while X is still in the world the axis stays blocked. Bed
//     and obstacle hits are permanent (until AddObstacle).
//   - free at serial T: no strut in the world right after the T-th Add
//     blocks the axis. A strut now in the world with an add serial ≤ T
//     has been there since before T, so only the struts added after T
//     (the top of the World's add log) need the single-strut test.
//
// A query that knows neither walks the grid as MoveFree does. Keys are the
// caller's move ids in [0, keys) (e.g. 2·edge + direction); a key queried
// with different end points is reset, so a stale key is never trusted.
// Like the Checker, a MoveCache is not safe for concurrent use and must
// not be called from inside an accept callback.
type MoveCache struct {
	c       *Checker
	keys    []moveKey
	maxScan int
	orders  map[r3.Vector][]uint16
	stats   MoveCacheStats
}

// MoveCacheStats counts how MoveCache answered axis tests.
type MoveCacheStats struct {
	Blocked  int64 // known blocker still present
	Scanned  int64 // free earlier; only the struts added since were tested
	Full     int64 // full swept-head test (grid walk)
	ScanTest int64 // single-strut tests run by scans
}

type moveKey struct {
	a, b r3.Vector
	gen  uint64 // World.staticGen + 1 when the records were made; 0 = unused
	ax   []axisRec
}

// axisRec is what is known about one (move, axis): a blocking strut
// instance (slot + add serial) or a static blocker, and the add serial + 1
// at which the axis was last verified free (0 = never).
type axisRec struct {
	blockSerial uint64 // 0 = no strut blocker recorded
	freeAt      uint64
	blockSlot   int32
	static      bool // blocked by the bed or an obstacle
}

// maxScanDefault bounds the struts a scan tests one by one before a full
// test is cheaper.
const maxScanDefault = 64

// NewMoveCache returns a cache over c for move keys in [0, keys).
func NewMoveCache(c *Checker, keys int) (*MoveCache, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: nil checker", ErrBadInput)
	}
	if keys < 0 {
		return nil, fmt.Errorf("%w: %d move keys", ErrBadInput, keys)
	}
	return &MoveCache{c: c, keys: make([]moveKey, keys), maxScan: maxScanDefault, orders: map[r3.Vector][]uint16{}}, nil
}

// Checker returns the cache's checker.
func (m *MoveCache) Checker() *Checker { return m.c }

// Stats returns the counters since creation.
func (m *MoveCache) Stats() MoveCacheStats { return m.stats }

// recs returns the axis records of key for the move a → b, resetting them
// when the move or the static world changed. nil for keys out of range.
func (m *MoveCache) recs(key int, a, b r3.Vector) []axisRec {
	if key < 0 || key >= len(m.keys) {
		return nil
	}
	k := &m.keys[key]
	gen := m.c.w.staticGen + 1
	if k.gen != gen || k.a != a || k.b != b {
		if k.ax == nil {
			k.ax = make([]axisRec, len(m.c.axes))
		} else {
			clear(k.ax)
		}
		k.a, k.b, k.gen = a, b, gen
	}
	return k.ax
}

// Free reports whether the move of the tip from a to b (bed frame, mm) at
// candidate axis index i is collision-free: exactly Checker.MoveFree(a, b,
// Axes()[i]).
func (m *MoveCache) Free(key int, a, b r3.Vector, i int) bool {
	c := m.c
	recs := m.recs(key, a, b)
	if recs == nil || !finiteVec(a) || !finiteVec(b) {
		return c.MoveFree(a, b, c.axes[i])
	}
	return m.free(&recs[i], a, b, i)
}

func (m *MoveCache) free(r *axisRec, a, b r3.Vector, i int) bool {
	c, w := m.c, m.c.w
	if r.static {
		m.stats.Blocked++
		return false
	}
	if r.blockSerial != 0 {
		if s := &w.slots[r.blockSlot]; s.live && s.serial == r.blockSerial {
			m.stats.Blocked++
			return false
		}
		r.blockSerial = 0
	}
	if r.freeAt != 0 {
		if r.freeAt == w.serial+1 {
			m.stats.Scanned++
			return true
		}
		since := r.freeAt - 1
		// struts added after `since`: the top of the add log
		top := len(w.log)
		for top > 0 && w.log[top-1].serial > since {
			top--
		}
		if n := len(w.log) - top; n <= m.maxScan {
			m.stats.Scanned++
			sh := &c.sh
			sh.set(c.head, a, b, c.axes[i])
			box := sh.Bounds()
			for _, en := range w.log[top:] {
				if !w.liveEntry(en) {
					continue
				}
				m.stats.ScanTest++
				if c.strutHits(&w.slots[en.slot], box) {
					r.blockSlot, r.blockSerial = en.slot, en.serial
					return false
				}
			}
			r.freeAt = w.serial + 1
			return true
		}
	}
	m.stats.Full++
	h, hit := c.MoveHit(a, b, c.axes[i])
	if !hit {
		r.freeAt = w.serial + 1
		return true
	}
	switch {
	case h.Kind == HitStrut && c.hitSlot >= 0:
		r.blockSlot, r.blockSerial = c.hitSlot, w.slots[c.hitSlot].serial
	case h.Kind == HitBed || h.Kind == HitObstacle:
		r.static = true
	}
	return false
}

// order returns the axis indices by increasing angle from prev (ties by
// index): the order Checker.BestAccept tests them in.
func (m *MoveCache) order(prev r3.Vector) ([]uint16, r3.Vector) {
	if !finiteVec(prev) || prev.Norm2() == 0 {
		prev = ez
	}
	p := prev.Normalize()
	if o, ok := m.orders[prev]; ok {
		return o, p
	}
	axes := m.c.axes
	cosv := make([]float64, len(axes))
	o := make([]uint16, len(axes))
	for i, ax := range axes {
		cosv[i] = ax.Dot(p)
		o[i] = uint16(i)
	}
	sort.SliceStable(o, func(x, y int) bool { return cosv[o[x]] > cosv[o[y]] })
	if len(m.orders) >= 4096 {
		clear(m.orders)
	}
	m.orders[prev] = o
	return o, p
}

// BestAccept is Checker.BestAccept for the move with the given key: the
// collision-free axis with the smallest rotation from prev that accept
// approves. It calls accept for the same axes in the same order and
// returns the same result.
func (m *MoveCache) BestAccept(key int, a, b, prev r3.Vector, accept func(Orientation) bool) (Orientation, bool) {
	c := m.c
	recs := m.recs(key, a, b)
	if recs == nil || !finiteVec(a) || !finiteVec(b) || len(c.axes) > 1<<16 {
		return c.BestAccept(a, b, prev, accept)
	}
	order, p := m.order(prev)
	for _, k16 := range order {
		k := int(k16)
		if !m.free(&recs[k], a, b, k) {
			continue
		}
		o := Orientation{Index: k, Axis: c.axes[k], AngleRad: geom.AngleBetween(p, c.axes[k])}
		if accept == nil || accept(o) {
			return o, true
		}
	}
	return Orientation{}, false
}
