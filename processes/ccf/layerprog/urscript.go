package layerprog

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"fabcell/config"
	"fabcell/robot/ur/kin"
	"fabcell/robot/ur/script"
	"fabcell/simulation/geom"

	"github.com/golang/geo/r2"
	"github.com/golang/geo/r3"
)

// URScript for the UR5e-carried dual head.
//
// Every layer point becomes a TCP pose in the robot base frame: the bed
// point (mm) mapped by robot.bed_frame, the tool pointing straight down
// (TCP z = −bed z), metres for the controller. The TCP is robot.tool_offset
// for T0; T1's TCP adds ccf.fiber_offset_mm (a bed-frame vector from T0's
// tip to T1's tip), expressed in the TCP frame. A path is: movel to
// robot.approach_mm above its start at travel speed, movel down, tool
// digital output on (ccf.matrix_tool_output / ccf.fiber_tool_output),
// movep through the points at the tool's feed (ccf.matrix_feed_mm_s,
// ccf.fiber_feed_mm_s) with robot.blend_radius_mm blends (shrunk so that no
// blend exceeds 45% of an adjacent segment; the last point has none, so
// the arm stops there), output off, movel robot.retract_mm up. At the end
// of a fibre stroke the fibre is cut before the arm lifts: by the head
// board (ccf.fiber_cut_gcode, ccf.fiber_cut_output "board") while the arm
// waits cutDwell, or by a cutter on a standard digital output
// (ccf.fiber_cut_output "standard:N"), pulsed for ccf.fiber_cut_pulse_s,
// then the same wait.
//
// Before writing, every pose is solved with the UR5e inverse kinematics
// (kin.IKNear from the previous solution, starting at robot.home_joints_rad,
// joint limits from safety) and checked against safety.workspace and
// safety.min_tcp_height_mm; any failure is an error naming the points.
// A program whose idle nozzle would run into the bed or printed material
// (Program.CheckIdleClearance, travels at min(approach, retract) above the
// lower layer) is refused before that.

// URScriptMeta is the job name (sanitised into the program name) and
// comment text (sanitised).
type URScriptMeta struct {
	Job      string
	Comments []string
}

// URStats are totals of a written motion program.
type URStats struct {
	Poses     int
	Moves     int
	MaxReachM float64 // largest distance of a TCP position from the base axis origin
}

// cutDwell is the pause at the end of a fibre stroke for the cutter.
const cutDwell = 500 * time.Millisecond

// UnreachableError lists layer points the arm cannot reach or that leave
// the safety limits.
type UnreachableError struct {
	Count  int
	Points []string // the first few, described
}

func (e *UnreachableError) Error() string {
	s := fmt.Sprintf("urscript: %d layer point(s) unreachable or outside the safety limits: %s", e.Count, strings.Join(e.Points, "; "))
	if e.Count > len(e.Points) {
		s += fmt.Sprintf("; (+%d more)", e.Count-len(e.Points))
	}
	return s
}

// ErrUnreachable is wrapped by UnreachableError.
var ErrUnreachable = errors.New("unreachable")

func (e *UnreachableError) Unwrap() error { return ErrUnreachable }

func poseMM(p config.Pose) geom.Pose {
	return geom.PoseFromRotVec(r3.Vector{X: p.XMM, Y: p.YMM, Z: p.ZMM}, r3.Vector{X: p.RXRad, Y: p.RYRad, Z: p.RZRad})
}

// ToolTCP returns flange → TCP of tool t in metres.
func ToolTCP(cell config.Cell, t Tool) geom.Pose {
	tcp := poseMM(cell.Robot.ToolOffset)
	if t == Fiber {
		o := cell.CCF.FiberOffsetXYMM
		// the TCP frame points down: its axes in the bed frame are
		// x, −y, −z, so the bed offset (ox, oy, oz) is (ox, −oy, −oz) in it
		tcp = tcp.Mul(geom.Pose{R: geom.Identity(), P: r3.Vector{X: o[0], Y: -o[1], Z: -o[2]}})
	}
	return tcp.Scale(0.001)
}

