package layerprog

import (
	"fmt"
	"math"

	"github.com/golang/geo/r2"
)

// Idle-nozzle clearance. The two nozzles of the head are rigidly mounted:
// T1's tip sits at T0's tip + ccf.fiber_offset_mm (bed frame, mm). While
// one nozzle prints at the layer's z, the other hangs at z ± offset z, at
// the offset xy. If that tip is lower than material already printed under
// it (or than the bed), the idle nozzle ploughs through the part — e.g. an
// offset z of +0.5 mm (T1 higher) puts T0 0.5 mm under the fibre T1 is
// laying and 0.1 mm into the matrix below a 0.4 mm fibre layer. Such a
// program is refused (there is no nozzle lift to schedule around it).

// ClearanceError names the first place where the idle nozzle would run
// into printed material or the bed.
type ClearanceError struct {
	Layer   int
	Idle    Tool
	At      r2.Point // idle tip xy (bed frame, mm)
	TipZMM  float64  // idle tip z
	TopZMM  float64  // material top there (0 = bed)
	OffsetZ float64
	Travel  bool
}

func (e *ClearanceError) Error() string {
	what := "printed material"
	if e.TopZMM == 0 {
		what = "the bed"
	}
	doing := "printing"
	if e.Travel {
		doing = "travelling"
	}
	return fmt.Sprintf("layer %d: the idle %s nozzle (T%d) would run %.3f mm into %s at bed (%.2f, %.2f) mm while the other one is %s (its tip at z %.3f, top %.3f; ccf.fiber_offset_mm z = %g): the idle nozzle must clear the part",
		e.Layer, e.Idle, int(e.Idle), e.TopZMM-e.TipZMM, what, e.At.X, e.At.Y, doing, e.TipZMM, e.TopZMM, e.OffsetZ)
}

// beadMap indexes printed beads (centreline, half width, top z) in square
// cells for "highest top under a point" queries.
type beadMap struct {
	cell  float64
	cells map[[2]int][]int32
	beads []bead
}

type bead struct {
	a, b  r2.Point
	halfW float64
	topZ  float64
}

func newBeadMap(cellMM float64) *beadMap {
	return &beadMap{cell: cellMM, cells: map[[2]int][]int32{}}
}

func (m *beadMap) key(x, y float64) [2]int {
	return [2]int{int(math.Floor(x / m.cell)), int(math.Floor(y / m.cell))}
}

func (m *beadMap) add(a, b r2.Point, halfW, topZ float64) {
	id := int32(len(m.beads))
	m.beads = append(m.beads, bead{a, b, halfW, topZ})
	// the cells within halfW of the segment: walk it in half-cell steps
	// and take the cells of each step's halfW box (a diagonal segment's
	// bounding box would cover far more cells than it touches)
	n := int(math.Ceil(b.Sub(a).Norm()/(m.cell/2))) + 1
	var last [2]int
	seen := map[[2]int]bool{}
	for i := 0; i <= n; i++ {
		q := a.Add(b.Sub(a).Mul(float64(i) / float64(n)))
		lo := m.key(q.X-halfW-m.cell/2, q.Y-halfW-m.cell/2)
		hi := m.key(q.X+halfW+m.cell/2, q.Y+halfW+m.cell/2)
		for x := lo[0]; x <= hi[0]; x++ {
			for y := lo[1]; y <= hi[1]; y++ {
				k := [2]int{x, y}
				if k == last || seen[k] {
					continue
				}
				seen[k], last = true, k
				m.cells[k] = append(m.cells[k], id)
			}
		}
	}
}

// top returns the highest bead top strictly under p (0 = bare bed).
func (m *beadMap) top(p r2.Point) float64 {
	best := 0.0
	for _, id := range m.cells[m.key(p.X, p.Y)] {
		b := m.beads[id]
		if b.topZ <= best {
			continue
		}
		ab := b.b.Sub(b.a)
		t := 0.0
		if d := ab.Dot(ab); d > 0 {
			t = math.Max(0, math.Min(1, p.Sub(b.a).Dot(ab)/d))
		}
		q := p.Sub(b.a.Add(ab.Mul(t)))
		if q.Dot(q) < b.halfW*b.halfW {
			best = b.topZ
		}
	}
	return best
}

// clearanceTolMM absorbs rounding of written coordinates.
const clearanceTolMM = 1e-6

// CheckIdleClearance walks the program in print order and fails with a
// *ClearanceError when the idle nozzle's tip (offsetMM from T0's tip to
// T1's, bed frame) would be below the bed or below material printed
// earlier, while the active nozzle prints or travels between paths at
// liftMM above the higher of the two layers. Beads are matrixWidthMM and
// fiberWidthMM wide.
func (p *Program) CheckIdleClearance(offsetMM [3]float64, matrixWidthMM, fiberWidthMM, liftMM float64) error {
	off := r2.Point{X: offsetMM[0], Y: offsetMM[1]}
	m := newBeadMap(2)
	const step = 0.5 // sampling along moves, mm (< half the narrowest bead of interest)
	idleOf := func(t Tool) Tool { return 1 - t }
	// idle tip of the nozzle other than active t when t's tip is at (q, z)
	idleTip := func(t Tool, q r2.Point, z float64) (r2.Point, float64) {
		if t == Matrix { // idle T1 = T0 + offset
			return q.Add(off), z + offsetMM[2]
		}
		return q.Sub(off), z - offsetMM[2]
	}
	check := func(l Layer, t Tool, a, b r2.Point, z float64, travel bool) error {
		n := int(math.Ceil(b.Sub(a).Norm()/step)) + 1
		for i := 0; i <= n; i++ {
			q := a.Add(b.Sub(a).Mul(float64(i) / float64(n)))
			ip, iz := idleTip(t, q, z)
			if top := m.top(ip); iz < top-clearanceTolMM || iz < -clearanceTolMM {
				return &ClearanceError{Layer: l.Index, Idle: idleOf(t), At: ip, TipZMM: iz, TopZMM: top, OffsetZ: offsetMM[2], Travel: travel}
			}
		}
		return nil
	}
	var last r2.Point
	lastZ, have := 0.0, false
	for _, l := range p.Layers {
		for _, pa := range l.Paths {
			if len(pa.Points) < 2 {
				continue
			}
			if have {
				if err := check(l, pa.Tool, last, pa.Points[0], math.Min(lastZ, l.ZMM)+liftMM, true); err != nil {
					return err
				}
			}
			pts := pa.Points
			if pa.Closed {
				pts = append(append([]r2.Point(nil), pts...), pts[0])
			}
			hw := matrixWidthMM / 2
			if pa.Tool == Fiber {
				hw = fiberWidthMM / 2
			}
			for i := 1; i < len(pts); i++ {
				if err := check(l, pa.Tool, pts[i-1], pts[i], l.ZMM, false); err != nil {
					return err
				}
				m.add(pts[i-1], pts[i], hw, l.ZMM)
			}
			last, lastZ, have = pts[len(pts)-1], l.ZMM, true
		}
	}
	return nil
}
