package ccf

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	"fabcell/planners"
)

func loadModel(b *testing.B, name string) (*Process, *Session) {
	p := testProcess(b)
	g, err := p.Load("testdata/Node" + name + "_CCF.txt")
	if err != nil {
		b.Fatal(err)
	}
	s, err := p.Session(g)
	if err != nil {
		b.Fatal(err)
	}
	return p, s
}

// BenchmarkCandidates measures Candidates (with the dead-end guard) and
// Reward along a greedy stroke over Gear: one op = one whole stroke
// (≈ 2,900 nodes visited).
func BenchmarkCandidatesGear(b *testing.B) {
	_, s := loadModel(b, "Gear")
	var cands []planners.Move
	steps, checks := 0, 0
	for b.Loop() {
		if err := s.Begin(s.Starts()[0]); err != nil {
			b.Fatal(err)
		}
		s.gd.checks = 0
		for !s.Done() {
			cands = s.Candidates(cands[:0])
			best, bestR := 0, s.Reward(cands[0])
			for i := 1; i < len(cands); i++ {
				if r := s.Reward(cands[i]); r > bestR {
					best, bestR = i, r
				}
			}
			s.Apply(cands[best])
			steps++
		}
		checks += s.gd.checks
	}
	b.ReportMetric(float64(steps)/float64(b.N), "steps/op")
	b.ReportMetric(float64(checks)/float64(b.N), "bridge-tests/op")
}

func benchPlanner(b *testing.B, name, model string) {
	p, s := loadModel(b, model)
	pl, err := planners.NewPlanner(name, planners.Options{Config: p.cfg.Planner, Process: p})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s2, _ := p.Session(s.G)
		if _, err := planners.Run(context.Background(), pl, s2, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEulerGear(b *testing.B)   { benchPlanner(b, "euler", "Gear") }
func BenchmarkDFSGear(b *testing.B)     { benchPlanner(b, "dfs", "Gear") }
func BenchmarkOutlineGear(b *testing.B) { benchOutline(b, "Gear") }

func benchOutline(b *testing.B, model string) {
	_, s := loadModel(b, model)
	for b.Loop() {
		if _, err := ComputeOutline(s.G, 10); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkArtifactsGear writes the G-code and URScript (with the IK check
// of every point) of Gear's euler stroke with the default 2 matrix layers.
func BenchmarkArtifactsGear(b *testing.B) {
	p, s := loadModel(b, "Gear")
	pl, _ := planners.NewPlanner("euler", planners.Options{Config: p.cfg.Planner, Process: p})
	moves, err := planners.Run(context.Background(), pl, s, nil)
	if err != nil {
		b.Fatal(err)
	}
	r := &planners.Result{Process: "ccf", Planner: "euler", Model: "Gear", Graph: s.G, Session: s, Moves: moves, Config: p.cfg}
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := p.writeGCode(&buf, r); err != nil {
			b.Fatal(err)
		}
		if err := p.writeURScript(&buf, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes")
}

// BenchmarkEulerLarge plans a 60×60 jittered lattice (3,721 nodes, about
// 1,900 odd ones: the sparse matching path).
func BenchmarkEulerLarge(b *testing.B) {
	rng := rand.New(rand.NewPCG(41, 42))
	g := gridGraph(b, rng, 60, 60, 0.5, 2)
	for i := range g.Pos {
		g.Pos[i].X += (rng.Float64() - 0.5) * 5
		g.Pos[i].Y += (rng.Float64() - 0.5) * 5
	}
	g.Index()
	p := testProcess(b)
	var odd int
	for b.Loop() {
		s, err := p.Session(g)
		if err != nil {
			b.Fatal(err)
		}
		pl, _ := NewEuler(planners.Options{Config: p.cfg.Planner, Process: p})
		if _, err := planners.Run(context.Background(), pl, s, nil); err != nil {
			b.Fatal(err)
		}
		odd = pl.OddNodes
	}
	b.ReportMetric(float64(odd), "odd-nodes")
}
