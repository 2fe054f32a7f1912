package matching

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// bruteMax returns the maximum weight (and, with card, the maximum
// cardinality first) over all matchings of a small graph, by recursion over
// the lowest unmatched vertex.
func bruteMax(n int, edges []Edge, card bool) (bestCard int, bestW int64) {
	adj := make([][]int, n)
	for k, e := range edges {
		adj[e.I] = append(adj[e.I], k)
		adj[e.J] = append(adj[e.J], k)
	}
	used := make([]bool, n)
	bestCard, bestW = -1, 0
	var rec func(v, c int, w int64)
	rec = func(v, c int, w int64) {
		for v < n && used[v] {
			v++
		}
		if v == n {
			better := false
			if card {
				better = c > bestCard || (c == bestCard && w > bestW)
			} else {
				better = bestCard < 0 || w > bestW
			}
			if better {
				bestCard, bestW = c, w
			}
			return
		}
		used[v] = true
		rec(v+1, c, w) // v unmatched
		for _, k := range adj[v] {
			e := edges[k]
			u := e.I + e.J - v
			if !used[u] {
				used[u] = true
				rec(v+1, c+1, w+e.W)
				used[u] = false
			}
		}
		used[v] = false
	}
	rec(0, 0, 0)
	return
}

// bruteMinPerfect is the O(2^n·n) subset DP for the minimum-weight perfect
// matching (−1 when none exists).
func bruteMinPerfect(n int, edges []Edge) int64 {
	const inf = int64(1) << 62
	w := make([][]int64, n)
	for i := range w {
		w[i] = make([]int64, n)
		for j := range w[i] {
			w[i][j] = inf
		}
	}
	for _, e := range edges {
		if e.W < w[e.I][e.J] {
			w[e.I][e.J], w[e.J][e.I] = e.W, e.W
		}
	}
	dp := make([]int64, 1<<n)
	for i := range dp {
		dp[i] = inf
	}
	dp[0] = 0
	for s := 0; s < 1<<n; s++ {
		if dp[s] == inf {
			continue
		}
		i := 0
		for i < n && s&(1<<i) != 0 {
			i++
		}
		if i == n {
			continue
		}
		for j := i + 1; j < n; j++ {
			if s&(1<<j) == 0 && w[i][j] < inf {
				t := s | 1<<i | 1<<j
				dp[t] = min(dp[t], dp[s]+w[i][j])
			}
		}
	}
	if dp[1<<n-1] == inf {
		return -1
	}
	return dp[1<<n-1]
}

func checkMatching(t *testing.T, n int, edges []Edge, mate []int) (card int, w int64) {
	t.Helper()
	best := map[[2]int]int64{}
	has := map[[2]int]bool{}
	for _, e := range edges {
		k := [2]int{min(e.I, e.J), max(e.I, e.J)}
		if !has[k] || e.W > best[k] {
			best[k] = e.W
		}
		has[k] = true
	}
	for v, u := range mate {
		if u < 0 {
			continue
		}
		if u >= n || mate[u] != v {
			t.Fatalf("mate not symmetric at %d: %v", v, mate)
		}
		k := [2]int{min(u, v), max(u, v)}
		if !has[k] {
			t.Fatalf("matched pair %v is not an edge", k)
		}
		if v < u {
			card++
			w += best[k]
		}
	}
	return
}

func randomGraph(rng *rand.Rand, n int, p float64, maxW int64) []Edge {
	var edges []Edge
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if rng.Float64() < p {
				edges = append(edges, Edge{I: i, J: j, W: rng.Int64N(maxW) + 1})
			}
		}
	}
	return edges
}

func TestMaxWeightAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 3000; trial++ {
		n := 2 + rng.IntN(9)
		edges := randomGraph(rng, n, 0.2+0.8*rng.Float64(), []int64{3, 10, 1000}[trial%3])
		for _, card := range []bool{false, true} {
			mate, err := MaxWeight(n, edges, card)
			if err != nil {
				t.Fatal(err)
			}
			c, w := checkMatching(t, n, edges, mate)
			bc, bw := bruteMax(n, edges, card)
			if (card && c != bc) || w != bw {
				t.Fatalf("trial %d n=%d card=%v: got card %d weight %d, brute force %d %d\nedges %v", trial, n, card, c, w, bc, bw, edges)
			}
		}
	}
}

func TestMinWeightPerfectAgainstDP(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 2000; trial++ {
		n := 2 * (1 + rng.IntN(7)) // up to 14 vertices
		p := 1.0
		if trial%2 == 1 {
			p = 0.3 + 0.5*rng.Float64()
		}
		edges := randomGraph(rng, n, p, []int64{2, 50, 100000}[trial%3])
		want := bruteMinPerfect(n, edges)
		mate, got, err := MinWeightPerfect(n, edges)
		if want < 0 {
			if !errors.Is(err, ErrNoPerfect) {
				t.Fatalf("trial %d: no perfect matching exists, got %v %v", trial, mate, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("trial %d: %v (DP optimum %d)", trial, err, want)
		}
		c, _ := checkMatching(t, n, edges, mate)
		if c != n/2 || got != want {
			t.Fatalf("trial %d n=%d: cardinality %d weight %d, DP optimum %d", trial, n, c, got, want)
		}
	}
}

// Euclidean instances exercise many ties-free blossom expansions.
func TestMinWeightPerfectEuclidean(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 200; trial++ {
		n := 16
		xs := make([][2]float64, n)
		for i := range xs {
			xs[i] = [2]float64{rng.Float64() * 100, rng.Float64() * 100}
		}
		var edges []Edge
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				dx, dy := xs[i][0]-xs[j][0], xs[i][1]-xs[j][1]
				edges = append(edges, Edge{I: i, J: j, W: int64((dx*dx + dy*dy) * 1000)})
			}
		}
		want := bruteMinPerfect(n, edges)
		_, got, err := MinWeightPerfect(n, edges)
		if err != nil || got != want {
			t.Fatalf("trial %d: got %d %v, want %d", trial, got, err, want)
		}
	}
}

func TestBadInput(t *testing.T) {
	if _, err := MaxWeight(2, []Edge{{0, 0, 1}}, false); err == nil {
		t.Error("self-loop accepted")
	}
	if _, err := MaxWeight(2, []Edge{{0, 2, 1}}, false); err == nil {
		t.Error("out-of-range vertex accepted")
	}
	if _, _, err := MinWeightPerfect(3, []Edge{{0, 1, 1}, {1, 2, 1}}); !errors.Is(err, ErrNoPerfect) {
		t.Errorf("odd n: %v", err)
	}
	if _, _, err := MinWeightPerfect(2, []Edge{{0, 1, -1}}); err == nil {
		t.Error("negative weight accepted")
	}
	if m, w, err := MinWeightPerfect(0, nil); err != nil || len(m) != 0 || w != 0 {
		t.Errorf("empty: %v %v %v", m, w, err)
	}
}

func BenchmarkMinWeightPerfect132(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	n := 132
	xs := make([][2]float64, n)
	for i := range xs {
		xs[i] = [2]float64{rng.Float64() * 275, rng.Float64() * 275}
	}
	var edges []Edge
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			dx, dy := xs[i][0]-xs[j][0], xs[i][1]-xs[j][1]
			edges = append(edges, Edge{I: i, J: j, W: int64((dx*dx + dy*dy) * 100)})
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := MinWeightPerfect(n, edges); err != nil {
			b.Fatal(err)
		}
	}
}
