package wireframe

import (
	"sort"
	"testing"

	"fabcell/planners"
)

const (
	bunnyPath = "testdata/NodeBunny_wireframe.txt"
	duckPath  = "testdata/NodeDuck_wireframe.txt"
)

// benchState opens model with fea_scope scope and prints the lowest frac
// of its struts bottom-up (each from a supported end, jumping between
// them), the kind of state the planner explores mid-plan.
func benchState(b *testing.B, path, scope string, frac float64) *Session {
	b.Helper()
	cfg := defaults()
	cfg.Wireframe.FEAScope = scope
	if benchLookahead {
		cfg.Wireframe.LookaheadMM = 30
	}
	p := newProc(b, cfg)
	g := load(b, p, path)
	s := open(b, p, g)
	idx := make([]int, g.NumEdges())
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(i, j int) bool { return s.midZ(idx[i]) < s.midZ(idx[j]) })
	if err := s.Begin(s.Starts()[0]); err != nil {
		b.Fatal(err)
	}
	n := int(frac * float64(len(idx)))
	for _, e := range idx {
		if len(s.Moves()) > 0 && countPrints(s) >= n {
			break
		}
		ed := g.Edges[e]
		from := ed.A
		if !s.supported(from) {
			from = ed.B
		}
		if !s.supported(from) || s.skip[e] {
			continue
		}
		if s.Current() != from {
			s.Apply(planners.Move{From: s.Current(), To: from, Kind: planners.Jump, Edge: -1})
		}
		s.Apply(planners.Move{From: from, To: ed.Other(from), Kind: planners.Print, Edge: e})
	}
	return s
}

// frontier returns the candidates at the current node, jumping first when
// there are none.
func frontier(s *Session) []planners.Move {
	c := s.Candidates(nil)
	if len(c) == 0 {
		for _, m := range s.Jump() {
			s.Apply(m)
		}
		c = s.Candidates(nil)
	}
	return c
}

func countPrints(s *Session) int {
	d, _ := s.Tracker.Progress()
	return d
}

var benchLookahead = false

// BenchmarkExploreStepLookahead30 is BenchmarkExploreStep with the
// forward check on (lookahead_mm = 30).
func BenchmarkExploreStepLookahead30(b *testing.B) {
	benchLookahead = true
	defer func() { benchLookahead = false }()
	BenchmarkExploreStep(b)
}

// BenchmarkExploreStep measures what one new prefix costs the planner's
// explorer: Apply two moves (a new printed state: 64 different pairs
// cycle through, more than the FEA session caches), then Candidates and
// Reward of every move from there, then Undo. The process memos are
// cleared each iteration so every state is new, as for a new prefix.
func BenchmarkExploreStep(b *testing.B) {
	for _, model := range []struct{ name, path string }{{"femur", femurPath}, {"bunny", bunnyPath}} {
		for _, scope := range []string{"global", "lsg"} {
			b.Run(model.name+"/"+scope, func(b *testing.B) {
				s := benchState(b, model.path, scope, 0.3)
				pairs := explorePairs(s, 64)
				if len(pairs) == 0 {
					b.Skip("no move pairs at the frontier")
				}
				var buf []planners.Move
				sink := 0.0
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					clear(s.cache)
					clear(s.killMemo)
					clear(s.modeMemo)
					clear(s.frontMemo)
					clear(s.dispMemo)
					s.winOK = false
					pr := pairs[i%len(pairs)]
					for _, m := range pr {
						s.Apply(m)
					}
					buf = s.Candidates(buf[:0])
					for _, c := range buf {
						sink += s.Reward(c)
					}
					for range pr {
						s.Undo()
					}
				}
				b.StopTimer()
				_ = sink
			})
		}
	}
}

// explorePairs collects up to n move sequences of two prints from the
// current state (with the jump chains needed in between).
func explorePairs(s *Session, n int) [][]planners.Move {
	var out [][]planners.Move
	step := func() [][]planners.Move { // one print, jumping first if needed
		var lead []planners.Move
		c := s.Candidates(nil)
		if len(c) == 0 {
			lead = s.Jump()
			for _, m := range lead {
				s.Apply(m)
			}
			c = s.Candidates(nil)
			for range lead {
				s.Undo()
			}
		}
		var seqs [][]planners.Move
		for _, m := range c {
			seqs = append(seqs, append(append([]planners.Move(nil), lead...), m))
		}
		return seqs
	}
	for _, a := range step() {
		for _, m := range a {
			s.Apply(m)
		}
		for _, b := range step() {
			out = append(out, append(append([]planners.Move(nil), a...), b...))
		}
		for range a {
			s.Undo()
		}
	}
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// BenchmarkReward isolates one FEA reward query per scope on a state
// whose analysis is cached (the explorer's repeated candidates).
func BenchmarkRewardCached(b *testing.B) {
	for _, scope := range []string{"global", "lsg"} {
		b.Run("bunny/"+scope, func(b *testing.B) {
			s := benchState(b, bunnyPath, scope, 0.3)
			c := frontier(s)
			if len(c) == 0 {
				b.Skip("no candidates")
			}
			sink := 0.0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				sink += s.Reward(c[i%len(c)])
			}
			_ = sink
		})
	}
}

// BenchmarkOrientation measures Eq. 6 with the arm check for a fresh
// state (no memo): head sweep tests, static arm cache hits, link checks.
func BenchmarkOrientation(b *testing.B) {
	s := benchState(b, bunnyPath, "global", 0.3)
	c := frontier(s)
	if len(c) == 0 {
		b.Skip("no candidates")
	}
	prev := s.curAxis()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := c[i%len(c)]
		o := s.solveOrient(m.Edge, m.From, prev)
		if o.axis < 0 {
			b.Fatal("candidate lost its axis")
		}
	}
}

// BenchmarkArmStatic measures the structure-independent arm check of one
// strut at one axis/yaw (IK at every sample, singularity, speed, links vs
// bed) without its cache.
func BenchmarkArmStatic(b *testing.B) {
	p := newProc(b, defaults())
	g := load(b, p, bunnyPath)
	s := open(b, p, g)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := i % g.NumEdges()
		if i%g.NumEdges() == 0 {
			clear(s.arm.nodeCache)
		}
		if f, _ := s.arm.runStatic(e, 0, 0); f == armUnknown {
			b.Fatal("no result")
		}
	}
}

// BenchmarkOpen measures NewSession on the Bunny: FEA frame (cached after
// the first), static reachability of every strut, starts.
func BenchmarkOpen(b *testing.B) {
	p := newProc(b, defaults())
	g := load(b, p, bunnyPath)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Open(g); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMetrics measures the metrics of a bottom-up Femur order (global
// FEA of every partial structure, robot step replay).
func BenchmarkMetrics(b *testing.B) {
	s := benchState(b, femurPath, "global", 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.metrics, s.dispMM = nil, nil
		if m := s.Metrics(); m["prints"] == 0 {
			b.Fatal("nothing printed")
		}
	}
}
