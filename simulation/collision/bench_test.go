package collision

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/golang/geo/r3"

	"fabcell/config"
	"fabcell/simulation/geom"
)

// loadBunny reads the Bunny wire frame from testdata and returns its struts
// in a layer-like print order (by the higher end's z, then the lower's).
func loadBunny(tb testing.TB) [][2]r3.Vector {
	tb.Helper()
	read := func(name string) [][]string {
		f, err := os.Open("testdata/" + name)
		if err != nil {
			tb.Fatal(err)
		}
		defer f.Close()
		var rows [][]string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if fs := strings.Fields(sc.Text()); len(fs) > 0 {
				rows = append(rows, fs)
			}
		}
		return rows
	}
	var nodes []r3.Vector
	for _, row := range read("NodeBunny_wireframe.txt") {
		var p [3]float64
		for i := range p {
			v, err := strconv.ParseFloat(row[i], 64)
			if err != nil {
				tb.Fatal(err)
			}
			p[i] = v
		}
		nodes = append(nodes, r3.Vector{X: p[0], Y: p[1], Z: p[2]})
	}
	var struts [][2]r3.Vector
	for _, row := range read("EdgeBunny_wireframe.txt") {
		i, _ := strconv.Atoi(row[0])
		j, _ := strconv.Atoi(row[1])
		a, b := nodes[i], nodes[j]
		if a.Z > b.Z {
			a, b = b, a // print upward
		}
		struts = append(struts, [2]r3.Vector{a, b})
	}
	sort.SliceStable(struts, func(i, j int) bool {
		if struts[i][1].Z != struts[j][1].Z {
			return struts[i][1].Z < struts[j][1].Z
		}
		return struts[i][0].Z < struts[j][0].Z
	})
	return struts
}

// layout is a printed set plus the moves queried against it.
type layout struct {
	printed [][2]r3.Vector
	moves   [][2]r3.Vector
}