// TCPPose returns the base → TCP pose (metres) with the nozzle tip at bed
// point p (mm), pointing down.
func TCPPose(cell config.Cell, p r3.Vector) geom.Pose {
	bed := poseMM(cell.Robot.BedFrame)
	return bed.Mul(geom.Pose{R: geom.RotX(math.Pi), P: p}).Scale(0.001)
}

type urWriter struct {
	cell    config.Cell
	prog    *script.Program
	models  [2]*kin.Model
	q       [6]float64
	st      URStats
	bad     int
	badDesc []string
}

func (u *urWriter) check(t Tool, p r3.Vector, what string) script.Pose {
	pose := TCPPose(u.cell, p)
	u.st.Poses++
	u.st.MaxReachM = math.Max(u.st.MaxReachM, pose.P.Norm())
	fail := func(msg string) {
		u.bad++
		if len(u.badDesc) < 5 {
			u.badDesc = append(u.badDesc, fmt.Sprintf("%s at bed (%.3f, %.3f, %.3f) mm = base (%.1f, %.1f, %.1f) mm: %s",
				what, p.X, p.Y, p.Z, pose.P.X*1000, pose.P.Y*1000, pose.P.Z*1000, msg))
		}
	}
	if p.Z < u.cell.Safety.MinTCPHeightMM {
		fail(fmt.Sprintf("below safety.min_tcp_height_mm %v", u.cell.Safety.MinTCPHeightMM))
	}
	if !u.cell.Safety.Workspace.Contains(config.Vec3{pose.P.X * 1000, pose.P.Y * 1000, pose.P.Z * 1000}) {
		fail("outside safety.workspace")
	}
	q, err := u.models[t].IKNear(pose, u.q)
	if err != nil {
		fail(err.Error())
	} else {
		u.q = q
	}
	return script.PoseFromGeom(pose)
}

// blendAt returns the blend radius (m) at point i of pts: the configured
// radius, shrunk to 45% of the shorter adjacent segment; 0 at the ends.
func blendAt(pts []r2.Point, i int, rMM float64) float64 {
	if i <= 0 || i >= len(pts)-1 || rMM <= 0 {
		return 0
	}
	l := math.Min(pts[i].Sub(pts[i-1]).Norm(), pts[i+1].Sub(pts[i]).Norm())
	r := math.Min(rMM, 0.45*l)
	if r < 0.01 {
		return 0
	}
	return r / 1000
}

