package wireframe

import (
	"fmt"
	"math"
	"sync"

	"github.com/golang/geo/r3"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"
	"fabcell/robot/ur/kin"
	"fabcell/simulation/collision"
	"fabcell/simulation/fea"
	"fabcell/simulation/geom"
)

// Name is the process's registry name.
const Name = "wireframe"

func init() {
	planners.RegisterProcess(Name, func(cfg config.Cell) (planners.Process, error) { return New(cfg) })
}

// Process is the robotic wire-frame printing process (paper §4.1.1,
// §4.2.1): a UR5e carries an extrusion head and prints every strut of a
// graph exactly once along its straight line. It implements
// planners.Process and planners.ArtifactProvider.
//
// A Process is immutable after New and safe for concurrent use; each
// Session it creates is single-goroutine.
type Process struct {
	cfg    config.Cell
	head   collision.Head
	axes   []r3.Vector // candidate head axes, bed frame; axes[0] = +z
	feaOpt fea.FrameOptions
	arm    *kin.Model // UR5e with tool offset and joint limits (metres)

	mu     sync.Mutex
	frames map[*graph.Graph]*fea.Frame

	// reference modes (tests): sessions factorise every printed set
	// (fea MaxDelta −1) / run every swept-head and arm-link test against
	// the world (no MoveCache, no linksClear memo)
	noDelta, noMoveCache bool
}

var (
	_ planners.Process          = (*Process)(nil)
	_ planners.ArtifactProvider = (*Process)(nil)
)

// New builds the process from a validated cell configuration.
func New(cfg config.Cell) (*Process, error) {
	w := cfg.Wireframe
	head, err := collision.HeadFromConfig(w)
	if err != nil {
		return nil, fmt.Errorf("wireframe: %w", err)
	}
	axes, err := collision.FibonacciAxes(w.OrientationSamples, w.MaxTiltDeg*math.Pi/180)
	if err != nil {
		return nil, fmt.Errorf("wireframe: %w", err)
	}
	fo, err := fea.OptionsFromConfig(w)
	if err != nil {
		return nil, fmt.Errorf("wireframe: %w", err)
	}
	if cfg.Robot.Model != "ur5e" {
		return nil, fmt.Errorf("wireframe: robot.model %q: only ur5e kinematics ship", cfg.Robot.Model)
	}
	if w.YawSamples < 1 || w.YawSamples > 360 || !(w.ArmSampleMM > 0) {
		return nil, fmt.Errorf("wireframe: yaw_samples %d / arm_sample_mm %v out of range (use config.Parse or config.Defaults)", w.YawSamples, w.ArmSampleMM)
	}
	arm := kin.UR5e().WithTCP(poseMM(cfg.Robot.ToolOffset).Scale(1e-3))
	arm, err = arm.WithLimits(cfg.Safety.JointMinRad, cfg.Safety.JointMaxRad)
	if err != nil {
		return nil, fmt.Errorf("wireframe: safety joint limits: %w", err)
	}
	return &Process{cfg: cfg, head: head, axes: axes, feaOpt: fo, arm: arm, frames: map[*graph.Graph]*fea.Frame{}}, nil
}

// Name implements planners.Process.
func (p *Process) Name() string { return Name }

// Config returns the cell configuration the process was built with.
func (p *Process) Config() config.Cell { return p.cfg }

// Axes returns the candidate head axes (bed frame, unit, axes[0] = +z):
// wireframe.orientation_samples axes spread evenly over the cap of
// wireframe.max_tilt_deg around vertical (Eq. 6's Gauss-sphere samples).
// Do not modify.
func (p *Process) Axes() []r3.Vector { return p.axes }

// Load implements planners.Process: any graph format, with nodes below
// wireframe.ground_z_mm grounded where the format has no flags.
func (p *Process) Load(path string) (*graph.Graph, error) {
	g, err := graph.Load(path, graph.LoadOptions{GroundZMM: p.cfg.Wireframe.GroundZMM})
	if err != nil {
		return nil, err
	}
	if g.NumEdges() == 0 {
		return nil, fmt.Errorf("%s: %w", path, graph.ErrNoEdges)
	}
	return g, nil
}

// frame returns the FEA frame of g, built once per graph.
func (p *Process) frame(g *graph.Graph) (*fea.Frame, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.frames[g]; ok {
		return f, nil
	}
	f, err := fea.FromGraph(g, p.feaOpt)
	if err != nil {
		return nil, err
	}
	if len(p.frames) > 16 { // a long-lived process planning many models
		clear(p.frames)
	}
	p.frames[g] = f
	return f, nil
}

// poseMM converts a config pose (mm, rotation vector) to a geom.Pose in mm.
func poseMM(c config.Pose) geom.Pose {
	return geom.PoseFromRotVec(r3.Vector{X: c.XMM, Y: c.YMM, Z: c.ZMM}, r3.Vector{X: c.RXRad, Y: c.RYRad, Z: c.RZRad})
}

// BedFrame returns the print-bed frame in the robot base frame (mm) used
// for g: the model's own frame (assembly_instances base_frame_in_rob_base)
// when robot.use_model_bed_frame is set and the model carries one,
// otherwise robot.bed_frame. source says which ("model" or "config").
func (p *Process) BedFrame(g *graph.Graph) (bedToBase geom.Pose, source string) {
	if p.cfg.Robot.UseModelBedFrame && g.Meta.BedFrame != nil {
		f := g.Meta.BedFrame
		return geom.Pose{R: geom.FromCols(f.X, f.Y, f.Z), P: f.OriginMM}, "model"
	}
	return poseMM(p.cfg.Robot.BedFrame), "config"
}
