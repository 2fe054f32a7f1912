package ir

import (
	"math"
	"math/bits"
	"math/rand"
	"sort"
	"testing"
)

func TestSegmentCrossAndT(t *testing.T) {
	g := NewGraph(1e-3)
	g.AddLine(Vec{-1, 0}, Vec{1, 0}, 1, 0, false)    // horizontal
	g.AddLine(Vec{0, -1}, Vec{0, 1}, 1, 1, false)    // vertical: crosses at the origin
	g.AddLine(Vec{0.5, 0}, Vec{0.5, 2}, 1, 2, false) // T: starts on the horizontal
	added := g.Segment()
	// horizontal → 3 pieces (at 0 and 0.5), vertical → 2.
	if added != 3 || len(g.Edges) != 6 {
		t.Fatalf("added %d, edges %d", added, len(g.Edges))
	}
	checkPartition(t, g, 3)
	deg := g.Degrees()
	o := g.Vertex(Vec{0, 0})
	tj := g.Vertex(Vec{0.5, 0})
	if deg[o] != 4 || deg[tj] != 3 {
		t.Errorf("degree at crossing %d (want 4), at T %d (want 3)", deg[o], deg[tj])
	}
}

func TestSegmentSkipsParallelAndTouching(t *testing.T) {
	g := NewGraph(1e-3)
	g.AddLine(Vec{0, 0}, Vec{10, 0}, 1, 0, false)
	g.AddLine(Vec{2, 0.0002}, Vec{8, 0.0009}, 1, 1, false) // overlapping, nearly parallel
	g.AddLine(Vec{10, 0}, Vec{10, 5}, 1, 2, false)         // shares an endpoint
	g.AddLine(Vec{20, 0}, Vec{30, 0}, 1, 3, false)         // far away
	if added := g.Segment(); added != 0 {
		t.Fatalf("split %d edges that should not be split", added)
	}
}

// checkPartition verifies that the pieces of every source cover [0,1]
// exactly once.
func checkPartition(t *testing.T, g *Graph, nSrc int) {
	t.Helper()
	type iv struct{ a, b float64 }
	by := map[int32][]iv{}
	for _, e := range g.Edges {
		by[e.Src] = append(by[e.Src], iv{e.T0, e.T1})
	}
	if len(by) != nSrc {
		t.Fatalf("%d sources, want %d", len(by), nSrc)
	}
	for s, ivs := range by {
		sort.Slice(ivs, func(i, j int) bool { return ivs[i].a < ivs[j].a })
		cur := 0.0
		for _, x := range ivs {
			if x.a != cur || !(x.b > x.a) {
				t.Fatalf("source %d: pieces %v do not partition [0,1]", s, ivs)
			}
			cur = x.b
		}
		if cur != 1 {
			t.Fatalf("source %d: pieces end at %v", s, cur)
		}
	}
}

func TestSegmentRandomPartitionAndCrossings(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	g := NewGraph(1e-3)
	var a, b []Vec
	for i := 0; i < 300; i++ {
		p := Vec{rng.Float64() * 50, rng.Float64() * 50}
		q := Vec{p[0] + (rng.Float64()-0.5)*20, p[1] + (rng.Float64()-0.5)*20}
		p, q = g.Snap(p), g.Snap(q)
		g.AddLine(p, q, 1, int32(i), false)
		a, b = append(a, p), append(b, q)
	}
	g.Segment()
	checkPartition(t, g, 300)
	// Brute force: every proper crossing at an angle above 10° must be a
	// vertex of both segments after segmentation.
	crossings := 0
	for i := range a {
		for j := i + 1; j < len(a); j++ {
			ui, uj := unit(b[i].sub(a[i])), unit(b[j].sub(a[j]))
			if math.Abs(ui.cross(uj)) < minSplitSin || !ProperCross(a[i], b[i], a[j], b[j], 5e-4) {
				continue
			}
			ti, _, ok := intersect(a[i], b[i], a[j], b[j])
			if !ok {
				continue
			}
			crossings++
			x := g.Snap(lerp(a[i], b[i], ti))
			slot, ok := g.index.find(g.key(x))
			v := g.index.vals[slot]
			if !ok {
				t.Fatalf("crossing %d×%d at %v not a vertex", i, j, x)
			}
			n := 0
			for _, e := range g.Edges {
				if (e.Src == int32(i) || e.Src == int32(j)) && (e.U == v || e.V == v) {
					n++
				}
			}
			if n < 4 {
				t.Fatalf("crossing %d×%d: %d incident pieces, want 4", i, j, n)
			}
		}
	}
	if crossings < 50 {
		t.Fatalf("only %d crossings in the random set", crossings)
	}
}

func TestSegIndexCrossesMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	var a, b []Vec
	for i := 0; i < 400; i++ {
		p := Vec{rng.Float64() * 100, rng.Float64() * 100}
		a = append(a, p)
		b = append(b, Vec{p[0] + (rng.Float64()-0.5)*10, p[1] + (rng.Float64()-0.5)*10})
	}
	var idx SegIndex
	idx.Build(a, b, 0)
	for k := 0; k < 500; k++ {
		p := Vec{rng.Float64() * 100, rng.Float64() * 100}
		q := Vec{rng.Float64() * 100, rng.Float64() * 100}
		want := TravelCrosses(p, q, a, b, 1e-6)
		if got := idx.Crosses(p, q, 1e-6, nil); got != want {
			t.Fatalf("query %v→%v: index %v, brute force %v", p, q, got, want)
		}
	}
	// Touching at an endpoint is not a crossing.
	if ProperCross(Vec{0, 0}, Vec{1, 0}, Vec{1, 0}, Vec{1, 1}, 1e-6) || ProperCross(Vec{0, 0}, Vec{2, 0}, Vec{1, 0}, Vec{1, 1}, 1e-6) {
		t.Error("touching counted as crossing")
	}
	if !ProperCross(Vec{0, 0}, Vec{2, 0}, Vec{1, -1}, Vec{1, 1}, 1e-6) {
		t.Error("crossing missed")
	}
}

// optimalMatching is the minimum perfect matching by dynamic programming
// over subsets (n ≤ 16).
func optimalMatching(pts []Vec) float64 {
	n := len(pts)
	full := 1<<n - 1
	memo := make([]float64, 1<<n)
	for i := range memo {
		memo[i] = -1
	}
	var f func(mask int) float64
	f = func(mask int) float64 {
		if mask == full {
			return 0
		}
		if memo[mask] >= 0 {
			return memo[mask]
		}
		i := bits.TrailingZeros(uint(^mask))
		best := math.Inf(1)
		for j := i + 1; j < n; j++ {
			if mask&(1<<j) == 0 {
				best = math.Min(best, dist(pts[i], pts[j])+f(mask|1<<i|1<<j))
			}
		}
		memo[mask] = best
		return best
	}
	return f(0)
}

func TestMatchAgainstOptimum(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	var sumG, sumI, sumO float64
	improvedOptimal := 0
	const trials = 200
	for k := 0; k < trials; k++ {
		n := 2 * (2 + rng.Intn(6)) // 4..14 points
		pts := make([]Vec, n)
		for i := range pts {
			pts[i] = Vec{rng.Float64() * 20, rng.Float64() * 20}
		}
		pg, cg := Match(pts, Greedy)
		pi, ci := Match(pts, Improved)
		opt := optimalMatching(pts)
		for _, p := range [][]int32{pg, pi} {
			for i, j := range p {
				if j < 0 || p[j] != int32(i) || j == int32(i) {
					t.Fatalf("not a perfect matching: %v", p)
				}
			}
		}
		if cg < opt-1e-9 || ci < opt-1e-9 {
			t.Fatalf("matching shorter than the optimum: %v %v < %v", cg, ci, opt)
		}
		if ci > cg+1e-9 {
			t.Fatalf("improved %v longer than greedy %v", ci, cg)
		}
		if ci < opt+1e-9 {
			improvedOptimal++
		}
		sumG += cg
		sumI += ci
		sumO += opt
	}
	t.Logf("greedy %.2f%% above optimum, improved %.2f%% (optimal in %d/%d)",
		(sumG/sumO-1)*100, (sumI/sumO-1)*100, improvedOptimal, trials)
	if !(sumI < sumG) {
		t.Errorf("improvement never helped: %v vs %v", sumI, sumG)
	}
}