// farTiles is the flatness layout: Bunny copy 0 printed up to its first
// `local` struts, the next 32 struts are the queried moves; the other
// N − local printed struts are whole Bunny copies on a 500 mm grid (beyond
// the head's reach of the front), nearest copies first.
func farTiles(bunny [][2]r3.Vector, n, local int) layout {
	l := layout{printed: append([][2]r3.Vector(nil), bunny[:local]...), moves: bunny[local : local+32]}
	for ring := 1; len(l.printed) < n; ring++ {
		for ix := -ring; ix <= ring && len(l.printed) < n; ix++ {
			for iy := -ring; iy <= ring && len(l.printed) < n; iy++ {
				if max(abs(ix), abs(iy)) != ring {
					continue
				}
				off := r3.Vector{X: 500 * float64(ix), Y: 500 * float64(iy)}
				for _, s := range bunny {
					if len(l.printed) == n {
						break
					}
					l.printed = append(l.printed, [2]r3.Vector{s[0].Add(off), s[1].Add(off)})
				}
			}
		}
	}
	return l
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// buildWorld fills a world (and checker with the default configuration).
func buildWorld(tb testing.TB, printed [][2]r3.Vector, cell float64) (*World, *Checker) {
	tb.Helper()
	w, err := NewWorld(Options{CellMM: cell})
	if err != nil {
		tb.Fatal(err)
	}
	cfg := config.Defaults().Wireframe
	for i, s := range printed {
		if err := w.Add(i, s[0], s[1], StrutRadiusMM(cfg)); err != nil {
			tb.Fatal(err)
		}
	}
	c, err := NewCheckerFromConfig(w, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return w, c
}

// bruteChecker does the same narrow phase as Checker without the grid:
// every strut is tried (AABB, bounding capsule, GJK).
type bruteChecker struct {
	head    Head
	struts  []strutSlot
	margin  float64
	sh      headShape
	seg     Segment
	bedZ    float64
	tested  int
	touched int
}

func newBrute(printed [][2]r3.Vector, r, margin float64) *bruteChecker {
	b := &bruteChecker{head: releaseHead(), margin: margin}
	for _, s := range printed {
		b.struts = append(b.struts, strutSlot{a: s[0], b: s[1], r: r, box: geom.SegmentAABB(s[0], s[1], r)})
	}
	return b
}

func (bc *bruteChecker) moveHit(a, b, axis r3.Vector) bool {
	sh := &bc.sh
	sh.set(bc.head, a, b, axis)
	if sh.lowestZ()-bc.bedZ <= bc.margin {
		return true
	}
	box := sh.Bounds().Expand(bc.margin)
	for i := range bc.struts {
		st := &bc.struts[i]
		if !st.box.Overlaps(box) {
			continue
		}
		rm := st.r + bc.margin
		u, v, d := geom.SegmentSegment(st.a, st.b, sh.p0, sh.p1)
		if d > sh.rad+rm {
			continue
		}
		dir := st.a.Add(st.b.Sub(st.a).Mul(u)).Sub(sh.p0.Add(sh.p1.Sub(sh.p0).Mul(v)))
		bc.seg = Segment{A: st.a, B: st.b}
		o := gjkFrom(sh, &bc.seg, dir, true, rm)
		if o.intersect || o.dist <= rm {
			return true
		}
	}
	return false
}

// cpuPerOp reports CPU ns/op next to wall ns/op; call it with defer right
// after ResetTimer: defer cpuPerOp(b)().
func cpuPerOp(b *testing.B) func() {
	start := processCPUns()
	return func() {
		if start > 0 && b.N > 0 {
			b.ReportMetric(float64(processCPUns()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

var sinkBool bool
var sinkInt int

// benchAxes are the tool axes each move is queried at in the
// per-move benchmarks: vertical and three tilts.
var benchAxes = []r3.Vector{ez, tiltedAxis(20*deg, 0), tiltedAxis(40*deg, 2), tiltedAxis(55*deg, 4)}

// BenchmarkMoveQuery: one swept-head test (Eq. 5 at one axis) against N
// printed struts, with the grid and by brute force. The local situation is
// the same for every N (farTiles), so the grid time should stay flat.
func BenchmarkMoveQuery(b *testing.B) {
	bunny := loadBunny(b)
	for _, n := range []int{100, 300, 1000, 3000, 10000} {
		l := farTiles(bunny, n, 100)
		b.Run(fmt.Sprintf("grid/N=%d", n), func(b *testing.B) {
			_, c := buildWorld(b, l.printed, 0)
			b.ResetTimer()
			defer cpuPerOp(b)()
			for i := 0; i < b.N; i++ {
				m := l.moves[i%len(l.moves)]
				sinkBool = c.MoveFree(m[0], m[1], benchAxes[(i/len(l.moves))%len(benchAxes)])
			}
		})
		b.Run(fmt.Sprintf("brute/N=%d", n), func(b *testing.B) {
			bc := newBrute(l.printed, 1, 0.5)
			b.ResetTimer()
			defer cpuPerOp(b)()
			for i := 0; i < b.N; i++ {
				m := l.moves[i%len(l.moves)]
				sinkBool = bc.moveHit(m[0], m[1], benchAxes[(i/len(l.moves))%len(benchAxes)])
			}
		})
	}
}

// BenchmarkCellSize compares grid cell edges on three workloads: one
// swept-head test on the far-tiles layout (N = 10 000), the same on the
// Bunny printed to 1700 struts, and Eq. 6 (Best, 64 axes) on the latter.
func BenchmarkCellSize(b *testing.B) {
	bunny := loadBunny(b)
	far := farTiles(bunny, 10000, 100)
	half := layout{printed: bunny[:1700], moves: bunny[1700:1732]}
	for _, cell := range []float64{10, 20, 40, 80} {
		for _, wl := range []struct {
			name string
			l    layout
		}{{"tiles10000", far}, {"bunny1700", half}} {
			b.Run(fmt.Sprintf("MoveFree/%s/cell=%gmm", wl.name, cell), func(b *testing.B) {
				_, c := buildWorld(b, wl.l.printed, cell)
				b.ResetTimer()
				defer cpuPerOp(b)()
				for i := 0; i < b.N; i++ {
					m := wl.l.moves[i%len(wl.l.moves)]
					sinkBool = c.MoveFree(m[0], m[1], benchAxes[(i/len(wl.l.moves))%len(benchAxes)])
				}
			})
		}
		b.Run(fmt.Sprintf("Best/bunny1700/cell=%gmm", cell), func(b *testing.B) {
			_, c := buildWorld(b, half.printed, cell)
			b.ResetTimer()
			defer cpuPerOp(b)()
			for i := 0; i < b.N; i++ {
				m := half.moves[i%len(half.moves)]
				_, sinkBool = c.Best(m[0], m[1], ez)
			}
		})
	}
}

// BenchmarkBunnyFront: the realistic case, a single Bunny printed in layer
// order up to k struts, the next 32 struts queried. Everything printed is
// within the head's reach, so both grow; the grid skips the struts below
// and beside the head.
func BenchmarkBunnyFront(b *testing.B) {
	bunny := loadBunny(b)
	for _, k := range []int{100, 1000, 1700, 3000} {
		l := layout{printed: bunny[:k], moves: bunny[k : k+32]}
		b.Run(fmt.Sprintf("grid/k=%d", k), func(b *testing.B) {
			_, c := buildWorld(b, l.printed, 0)
			b.ResetTimer()
			defer cpuPerOp(b)()
			for i := 0; i < b.N; i++ {
				m := l.moves[i%len(l.moves)]
				sinkBool = c.MoveFree(m[0], m[1], benchAxes[(i/len(l.moves))%len(benchAxes)])
			}
		})
		b.Run(fmt.Sprintf("brute/k=%d", k), func(b *testing.B) {
			bc := newBrute(l.printed, 1, 0.5)
			b.ResetTimer()
			defer cpuPerOp(b)()
			for i := 0; i < b.N; i++ {
				m := l.moves[i%len(l.moves)]
				sinkBool = bc.moveHit(m[0], m[1], benchAxes[(i/len(l.moves))%len(benchAxes)])
			}
		})
	}
}

// BenchmarkOrientationSearch: Eq. 6 with the default 64 samples on the
// Bunny printed to half (1700 struts), queried at the next 32 struts.
// Best stops at the first free axis in angle order; FreeAxes tests all 64.
func BenchmarkOrientationSearch(b *testing.B) {
	bunny := loadBunny(b)
	for _, n := range []int{1700, 10000} {
		var l layout
		if n == 1700 {
			l = layout{printed: bunny[:1700], moves: bunny[1700:1732]}
		} else {
			l = farTiles(bunny, n, 1700)
		}
		_, c := buildWorld(b, l.printed, 0)
		prev := make([]r3.Vector, len(l.moves))
		for i := range prev {
			prev[i] = ez
			if i > 0 {
				if o, ok := c.Best(l.moves[i-1][0], l.moves[i-1][1], prev[i-1]); ok {
					prev[i] = o.Axis
				}
			}
		}
		b.Run(fmt.Sprintf("Best/N=%d", n), func(b *testing.B) {
			defer cpuPerOp(b)()
			for i := 0; i < b.N; i++ {
				k := i % len(l.moves)
				_, sinkBool = c.Best(l.moves[k][0], l.moves[k][1], prev[k])
			}
		})
		b.Run(fmt.Sprintf("Best-from-vertical/N=%d", n), func(b *testing.B) {
			defer cpuPerOp(b)()
			for i := 0; i < b.N; i++ {
				k := i % len(l.moves)
				_, sinkBool = c.Best(l.moves[k][0], l.moves[k][1], ez)
			}
		})
		var buf []int
		b.Run(fmt.Sprintf("FreeAxes64/N=%d", n), func(b *testing.B) {
			defer cpuPerOp(b)()
			for i := 0; i < b.N; i++ {
				k := i % len(l.moves)
				buf = c.FreeAxes(l.moves[k][0], l.moves[k][1], buf[:0])
				sinkInt = len(buf)
			}
		})
		b.Run(fmt.Sprintf("FreeAxes64-no-blocker-cache/N=%d", n), func(b *testing.B) {
			defer cpuPerOp(b)()
			c.noCache = true
			defer func() { c.noCache = false }()
			for i := 0; i < b.N; i++ {
				k := i % len(l.moves)
				buf = c.FreeAxes(l.moves[k][0], l.moves[k][1], buf[:0])
				sinkInt = len(buf)
			}
		})
		b.Run(fmt.Sprintf("Best-no-blocker-cache/N=%d", n), func(b *testing.B) {
			defer cpuPerOp(b)()
			c.noCache = true
			defer func() { c.noCache = false }()
			for i := 0; i < b.N; i++ {
				k := i % len(l.moves)
				_, sinkBool = c.Best(l.moves[k][0], l.moves[k][1], prev[k])
			}
		})
	}
}

// BenchmarkAddRemove: the planner's apply/undo of one strut.
func BenchmarkAddRemove(b *testing.B) {
	bunny := loadBunny(b)
	w, _ := buildWorld(b, bunny[:3000], 0)
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		s := bunny[3000+i%382]
		if err := w.Add(1<<20, s[0], s[1], 1); err != nil {
			b.Fatal(err)
		}
		w.Remove(1 << 20)
	}
}

// BenchmarkPrimitives: single narrow-phase calls.
func BenchmarkPrimitives(b *testing.B) {
	h := releaseHead()
	swept := h.Swept(v3(0, 0, 10), v3(8, 3, 12), tiltedAxis(30*deg, 1))
	seg := Segment{v3(30, -10, 5), v3(35, 10, 40)}
	b.Run("GJK-distance-head-segment", func(b *testing.B) {
		defer cpuPerOp(b)()
		for i := 0; i < b.N; i++ {
			sinkBool = Distance(swept, seg).Intersect
		}
	})
	b.Run("GJK-within-head-segment", func(b *testing.B) {
		defer cpuPerOp(b)()
		for i := 0; i < b.N; i++ {
			sinkBool = WithinDistance(swept, seg, 1.5)
		}
	})
	c1, c2 := Capsule{v3(0, 0, 0), v3(10, 0, 0), 1}, Capsule{v3(5, 3, -5), v3(5, 3, 5), 1}
	b.Run("capsule-capsule-closed-form", func(b *testing.B) {
		defer cpuPerOp(b)()
		for i := 0; i < b.N; i++ {
			sinkBool = WithinDistance(c1, c2, 0.5)
		}
	})
	box1, _ := NewBox(geom.Pose{R: geom.RotZ(0.3), P: v3(0, 0, 0)}, v3(1, 2, 3))
	box2, _ := NewBox(geom.Pose{R: geom.RotX(0.7), P: v3(2, 1, 2)}, v3(1, 1, 1))
	b.Run("EPA-box-box", func(b *testing.B) {
		defer cpuPerOp(b)()
		for i := 0; i < b.N; i++ {
			_, sinkBool = Penetration(box1, box2)
		}
	})
}

// TestBunnyLayerOrderAgainstBruteForce prints the Bunny in layer order and
// compares, for every 8th strut, the grid-backed Eq. 6 answer with the
// brute-force one (same narrow phase, every strut). It also reports how
// many struts of this naive order have no collision-free axis.
func TestBunnyLayerOrderAgainstBruteForce(t *testing.T) {
	bunny := loadBunny(t)
	step := 8
	if testing.Short() {
		step = 40
	}
	w, c := buildWorld(t, nil, 0)
	bc := newBrute(nil, 1, 0.5)
	axes := c.Axes()
	blocked, checked := 0, 0
	prev := ez
	for i, s := range bunny {
		if i%step == 0 {
			o, ok := c.Best(s[0], s[1], prev)
			best, bestAng := -1, math.Inf(1)
			for k, ax := range axes {
				if bc.moveHit(s[0], s[1], ax) {
					continue
				}
				if ang := geom.AngleBetween(prev, ax); ang < bestAng-1e-15 {
					best, bestAng = k, ang
				}
			}
			if ok != (best >= 0) || ok && o.Index != best {
				t.Fatalf("strut %d: grid %+v ok=%v, brute force axis %d", i, o, ok, best)
			}
			checked++
			if ok {
				prev = o.Axis
			} else {
				blocked++
			}
		}
		if err := w.Add(i, s[0], s[1], 1); err != nil {
			t.Fatal(err)
		}
		bc.struts = append(bc.struts, strutSlot{a: s[0], b: s[1], r: 1, box: geom.SegmentAABB(s[0], s[1], 1)})
	}
	t.Logf("Bunny in layer order: %d of %d checked struts have no collision-free axis among %d", blocked, checked, len(axes))
}

// BenchmarkWorldQueries: generic queries the arm-level check uses, on the
// Bunny printed to 3000 struts.
func BenchmarkWorldQueries(b *testing.B) {
	bunny := loadBunny(b)
	w, _ := buildWorld(b, bunny[:3000], 0)
	link := &Capsule{A: v3(-150, 0, 120), B: v3(-60, 10, 150), R: 45}
	b.Run("CapsuleHit-arm-link", func(b *testing.B) {
		defer cpuPerOp(b)()
		for i := 0; i < b.N; i++ {
			_, sinkBool = w.FirstHit(link, 5, nil)
		}
	})
	box, _ := NewBox(geom.Pose{R: geom.RotZ(0.4), P: v3(0, 0, 120)}, v3(30, 20, 10))
	pbox := &box
	b.Run("FirstHit-box", func(b *testing.B) {
		defer cpuPerOp(b)()
		for i := 0; i < b.N; i++ {
			_, sinkBool = w.FirstHit(pbox, 1, nil)
		}
	})
	b.Run("Nearest-arm-link-100mm", func(b *testing.B) {
		defer cpuPerOp(b)()
		for i := 0; i < b.N; i++ {
			_, sinkBool = w.Nearest(link, 100, nil)
		}
	})
}

// BenchmarkLookaheadSearch is the planners' collision pattern: the Bunny
// printed to 1700 struts; each op applies a branch of 3 struts from the
// front (a different one each op, cycling over 16), runs the Eq. 6 search
// for the next 32 struts of the front (both directions, from the axis the
// previous search chose) and undoes the branch. "checker" searches the
// world every time, "move-cache" goes through MoveCache (identical
// answers, TestMoveCacheMatchesChecker). One op = 64 searches.
func BenchmarkLookaheadSearch(b *testing.B) {
	bunny := loadBunny(b)
	const base = 1700
	for _, cached := range []bool{false, true} {
		name := "checker"
		if cached {
			name = "move-cache"
		}
		b.Run(name, func(b *testing.B) {
			w, c := buildWorld(b, bunny[:base], 0)
			r := StrutRadiusMM(config.Defaults().Wireframe)
			mc, err := NewMoveCache(c, 2*len(bunny))
			if err != nil {
				b.Fatal(err)
			}
			search := func(e, dir int, prev r3.Vector) (Orientation, bool) {
				a, bb := bunny[e][0], bunny[e][1]
				if dir == 1 {
					a, bb = bb, a
				}
				if cached {
					return mc.BestAccept(2*e+dir, a, bb, prev, nil)
				}
				return c.BestAccept(a, bb, prev, nil)
			}
			defer cpuPerOp(b)()
			for i := 0; i < b.N; i++ {
				br := base + 3*(i%16)
				for k := br; k < br+3; k++ {
					if err := w.Add(k, bunny[k][0], bunny[k][1], r); err != nil {
						b.Fatal(err)
					}
				}
				prev := ez
				for e := br + 3; e < br+35; e++ {
					for dir := 0; dir < 2; dir++ {
						if o, ok := search(e, dir, prev); ok {
							prev = o.Axis
						}
					}
				}
				for k := br + 2; k >= br; k-- {
					w.Remove(k)
				}
			}
		})
	}
}
