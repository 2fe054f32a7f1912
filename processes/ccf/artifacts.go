package ccf

import (
	"fmt"
	"io"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"
	"fabcell/processes/ccf/layerprog"

	"github.com/golang/geo/r2"
)

// cellOf returns the configuration of a result (the process's own when the
// result carries none).
func (p *Process) cellOf(r *planners.Result) config.Cell {
	if r.Config.CCF.LayerHeightMM > 0 {
		return r.Config
	}
	return p.cfg
}

// jobName derives a job name from a result's model path.
func jobName(r *planners.Result) string {
	if r.Model != "" {
		return graph.ModelName(r.Model)
	}
	if r.Graph != nil {
		return r.Graph.Name
	}
	return "ccf"
}

// Region converts the session's outline into the layer region (cleaned
// loops: spikes of dangling edges and collinear points removed).
func (s *Session) Region() (layerprog.Region, error) {
	o, err := s.Outline()
	if err != nil {
		return layerprog.Region{}, fmt.Errorf("layer outline: %w", err)
	}
	reg := layerprog.Region{Outer: layerprog.CleanLoop(o.Outer.Pts, 1e-6)}
	if reg.Outer == nil {
		return reg, fmt.Errorf("layer outline: the outer face of %s encloses no area", s.G.Name)
	}
	for _, h := range o.Holes {
		if l := layerprog.CleanLoop(h.Pts, 1e-6); l != nil {
			reg.Holes = append(reg.Holes, l)
		}
	}
	// a hole meeting the outline (or another hole) at a node is part of
	// one pinched boundary
	return reg.MergeTouching(1e-6), nil
}

// Stroke returns the bed-frame points of the applied path, checking that
// it is one stroke (no jump).
func (s *Session) Stroke() ([]r2.Point, error) {
	ms := s.Moves()
	if len(ms) == 0 {
		return nil, fmt.Errorf("ccf: the plan has no moves")
	}
	pts := make([]r2.Point, 0, len(ms)+1)
	pts = append(pts, r2.Point{X: s.G.Pos[ms[0].From].X, Y: s.G.Pos[ms[0].From].Y})
	for i, m := range ms {
		if m.Kind == planners.Jump || (i > 0 && ms[i-1].To != m.From) {
			return nil, fmt.Errorf("ccf: move %d (%d→%d) breaks the stroke: a CCF layer must be one continuous fibre", i, m.From, m.To)
		}
		q := s.G.Pos[m.To]
		pts = append(pts, r2.Point{X: q.X, Y: q.Y})
	}
	return pts, nil
}

// LayerProgram builds the layer program of a result.
func (p *Process) LayerProgram(r *planners.Result) (*layerprog.Program, *Session, error) {
	s, err := p.resultSession(r)
	if err != nil {
		return nil, nil, err
	}
	set := layerprog.SettingsFromConfig(p.cellOf(r).CCF)
	reg, err := s.Region()
	if err != nil && set.Layers > 0 { // fibre-only programs need no outline
		return nil, nil, err
	}
	stroke, err := s.Stroke()
	if err != nil {
		return nil, nil, err
	}
	prog, err := layerprog.Build(reg, stroke, set)
	if err != nil {
		return nil, nil, fmt.Errorf("ccf: %w", err)
	}
	return prog, s, nil
}

func planComments(r *planners.Result, s *Session) []string {
	m := s.Metrics()
	return []string{
		fmt.Sprintf("planner %s: fibre stroke %.1f mm, %d moves, %g sharp turns (> %.0f deg), %g edges printed twice",
			r.Planner, m["length_mm"], len(s.Moves()), m["sharp_turns"], s.SharpTurnRad()*180/3.141592653589793, m["retraversed_edges"]),
	}
}

func (p *Process) writeGCode(w io.Writer, r *planners.Result) error {
	prog, s, err := p.LayerProgram(r)
	if err != nil {
		return err
	}
	_, err = layerprog.WriteGCode(w, prog, p.cellOf(r).CCF, layerprog.GCodeMeta{Job: jobName(r), Comments: planComments(r, s)})
	return err
}

func (p *Process) writeURScript(w io.Writer, r *planners.Result) error {
	prog, s, err := p.LayerProgram(r)
	if err != nil {
		return err
	}
	_, err = layerprog.WriteURScript(w, prog, p.cellOf(r), layerprog.URScriptMeta{Job: jobName(r), Comments: planComments(r, s)})
	return err
}
