package lpbf

import (
	"fmt"
	"io"
	"math"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"
	"fabcell/simulation/thermal"
)

func init() {
	planners.RegisterProcess("lpbf", func(cfg config.Cell) (planners.Process, error) { return New(cfg) })
}

// Process is the LPBF process.
type Process struct {
	cfg config.Cell
	tp  thermal.Params
}

var (
	_ planners.Process          = (*Process)(nil)
	_ planners.ArtifactProvider = (*Process)(nil)
)

// New builds the process from the cell configuration (defaults applied,
// validated by the config package; the thermal parameters and the laser
// settings written into every scan vector and used by the time estimate
// are checked again here, so a configuration that skipped
// config.Cell.Validate cannot put NaN or out-of-range power and speeds on
// the wire).
func New(cfg config.Cell) (*Process, error) {
	if err := checkLaser(cfg.LPBF); err != nil {
		return nil, err
	}
	tp, err := thermal.FromConfig(cfg.LPBF)
	if err != nil {
		return nil, fmt.Errorf("lpbf: %w", err)
	}
	return &Process{cfg: cfg, tp: tp}, nil
}

// checkLaser checks the settings of c that reach the CLI output and the
// scan-time estimate (the same ranges as config.Cell.Validate), naming the
// first bad key.
func checkLaser(c config.LPBFProcess) error {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	for _, f := range []struct {
		key    string
		x      float64
		lo, hi float64 // lo exclusive when open
		open   bool
	}{
		{"lpbf.spacing_mm", c.SpacingMM, 0.001, 10, false},
		{"lpbf.max_power_w", c.MaxPowerW, 0, 1e300, true},
		{"lpbf.power_w", c.PowerW, 0, c.MaxPowerW, true},
		{"lpbf.scan_speed_mm_s", c.ScanSpeedMMS, 0, 1e300, true},
		{"lpbf.jump_speed_mm_s", c.JumpSpeedMMS, 0, 1e300, true},
		{"lpbf.mark_delay_s", c.MarkDelayS, 0, 1, false},
		{"lpbf.jump_delay_s", c.JumpDelayS, 0, 1, false},
		{"lpbf.field_size_mm", c.FieldSizeMM, 0, 1e300, true},
	} {
		ok := finite(f.x) && f.x <= f.hi && (f.x > f.lo || !f.open && f.x == f.lo)
		if !ok {
			br := "["
			if f.open {
				br = "("
			}
			return fmt.Errorf("lpbf: %s = %v: want a finite number in %s%v, %v]", f.key, f.x, br, f.lo, f.hi)
		}
	}
	return nil
}

// Name implements planners.Process.
func (p *Process) Name() string { return "lpbf" }

// Config returns the LPBF configuration.
func (p *Process) Config() config.LPBFProcess { return p.cfg.LPBF }

// Thermal returns the thermal model parameters.
func (p *Process) Thermal() thermal.Params { return p.tp }

// Load implements planners.Process: a PNG mask (pixel pitch
// lpbf.spacing_mm) or a CLI layer ("file.cli#N", rasterised at
// lpbf.spacing_mm), always as a pixel graph.
//
// Other formats are refused by what they are (their kind is inferred, not
// forced to pixel, so a CCF edge list is not misread as a pixel graph with
// "duplicate edges").
func (p *Process) Load(path string) (*graph.Graph, error) {
	s := p.cfg.LPBF.SpacingMM
	g, err := graph.Load(path, graph.LoadOptions{PixelMM: s, SpacingMM: s})
	if err != nil {
		return nil, err
	}
	if g.Kind != graph.Pixel {
		return nil, fmt.Errorf("%s: %w: it is a %v model (%d nodes, %d edges); LPBF plans one layer of pixels: a PNG mask or a CLI layer (file.cli#N)",
			path, ErrNotPixel, g.Kind, g.NumNodes(), g.NumEdges())
	}
	if _, err := NewLattice(g); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// NewSession implements planners.Process.
func (p *Process) NewSession(g *graph.Graph) (planners.Session, error) { return p.Session(g) }

// Session is NewSession with the concrete type. g must be a pixel graph
// (see NewLattice).
func (p *Process) Session(g *graph.Graph) (*Session, error) {
	lat, err := NewLattice(g)
	if err != nil {
		return nil, err
	}
	f, err := thermal.New(g, p.tp)
	if err != nil {
		return nil, fmt.Errorf("lpbf: %w", err)
	}
	return newSession(p, g, lat, f), nil
}

// Artifacts implements planners.ArtifactProvider.
func (p *Process) Artifacts() []planners.Artifact {
	return []planners.Artifact{
		{Name: "cli", Help: "scan vectors of the layer as an ASCII CLI file ($$HATCHES in scan order, $$POWER/W and $$SPEED/mm/s from lpbf.power_w, lpbf.scan_speed_mm_s)",
			Write: func(w io.Writer, r *planners.Result) error { return p.writeCLI(w, r, false) }},
		{Name: "cli-binary", Help: "the same scan vectors as a binary CLI file (long commands; power and speed in the part label)",
			Write: func(w io.Writer, r *planners.Result) error { return p.writeCLI(w, r, true) }},
		{Name: "plot", Help: "PNG heat map of the thermal history: residual heat met by the laser per pixel (uncapped, its maximum is peak_temperature), steps each pixel stayed hot, hot scanned area over the scan",
			Write: func(w io.Writer, r *planners.Result) error { return p.writePlot(w, r) }},
	}
}

// resultSession returns the LPBF session of a result, replaying its moves
// on a fresh session when the result carries another kind.
func (p *Process) resultSession(r *planners.Result) (*Session, error) {
	if s, ok := r.Session.(*Session); ok {
		return s, nil
	}
	if r.Graph == nil {
		return nil, fmt.Errorf("lpbf: result has no graph")
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