// WriteURScript writes the program as one URScript program. It fails
// without writing anything when a point is unreachable.
func WriteURScript(w io.Writer, p *Program, cell config.Cell, meta URScriptMeta) (URStats, error) {
	rb, sf, c := cell.Robot, cell.Safety, cell.CCF
	for _, v := range []float64{rb.TravelSpeedMMS, rb.LinearAccelMMS2, rb.JointSpeedRadS, rb.JointAccelRadS2, c.MatrixFeedMMS, c.FiberFeedMMS} {
		if !(v > 0) {
			return URStats{}, fmt.Errorf("urscript: speeds and accelerations must be > 0")
		}
	}
	if err := p.CheckIdleClearance(c.FiberOffsetXYMM, c.MatrixLineWidthMM, c.FiberWidthMM, math.Min(rb.ApproachMM, rb.RetractMM)); err != nil {
		return URStats{}, fmt.Errorf("urscript: %w", err)
	}
	cutOut, ok := c.FiberCutStandardOutput()
	if !ok || !(c.FiberCutPulseS > 0) || c.FiberCutPulseS > 10 {
		return URStats{}, fmt.Errorf("urscript: ccf.fiber_cut_output %q / fiber_cut_pulse_s %g: want board or standard:N (0..7) and a pulse of 0.01..10 s", c.FiberCutOutput, c.FiberCutPulseS)
	}
	u := &urWriter{cell: cell, prog: script.NewProgram("fabcell_ccf_" + meta.Job), q: rb.HomeJointsRad}
	for _, t := range []Tool{Matrix, Fiber} {
		m := kin.UR5e().WithTCP(ToolTCP(cell, t))
		if sf.JointMinRad != sf.JointMaxRad {
			lm, err := m.WithLimits(sf.JointMinRad, sf.JointMaxRad)
			if err != nil {
				return URStats{}, fmt.Errorf("urscript: safety joint limits: %w", err)
			}
			m = lm
		}
		u.models[t] = m
	}
	pr := u.prog
	pr.Comment("fabcell CCF layer program for the UR5e-carried dual-nozzle head (T0 PA matrix, T1 continuous fibre)")
	if meta.Job != "" {
		pr.Comment("job: " + meta.Job)
	}
	for _, cm := range meta.Comments {
		pr.Comment(cm)
	}
	pr.Comment("poses: metres and rotation vectors in the robot base frame; bed frame from robot.bed_frame")
	limit := sf.MaxTCPSpeedMMS
	if !(limit > 0) {
		limit = math.Inf(1)
	}
	spd := func(mms float64) float64 { return math.Min(mms, limit) / 1000 }
	acc := rb.LinearAccelMMS2 / 1000
	travel := script.Motion{Accel: acc, Speed: spd(rb.TravelSpeedMMS)}
	joint := script.Motion{Accel: rb.JointAccelRadS2, Speed: rb.JointSpeedRadS}
	tool := Tool(-1)
	setTool := func(t Tool) {
		if t != tool {
			pr.SetTCP(script.PoseFromGeom(ToolTCP(cell, t)))
			tool = t
		}
	}
	setTool(Matrix)
	pr.MoveJ(rb.HomeJointsRad, joint)
	u.st.Moves++
	for _, l := range p.Layers {
		pr.Comment(fmt.Sprintf("layer %d (%s) z = %.3f mm", l.Index, l.Tool, l.ZMM))
		for pi, pa := range l.Paths {
			if len(pa.Points) < 2 {
				continue
			}
			setTool(pa.Tool)
			out := c.MatrixToolOutput
			feed := c.MatrixFeedMMS
			if pa.Tool == Fiber {
				out, feed = c.FiberToolOutput, c.FiberFeedMMS
			}
			pts := pa.Points
			if pa.Closed {
				pts = append(append([]r2.Point(nil), pts...), pts[0])
			}
			name := func(i int) string {
				return fmt.Sprintf("layer %d %s path %d point %d", l.Index, pa.Kind, pi, i)
			}
			at := func(q r2.Point, dz float64) r3.Vector { return r3.Vector{X: q.X, Y: q.Y, Z: l.ZMM + dz} }
			pr.MoveL(u.check(pa.Tool, at(pts[0], rb.ApproachMM), name(0)+" (approach)"), travel)
			pr.MoveL(u.check(pa.Tool, at(pts[0], 0), name(0)), travel)
			pr.SetToolDigitalOut(out, true)
			mo := script.Motion{Accel: acc, Speed: spd(feed)}
			for i := 1; i < len(pts); i++ {
				mo.BlendM = blendAt(pts, i, rb.BlendRadiusMM)
				pr.MoveP(u.check(pa.Tool, at(pts[i], 0), name(i)), mo)
			}
			pr.SetToolDigitalOut(out, false)
			if pa.Kind == FiberStroke {
				if cutOut >= 0 {
					pr.Comment(fmt.Sprintf("fibre cut: pulse standard digital output %d (ccf.fiber_cut_output)", cutOut))
					pr.SetStandardDigitalOut(cutOut, true)
					pr.Sleep(time.Duration(c.FiberCutPulseS * float64(time.Second)))
					pr.SetStandardDigitalOut(cutOut, false)
				} else {
					pr.Comment("fibre cut by the head board (ccf.fiber_cut_gcode)")
				}
				pr.Sleep(cutDwell)
			}
			pr.MoveL(u.check(pa.Tool, at(pts[len(pts)-1], rb.RetractMM), name(len(pts)-1)+" (retract)"), travel)
			u.st.Moves += len(pts) + 2
		}
	}
	pr.MoveJ(rb.HomeJointsRad, joint)
	u.st.Moves++
	if u.bad > 0 {
		return u.st, &UnreachableError{Count: u.bad, Points: u.badDesc}
	}
	text, err := pr.Build()
	if err != nil {
		return u.st, fmt.Errorf("urscript: %w", err)
	}
	if len(text) > script.MaxProgramBytes {
		return u.st, fmt.Errorf("urscript: program is %d bytes, more than the %d the sender accepts; use fewer layers or the dispatcher", len(text), script.MaxProgramBytes)
	}
	_, err = io.WriteString(w, text)
	return u.st, err
}