func TestMatchGreedyIsClosestPairFirst(t *testing.T) {
	// Four points on a line: greedy takes the close middle pair first and
	// is then forced into the long outer pair; the optimum pairs
	// neighbours.
	pts := []Vec{{0, 0}, {1.1, 0}, {2, 0}, {3.1, 0}}
	p, c := Match(pts, Greedy)
	if p[1] != 2 || math.Abs(c-(0.9+3.1)) > 1e-9 {
		t.Errorf("greedy pairs %v cost %v", p, c)
	}
	p, c = Match(pts, Improved)
	if p[0] != 1 || math.Abs(c-2.2) > 1e-9 {
		t.Errorf("improved pairs %v cost %v", p, c)
	}
}

func TestPlanZigzagOptimum(t *testing.T) {
	// n parallel lines 0.5 mm apart starting at the start point: the best
	// order alternates direction with (n−1) travels of 0.5 mm.
	for _, m := range []Matching{Greedy, Improved} {
		g := NewGraph(1e-3)
		const n = 25
		for i := 0; i < n; i++ {
			y := float64(i) * 0.5
			g.AddLine(Vec{0, y}, Vec{10, y}, 1, int32(i), false)
		}
		steps, st := g.Plan(Vec{0, 0}, PlanOptions{Matching: m, Improve: true})
		if !g.CheckPlan(steps) {
			t.Fatal("plan does not use every edge once")
		}
		if want := (n - 1) * 0.5; math.Abs(st.TravelMM-want) > 1e-9 {
			t.Errorf("%v: travel %v want %v", m, st.TravelMM, want)
		}
	}
}

func TestPlanEulerianNoTravel(t *testing.T) {
	// A figure eight (two squares sharing a vertex) and a triangle
	// attached by a path of even degree: one Euler circuit each, no
	// travel inside a component.
	g := NewGraph(1e-3)
	sq := func(x0, y0 float64, key uint64) {
		p := []Vec{{x0, y0}, {x0 + 1, y0}, {x0 + 1, y0 + 1}, {x0, y0 + 1}}
		for i := range p {
			g.AddLine(p[i], p[(i+1)%4], key, int32(len(g.Edges)), false)
		}
	}
	sq(0, 0, 1)
	sq(1, 1, 2)
	steps, st := g.Plan(Vec{0, 0}, PlanOptions{Matching: Improved, Improve: true})
	if !g.CheckPlan(steps) || st.TravelMM != 0 || st.OddVertices != 0 {
		t.Fatalf("figure eight: ok=%v travel %v odd %d", g.CheckPlan(steps), st.TravelMM, st.OddVertices)
	}
	// Consecutive steps share vertices.
	for i := 1; i < len(steps); i++ {
		if g.From(steps[i]) != g.To(steps[i-1]) {
			t.Fatalf("step %d does not continue the trail", i)
		}
	}
}

