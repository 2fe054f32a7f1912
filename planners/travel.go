package planners

import (
	"math"
	"sort"

	"fabcell/config"
	"fabcell/planners/graph"
)

// TravelProcess is the built-in test process "travel": print every edge
// once while keeping the tool moving continuously. It has no physics, so
// the planner core can be tested and benchmarked alone.
//
// Step reward: a print earns 1 − TurnWeight·θ/π (θ = turning angle at the
// current node, 0 for the first move); a travel or jump costs
// −distance / mean edge length. Maximising the total reward therefore
// minimises jumps, travel distance and turning.
type TravelProcess struct {
	Cfg        config.Cell
	TurnWeight float64
}

func init() {
	RegisterProcess("travel", func(cfg config.Cell) (Process, error) {
		return &TravelProcess{Cfg: cfg, TurnWeight: 0.1}, nil
	})
}

var _ Process = (*TravelProcess)(nil)

// Name implements Process.
func (p *TravelProcess) Name() string { return "travel" }

// Load implements Process: any format, wire-frame grounding rule.
func (p *TravelProcess) Load(path string) (*graph.Graph, error) {
	return graph.Load(path, graph.LoadOptions{GroundZMM: p.Cfg.Wireframe.GroundZMM})
}

// NewSession implements Process.
func (p *TravelProcess) NewSession(g *graph.Graph) (Session, error) {
	return &travelSession{Tracker: NewTracker(g, EdgesOnce), turnW: p.TurnWeight, meanL: math.Max(g.MeanLengthMM(), 1e-9)}, nil
}

type travelSession struct {
	*Tracker
	turnW float64
	meanL float64
}

var (
	_ Session       = (*travelSession)(nil)
	_ RewardBounder = (*travelSession)(nil)
	_ Objective     = (*travelSession)(nil)
)

// ObjectiveCost implements Objective: the negated total step reward of
// the applied moves (the total_reward metric, unrounded), so lower is
// better and the objective is the one the planners maximise.
func (s *travelSession) ObjectiveCost() []float64 {
	total := 0.0
	for i := range s.Moves() {
		total += s.rewardAt(i)
	}
	return []float64{-total}
}

// MaxStepReward implements RewardBounder: a print earns at most 1, travel
// and jump moves are never positive.
func (s *travelSession) MaxStepReward() float64 { return 1 }

// Starts prefers odd-degree nodes (an Euler trail must start at one), then
// lower index.
func (s *travelSession) Starts() []int {
	n := s.G.NumNodes()
	out := make([]int, 0, n)
	for v := 0; v < n; v++ {
		if s.G.Degree(v) > 0 {
			out = append(out, v)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		oi, oj := s.G.Degree(out[i])%2, s.G.Degree(out[j])%2
		return oi > oj
	})
	return out
}

func (s *travelSession) Candidates(dst []Move) []Move { return s.BaseCandidates(dst) }

func (s *travelSession) Reward(m Move) float64 {
	if m.Kind != Print {
		return -s.G.Pos[m.From].Sub(s.G.Pos[m.To]).Norm() / s.meanL
	}
	r := 1.0
	if last, ok := s.LastMove(); ok && last.To == m.From {
		r -= s.turnW * TurnAngle(s.G, last.From, m.From, m.To) / math.Pi
	}
	return r
}

func (s *travelSession) Apply(m Move) { s.ApplyBase(m) }
func (s *travelSession) Undo()        { s.UndoBase() }

// Jump travels over printed edges to the nearest node with an unprinted
// edge, or jumps straight to the Euclidean-nearest such node.
func (s *travelSession) Jump() []Move {
	if s.Done() {
		return nil
	}
	hasOpen := func(v int) bool {
		for _, h := range s.G.Neighbors(v) {
			if s.Remaining(int(h.Edge)) > 0 {
				return true
			}
		}
		return false
	}
	if tr := s.TravelPathToNearest(hasOpen, 3); tr != nil {
		return tr
	}
	best, bestD := -1, math.Inf(1)
	for v := 0; v < s.G.NumNodes(); v++ {
		if v == s.Current() || !hasOpen(v) {
			continue
		}
		if d := s.G.Pos[v].Sub(s.G.Pos[s.Current()]).Norm2(); d < bestD {
			best, bestD = v, d
		}
	}
	if best < 0 {
		return nil
	}
	return []Move{{From: s.Current(), To: best, Kind: Jump, Edge: -1}}
}

func (s *travelSession) Metrics() map[string]float64 {
	m := s.BaseMetrics()
	total, turns := 0.0, 0.0
	ms := s.Moves()
	for i, mv := range ms {
		total += s.rewardAt(i)
		if i > 0 && ms[i-1].To == mv.From && mv.Kind == Print && ms[i-1].Kind == Print {
			turns += TurnAngle(s.G, ms[i-1].From, mv.From, mv.To)
		}
	}
	m["total_reward"] = round6(total)
	m["turn_deg_total"] = round6(turns * 180 / math.Pi)
	return m
}

// rewardAt recomputes the reward of move i in its original context.
func (s *travelSession) rewardAt(i int) float64 {
	ms := s.Moves()
	m := ms[i]
	if m.Kind != Print {
		return -s.G.Pos[m.From].Sub(s.G.Pos[m.To]).Norm() / s.meanL
	}
	r := 1.0
	if i > 0 && ms[i-1].To == m.From {
		r -= s.turnW * TurnAngle(s.G, ms[i-1].From, m.From, m.To) / math.Pi
	}
	return r
}
