package wireframe

import (
	"encoding/json"
	"fmt"
	"io"
	"math"

	"fabcell/planners"
	"fabcell/planners/graph"
	"fabcell/robot/ur/script"
)

// Artifacts implements planners.ArtifactProvider.
func (p *Process) Artifacts() []planners.Artifact {
	return []planners.Artifact{
		{Name: "urscript", Help: "URScript program of the plan (def…end, set_tcp, approach/extrude/retract per strut, home moves)", Write: p.writeURScript},
		{Name: "plot", Help: "PNG: toolpath coloured by order and the displacement curve over the sequence", Write: p.writePlot, Partial: true},
		{Name: "report", Help: "JSON per-strut report (head axis, tilt, yaw, status, d_max) and unreachable struts with reasons", Write: p.writeReport, Partial: true},
	}
}

// resultSession returns a session holding r's moves: r.Session when it is
// a wire-frame session whose moves are r.Moves, else a fresh replay.
func (p *Process) resultSession(r *planners.Result) (*Session, error) {
	if s, ok := r.Session.(*Session); ok && sameMoves(s.Moves(), r.Moves) {
		return s, nil
	}
	if r.Graph == nil {
		return nil, fmt.Errorf("wireframe: result has no graph")
	}
	s, err := p.Open(r.Graph)
	if err != nil {
		return nil, err
	}
	if len(r.Moves) == 0 {
		return s, nil
	}
	if err := s.Begin(r.Moves[0].From); err != nil {
		return nil, err
	}
	for i, m := range r.Moves {
		if err := s.checkMove(m); err != nil {
			return nil, fmt.Errorf("wireframe: move %d: %w", i, err)
		}
		s.Apply(m)
	}
	return s, nil
}

func sameMoves(a, b []planners.Move) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].From != b[i].From || a[i].To != b[i].To || a[i].Kind != b[i].Kind || a[i].Edge != b[i].Edge {
			return false
		}
	}
	return true
}

// checkMove validates a foreign move against the current state.
func (s *Session) checkMove(m planners.Move) error {
	n := s.G.NumNodes()
	if m.From != s.Current() {
		return fmt.Errorf("starts at node %d, the tool is at node %d", m.From, s.Current())
	}
	if m.To < 0 || m.To >= n {
		return fmt.Errorf("node %d out of range [0,%d)", m.To, n)
	}
	switch m.Kind {
	case planners.Print, planners.Travel:
		e, ok := s.G.EdgeBetween(m.From, m.To)
		if !ok || e != m.Edge {
			return fmt.Errorf("%s %d→%d is not along edge %d", m.Kind, m.From, m.To, m.Edge)
		}
		if m.Kind == planners.Print && s.Passes(e) > 0 {
			return fmt.Errorf("prints strut %d a second time", e)
		}
	case planners.Jump:
	default:
		return fmt.Errorf("unknown move kind %v", m.Kind)
	}
	return nil
}

// WriteURScript writes a complete URScript program for moves on g: a
// comment header, set_tcp, feed and extruder setup, a joint move home,
// every move's steps (see Motions), a lift and a joint move home. The
// program name is "fabcell_" + the job name, sanitised to a URScript
// identifier; user text only appears in sanitised comments.
func (p *Process) WriteURScript(w io.Writer, g *graph.Graph, moves []planners.Move, job string) error {
	mo, err := p.NewMotions(g)
	if err != nil {
		return err
	}
	prog := script.NewProgram("fabcell_" + job)
	s := mo.Session()
	bf, src := s.BedFrame()
	prog.Comment(fmt.Sprintf("fabcell wire-frame program: model %s, %d struts, %d moves", g.Name, g.NumEdges(), len(moves)))
	rv := bf.RotVec()
	prog.Comment(fmt.Sprintf("bed frame (%s) in base: origin (%.3f, %.3f, %.3f) mm, rotation vector (%.6f, %.6f, %.6f) rad", src, bf.P.X, bf.P.Y, bf.P.Z, rv.X, rv.Y, rv.Z))
	if b, ok := s.ArmBranch(); ok {
		prog.Comment("arm configuration: " + b.String())
	}
	prog.SetTCP(mo.ToolOffset())
	var steps []Step
	steps = append(steps, mo.Start()...)
	last := -2
	for i, m := range moves {
		st, err := mo.Next(m)
		if err != nil {
			return err
		}
		for _, x := range st {
			if x.Collides {
				return fmt.Errorf("wireframe: move %d (%s %d→%d): %s collides; refusing to write a program that would crash the head or arm", i, m.Kind, m.From, m.To, x.Note)
			}
		}
		steps = append(steps, st...)
	}
	fin, err := mo.Finish()
	if err != nil {
		return err
	}
	steps = append(steps, fin...)
	for _, st := range steps {
		if st.Move != last && st.Move >= 0 {
			m := moves[st.Move]
			if m.Kind == planners.Print {
				prog.Comment(fmt.Sprintf("move %d: print strut %d (%d -> %d)", st.Move, m.Edge, m.From, m.To))
			} else {
				prog.Comment(fmt.Sprintf("move %d: %s %d -> %d", st.Move, m.Kind, m.From, m.To))
			}
		}
		last = st.Move
		switch st.Kind {
		case StepMoveJ:
			prog.MoveJ(roundJoints(st.Joints), st.Motion)
		case StepMoveL:
			prog.MoveL(roundPose(script.PoseFromGeom(st.TCP)), st.Motion)
		case StepMoveP:
			prog.MoveP(roundPose(script.PoseFromGeom(st.TCP)), st.Motion)
		case StepExtrude:
			prog.SetToolDigitalOut(st.Output, st.On)
		case StepFeed:
			prog.SetStandardAnalogOut(st.Output, st.Fraction)
		case StepDwell:
			prog.Sleep(st.Dwell)
		}
	}
	src2, err := prog.Build()
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, src2)
	return err
}