func TestPlanHeuristicStraightAndSameSettings(t *testing.T) {
	// Plus shape after segmentation: whenever the tour passes through the
	// centre it continues straight (least direction change).
	g := NewGraph(1e-3)
	g.AddLine(Vec{-1, 0}, Vec{1, 0}, 1, 0, false)
	g.AddLine(Vec{0, -1}, Vec{0, 1}, 1, 1, false)
	g.Segment()
	centre := g.Vertex(Vec{0, 0})
	steps, _ := g.Plan(Vec{-1, 0}, PlanOptions{Matching: Greedy})
	passes := 0
	for i := 1; i < len(steps); i++ {
		if g.To(steps[i-1]) != centre || g.From(steps[i]) != centre {
			continue
		}
		passes++
		in := g.Pts[centre].sub(g.Pts[g.From(steps[i-1])])
		out := g.Pts[g.To(steps[i])].sub(g.Pts[centre])
		if unit(in).dot(unit(out)) < 0.99 {
			t.Errorf("plus: turned at the centre: %v", steps)
		}
	}
	if passes != 2 {
		t.Errorf("plus: %d passes through the centre, want 2: %v", passes, steps)
	}
	// Same settings beat a straighter edge: at the centre, arriving on a
	// key-1 edge, the key-1 edge is taken although a key-2 edge continues
	// straight.
	g = NewGraph(1e-3)
	g.AddLine(Vec{-1, 0}, Vec{0, 0}, 1, 0, false)
	g.AddLine(Vec{0, 0}, Vec{1, 0}, 2, 1, false)
	g.AddLine(Vec{0, 0}, Vec{0, 1}, 1, 2, false)
	centre = g.Vertex(Vec{0, 0})
	steps, _ = g.Plan(Vec{-1, 0}, PlanOptions{Matching: Greedy})
	checked := false
	for i := 1; i < len(steps); i++ {
		if g.To(steps[i-1]) == centre && g.From(steps[i]) == centre && g.Edges[steps[i-1].Edge].Key == 1 {
			checked = true
			if g.Edges[steps[i].Edge].Key != 1 {
				t.Errorf("same settings not preferred: %v", steps)
			}
		}
	}
	if !checked {
		t.Errorf("no pass through the centre on a key-1 edge: %v", steps)
	}
}

func TestPlanRandomGraphs(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for k := 0; k < 60; k++ {
		g := NewGraph(1e-3)
		n := 5 + rng.Intn(120)
		var pts []Vec
		for i := 0; i < n/2+2; i++ {
			pts = append(pts, g.Snap(Vec{rng.Float64() * 30, rng.Float64() * 30}))
		}
		for i := 0; i < n; i++ {
			a := pts[rng.Intn(len(pts))]
			b := pts[rng.Intn(len(pts))]
			if a == b {
				continue
			}
			if rng.Intn(10) == 0 { // a seam-locked loop
				g.AddFixed(a, 3, Vec{1, 0}, Vec{1, 0}, uint64(rng.Intn(3)), int32(i), true)
				continue
			}
			g.AddLine(a, b, uint64(rng.Intn(3)), int32(i), false)
		}
		if len(g.Edges) == 0 {
			continue
		}
		if k%2 == 0 {
			g.Segment()
		}
		start := Vec{rng.Float64() * 30, rng.Float64() * 30}
		for _, m := range []Matching{Greedy, Improved} {
			steps, st := g.Plan(start, PlanOptions{Matching: m, Improve: true})
			if !g.CheckPlan(steps) {
				t.Fatalf("graph %d %v: invalid plan", k, m)
			}
			if st.TravelMM > st.TravelEulerMM+1e-9 {
				t.Fatalf("graph %d: run reordering made travel longer: %v > %v", k, st.TravelMM, st.TravelEulerMM)
			}
			if got := g.TravelMM(start, steps); math.Abs(got-st.TravelMM) > 1e-9 {
				t.Fatalf("graph %d: reported travel %v, plan has %v", k, st.TravelMM, got)
			}
			if _, nc := g.Components(); st.Components != nc {
				t.Fatalf("graph %d: reported %d components, Components finds %d", k, st.Components, nc)
			}
		}
	}
}

