// Package ccf is the continuous-carbon-fibre process (paper §4.1.2, §4.2.2;
// spec lsg-dqn.md §2 application 2, §8.2): one continuous fibre stroke over
// a planar lattice graph that covers every edge at least once and at most
// its pass count (2 — the doubled RL3DP edge lists), avoiding sharp turns
// and re-traversals, printed by a dual-nozzle head (T0 PA matrix, T1 flat
// CCF nozzle) carried by a UR5e.
//
// The package provides:
//   - the process "ccf" (planners.RegisterProcess): a Session with the
//     turning-angle reward (Eq. 9), the re-traversal penalty (Eq. 10), the
//     release's U-turn term (Eq. 11 without the planner's D(k)), no jumps,
//     and an exact dead-end guard (guard.go) so planners never lock
//     themselves in;
//   - the baselines "euler" (minimal edge duplication by exact minimum-weight
//     perfect matching of odd nodes, then Hierholzer with the straightest
//     continuation) and "dfs" (time-bounded depth-first search with
//     backtracking that avoids sharp turns, after Huang et al. 2023);
//   - the artifacts "gcode" (Marlin dialect for the dual-nozzle board),
//     "urscript" (the layer program as UR5e motions, every point checked
//     with the arm's inverse kinematics) and "plot" (PNG of the stroke),
//     built from the layer program of package layerprog.
package ccf

import (
	"fmt"
	"io"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"
)

func init() {
	planners.RegisterProcess("ccf", func(cfg config.Cell) (planners.Process, error) { return New(cfg) })
}

// Process is the CCF process.
type Process struct {
	cfg config.Cell
	rp  RewardParams
}

var (
	_ planners.Process          = (*Process)(nil)
	_ planners.ArtifactProvider = (*Process)(nil)
)

// New builds the process from the cell configuration (defaults applied).
func New(cfg config.Cell) (*Process, error) {
	rp, err := ParamsFromConfig(cfg.CCF)
	if err != nil {
		return nil, err
	}
	return &Process{cfg: cfg, rp: rp}, nil
}

// Name implements planners.Process.
func (p *Process) Name() string { return "ccf" }

// Config returns the cell configuration the process was built with.
func (p *Process) Config() config.Cell { return p.cfg }

// Load implements planners.Process: any graph format, read as a planar
// graph (doubled edge lists collapse into pass counts). A model whose
// format carries no multiplicity gets ccf.default_passes (2) on every edge.
func (p *Process) Load(path string) (*graph.Graph, error) {
	kind := graph.Planar
	g, err := graph.Load(path, graph.LoadOptions{Kind: &kind})
	if err != nil {
		return nil, err
	}
	if g.Passes == nil {
		g.Passes = uniformPasses(g.NumEdges(), p.cfg.CCF.DefaultPasses)
	}
	return g, nil
}

func uniformPasses(m, k int) []uint8 {
	k = max(1, min(255, k))
	out := make([]uint8, m)
	for i := range out {
		out[i] = uint8(k)
	}
	return out
}

// NewSession implements planners.Process. The graph must be planar (all z
// equal) and its edges connected. A graph without pass counts is planned
// with ccf.default_passes on every edge (a shallow copy carries them; g is
// not modified).
func (p *Process) NewSession(g *graph.Graph) (planners.Session, error) {
	return p.Session(g)
}

// Session is NewSession with the concrete type.
func (p *Process) Session(g *graph.Graph) (*Session, error) {
	if g.Passes == nil {
		cp := *g
		cp.Passes = uniformPasses(g.NumEdges(), p.cfg.CCF.DefaultPasses)
		g = &cp
	}
	return newSession(g, p.rp, p.cfg.CCF.SharpTurnDeg, p.cfg.CCF.HoleAreaFactor)
}

// Artifacts implements planners.ArtifactProvider.
func (p *Process) Artifacts() []planners.Artifact {
	return []planners.Artifact{
		{Name: "gcode", Help: "layer program (matrix layers + fibre stroke) as Marlin G-code for the dual-nozzle head (T0 matrix, T1 fibre)",
			Write: func(w io.Writer, r *planners.Result) error { return p.writeGCode(w, r) }},
		{Name: "urscript", Help: "layer program as UR5e URScript motions in the robot base frame (every point IK-checked)",
			Write: func(w io.Writer, r *planners.Result) error { return p.writeURScript(w, r) }},
		{Name: "plot", Help: "PNG of the fibre stroke coloured by order, sharp turns marked",
			Write: func(w io.Writer, r *planners.Result) error { return p.writePlot(w, r) }},
	}
}

// resultSession returns the CCF session of a result, replaying its moves
// on a fresh session when the result carries another kind.
func (p *Process) resultSession(r *planners.Result) (*Session, error) {
	if s, ok := r.Session.(*Session); ok {
		return s, nil
	}
	if r.Graph == nil {
		return nil, fmt.Errorf("ccf: result has no graph")
	}
	s, err := p.Session(r.Graph)
	if err != nil {
		return nil, err
	}
	if len(r.Moves) > 0 {
		if _, err := planners.Replay(s, planners.PathOf(r.Moves)); err != nil {
			return nil, err
		}
	}
	return s, nil
}