// roundPose rounds a URScript pose to 0.1 µm and 0.1 µrad (far below the
// UR5e's ±30 µm repeatability) so the program text stays short.
func roundPose(x script.Pose) script.Pose {
	for i := range x {
		x[i] = math.Round(x[i]*1e7) / 1e7
	}
	return x
}

// roundJoints rounds joint angles to 0.1 µrad.
func roundJoints(q [6]float64) [6]float64 {
	for i := range q {
		q[i] = math.Round(q[i]*1e7) / 1e7
	}
	return q
}

func (p *Process) writeURScript(w io.Writer, r *planners.Result) error {
	if r.Graph == nil {
		return fmt.Errorf("wireframe: result has no graph")
	}
	return p.WriteURScript(w, r.Graph, r.Moves, r.Graph.Name)
}

// Report is the JSON document of the "report" artifact.
type Report struct {
	Model       string             `json:"model"`
	Struts      int                `json:"struts"`
	BedFrame    string             `json:"bed_frame_source"`
	ArmBranch   string             `json:"arm_branch,omitempty"`
	Metrics     map[string]float64 `json:"metrics"`
	Prints      []PrintReport      `json:"prints"`
	Unreachable []Unreachable      `json:"unreachable"`
}

// PrintReport describes one printed strut.
type PrintReport struct {
	Move    int        `json:"move"`
	Edge    int        `json:"edge"`
	From    int        `json:"from"`
	To      int        `json:"to"`
	Axis    [3]float64 `json:"axis"`
	TiltDeg float64    `json:"tilt_deg"`
	Yaw     int        `json:"yaw"`
	Status  string     `json:"status"`
	Reason  string     `json:"reason,omitempty"`
	DispMM  *float64   `json:"displacement_mm"`
	OverLim bool       `json:"over_limit,omitempty"`
}

func (p *Process) writeReport(w io.Writer, r *planners.Result) error {
	s, err := p.resultSession(r)
	if err != nil {
		return err
	}
	rep, err := s.Report()
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// Report returns the per-strut report of the applied moves.
func (s *Session) Report() (*Report, error) {
	disp, _, err := s.DisplacementSeries()
	if err != nil {
		return nil, err
	}
	bf := ""
	_, bf = s.BedFrame()
	rep := &Report{Model: s.G.Name, Struts: s.G.NumEdges(), BedFrame: bf, Metrics: s.Metrics(), Unreachable: s.Unreachable()}
	if b, ok := s.ArmBranch(); ok {
		rep.ArmBranch = b.String()
	}
	if rep.Unreachable == nil {
		rep.Unreachable = []Unreachable{}
	}
	lim := s.cfg.DisplacementLimitMM()
	k := 0
	for i, m := range s.Moves() {
		if m.Kind != planners.Print {
			continue
		}
		rc := s.recs[i]
		ax := s.p.axes[rc.axis]
		pr := PrintReport{Move: i, Edge: m.Edge, From: m.From, To: m.To, Axis: [3]float64{ax.X, ax.Y, ax.Z},
			TiltDeg: round6(math.Acos(math.Max(-1, math.Min(1, ax.Z))) * 180 / math.Pi), Yaw: int(rc.yaw), Status: rc.status.String()}
		if rc.status == StatusArm {
			pr.Reason = rc.fail.String()
		}
		if k < len(disp) && !math.IsNaN(disp[k]) {
			d := round6(disp[k])
			pr.DispMM = &d
			pr.OverLim = d > lim
		}
		k++
		rep.Prints = append(rep.Prints, pr)
	}
	return rep, nil
}