func TestImproveRunsEndAnchor(t *testing.T) {
	// Two lines; the head must end near (10, 5): the plan should finish
	// with the line that ends there.
	g := NewGraph(1e-3)
	g.AddLine(Vec{0, 0}, Vec{10, 0}, 1, 0, false)
	g.AddLine(Vec{0, 5}, Vec{10, 5}, 1, 1, false)
	end := Vec{10, 5}
	steps, _ := g.Plan(Vec{0, 0}, PlanOptions{Matching: Improved, Improve: true, End: end, HasEnd: true})
	last := steps[len(steps)-1]
	if g.Pts[g.To(last)] != end {
		t.Errorf("plan ends at %v, want %v", g.Pts[g.To(last)], end)
	}
}

func BenchmarkPlanInfillLayer(b *testing.B) {
	// A layer of 4000 infill lines in two crossing directions plus 40
	// perimeter loops of 100 segments.
	build := func() *Graph {
		g := NewGraph(1e-3)
		src := int32(0)
		for i := 0; i < 2000; i++ {
			x := float64(i%100) * 2
			y := float64(i/100) * 10
			g.AddLine(Vec{x, y}, Vec{x + 1.5, y + 1.5}, 1, src, false)
			g.AddLine(Vec{x + 1.5, y}, Vec{x, y + 1.5}, 1, src+1, false)
			src += 2
		}
		for l := 0; l < 40; l++ {
			c := Vec{float64(l%8) * 25, float64(l/8) * 40}
			for k := 0; k < 100; k++ {
				a := 2 * math.Pi * float64(k) / 100
				a2 := 2 * math.Pi * float64(k+1) / 100
				g.AddLine(Vec{c[0] + 5*math.Cos(a), c[1] + 5*math.Sin(a)}, Vec{c[0] + 5*math.Cos(a2), c[1] + 5*math.Sin(a2)}, 2, src, true)
				src++
			}
		}
		return g
	}
	edges := len(build().Edges)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g := build()
		g.Segment()
		g.Plan(Vec{}, PlanOptions{Matching: Improved, Improve: true})
	}
	b.ReportMetric(float64(edges)*float64(b.N)/b.Elapsed().Seconds(), "edges/s")
}

func TestImproveRunsCrossCost(t *testing.T) {
	// Four short strokes, two left and two right of a wall at x = 5. By
	// length alone the tour zigzags across the wall (the strokes are
	// staggered so that the nearest next stroke is always on the other
	// side); with a crossing cost it crosses once.
	g := NewGraph(1e-3)
	g.AddLine(Vec{4.9, 0}, Vec{4.9, 1}, 1, 0, false)
	g.AddLine(Vec{5.1, 1.5}, Vec{5.1, 2.5}, 1, 1, false)
	g.AddLine(Vec{4.9, 3}, Vec{4.9, 4}, 1, 2, false)
	g.AddLine(Vec{5.1, 4.5}, Vec{5.1, 5.5}, 1, 3, false)
	crossings := func(steps []Step) int {
		n := 0
		cur := Vec{4.9, -1}
		for _, s := range steps {
			p := g.Pts[g.From(s)]
			if (cur[0]-5)*(p[0]-5) < 0 {
				n++
			}
			cur = g.Pts[g.To(s)]
		}
		return n
	}
	start := Vec{4.9, -1}
	steps, _ := g.Plan(start, PlanOptions{Matching: Improved, Improve: true})
	plain := crossings(steps)
	g.TravelMMS, g.TravelAccel = 100, 1000
	g.CrossCost = func(a, b Vec) float64 {
		if (a[0]-5)*(b[0]-5) < 0 {
			return 1 // a retraction: 1 s
		}
		return 0
	}
	steps, _ = g.Plan(start, PlanOptions{Matching: Improved, Improve: true})
	if !g.CheckPlan(steps) {
		t.Fatal("invalid plan")
	}
	if got := crossings(steps); got != 1 || plain <= 1 {
		t.Errorf("crossings: %d with the crossing cost (want 1), %d by length", got, plain)
	}
}

// TestImproveRunsMatchesReference holds ImproveRuns (memoised gaps, lower
// bounds before crossing tests, exact don't-look scans) to the plain
// reference implementation: the same plan, step for step, on random layers
// with length costs, time costs, and time plus a crossing cost, with and
// without an end anchor.
func TestImproveRunsMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	for k := 0; k < 120; k++ {
		g := NewGraph(1e-3)
		n := 5 + rng.Intn(150)
		for i := 0; i < n; i++ {
			a := Vec{rng.Float64() * 100, rng.Float64() * 100}
			b := Vec{a[0] + (rng.Float64()-0.5)*12, a[1] + (rng.Float64()-0.5)*12}
			g.AddLine(a, b, uint64(rng.Intn(3)), int32(i), false)
		}
		if k%2 == 0 {
			g.Segment()
		}
		start := Vec{rng.Float64() * 100, rng.Float64() * 100}
		steps, _ := g.Plan(start, PlanOptions{Matching: Improved})
		var end *Vec
		if k%3 != 0 {
			end = &Vec{rng.Float64() * 100, rng.Float64() * 100}
		}
		setCosts(g, min(k%4, 2))
		got := g.ImproveRuns(start, end, append([]Step(nil), steps...))
		want := g.improveRunsRef(start, end, append([]Step(nil), steps...), 0)
		if len(got) != len(want) {
			t.Fatalf("layer %d: %d steps, reference %d", k, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("layer %d (%d runs): step %d is %v, reference %v", k, len(g.Runs(steps))-1, i, got[i], want[i])
			}
		}
	}
}

// TestImprovePairsMatchesReference holds improvePairs (exact don't-look
// scans) to the plain reference: the same pairs on random point sets,
// uniform and clustered, starting from the greedy matching.
func TestImprovePairsMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for k := 0; k < 200; k++ {
		n := 2 * (1 + rng.Intn(300))
		pts := make([]Vec, n)
		for i := range pts {
			if k%2 == 0 {
				pts[i] = Vec{rng.Float64() * 100, rng.Float64() * 100}
			} else { // clusters
				c := float64(rng.Intn(5)) * 20
				pts[i] = Vec{c + rng.NormFloat64(), c + rng.NormFloat64()*3}
			}
		}
		greedy, _ := Match(pts, Greedy)
		got := append([]int32(nil), greedy...)
		want := append([]int32(nil), greedy...)
		improvePairs(pts, got)
		improvePairsRef(pts, want)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("set %d (%d points): partner of %d is %d, reference %d", k, n, i, got[i], want[i])
			}
		}
	}
}

// TestHashTablesAgainstMaps checks the open-addressing tables (vertex index,
// crossing memo) against Go maps over random keys, with growth and reuse.
func TestHashTablesAgainstMaps(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	var vx vertexIndex
	var xc crossCache
	for round := 0; round < 4; round++ {
		vx.reset()
		xc.reset(rng.Intn(50))
		vm := map[[2]int64]int32{}
		xm := map[uint64]float64{}
		for i := 0; i < 5000; i++ {
			k := [2]int64{rng.Int63n(200) - 100, rng.Int63n(200) - 100}
			slot, ok := vx.find(k)
			if want, wok := vm[k]; ok != wok || ok && vx.vals[slot] != want {
				t.Fatalf("round %d: vertex key %v: found %v (%d), map %v (%d)", round, k, ok, vx.vals[slot], wok, want)
			}
			if !ok {
				vx.insert(slot, k, int32(len(vm)))
				vm[k] = int32(len(vm))
			}
			ck := uint64(rng.Int31n(300))<<32 | uint64(rng.Int31n(300))
			v, ok := xc.get(ck)
			if want, wok := xm[ck]; ok != wok || ok && v != want {
				t.Fatalf("round %d: memo key %x: found %v (%v), map %v (%v)", round, ck, ok, v, wok, want)
			}
			if !ok {
				f := rng.Float64()
				xc.put(ck, f)
				xm[ck] = f
			}
		}
	}
}
