package thermal

import (
	"errors"
	"fmt"
	"math"

	"fabcell/config"
)

// Model selects the temperature update (see the package comment).
type Model uint8

const (
	// Diffusion: capped kernel, n graph-Laplacian sub-steps and a decay per
	// laser step, truncated below ε (the paper's description).
	Diffusion Model = iota
	// Decay: the field rebuilt from the last Window laser nodes with a
	// decay per step and no diffusion (the authors' release).
	Decay
)

func (m Model) String() string {
	switch m {
	case Diffusion:
		return "diffusion"
	case Decay:
		return "decay"
	}
	return fmt.Sprintf("Model(%d)", int(m))
}

// ParseModel maps the config spelling ("diffusion", "decay") to a Model.
func ParseModel(s string) (Model, error) {
	switch s {
	case "diffusion", "":
		return Diffusion, nil
	case "decay":
		return Decay, nil
	}
	return 0, fmt.Errorf("thermal: unknown model %q (want diffusion or decay)", s)
}

// KernelExponent is the exponent of Eq. 12 (release: 0.8).
const KernelExponent = 0.8

// Defaults of the fields of Params that may be left zero.
const (
	DefaultTolerance = 1e-4
	DefaultUndoDepth = 64
)

// Params configure a Field. Build them with FromConfig or fill every
// field; Validate reports the first problem.
type Params struct {
	// HMax is the kernel peak and the temperature cap (> 0).
	HMax float64
	// RadiusFactor: kernel radius r = RadiusFactor × mean edge length
	// (release: 3).
	RadiusFactor float64
	// Exponent of Eq. 12; 0 means KernelExponent (0.8).
	Exponent float64
	Model    Model
	// Rings is n, the number of Laplacian sub-steps per laser step (the
	// ring support of the diffusion operator), ≥ 1. Diffusion model only.
	Rings int
	// Rate is α of the sub-step T ← T − αLT, 0 ≤ α ≤ 1/deg_max.
	// Diffusion model only.
	Rate float64
	// Decay is δ, the factor applied to the field once per laser step:
	// 0 ≤ δ < 1 for the diffusion model, 0 ≤ δ ≤ 1 for the decay model.
	Decay float64
	// Window is W, the number of recent laser nodes the decay model
	// rebuilds the field from (release: 8), ≥ 1.
	Window int
	// Tolerance bounds the truncation error of the diffusion model in
	// units of HMax (see the package comment); 0 means DefaultTolerance.
	Tolerance float64
	// UndoDepth is the number of steps whose snapshots are kept for an
	// exact O(active) Undo; 0 means DefaultUndoDepth.
	UndoDepth int
}

// FromConfig maps the lpbf section of the cell configuration to Params.
func FromConfig(c config.LPBFProcess) (Params, error) {
	m, err := ParseModel(c.Model)
	if err != nil {
		return Params{}, err
	}
	p := Params{
		HMax: c.HMax, RadiusFactor: c.HeatRadiusFactor, Exponent: KernelExponent, Model: m,
		Rings: c.DiffusionRings, Rate: c.DiffusionRate, Decay: c.Decay, Window: c.DecayWindow,
		Tolerance: c.ThermalTolerance,
	}
	return p, p.Validate()
}

// ErrParams is wrapped by every Validate error.
var ErrParams = errors.New("thermal: invalid parameters")

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// Validate checks the ranges documented on the fields (the graph-dependent
// rule α·deg_max ≤ 1 is checked by New).
func (p Params) Validate() error {
	bad := func(f string, a ...any) error { return fmt.Errorf("%w: "+f, append([]any{ErrParams}, a...)...) }
	switch {
	case !(p.HMax > 0) || !finite(p.HMax):
		return bad("h_max %v: want a finite value > 0", p.HMax)
	case !(p.RadiusFactor > 0) || !finite(p.RadiusFactor):
		return bad("heat radius factor %v: want a finite value > 0", p.RadiusFactor)
	case p.Exponent < 0 || !finite(p.Exponent):
		return bad("kernel exponent %v: want > 0 (0 = 0.8)", p.Exponent)
	case p.Model > Decay:
		return bad("unknown model %d", p.Model)
	case p.Tolerance < 0 || !(p.Tolerance < 1) || !finite(p.Tolerance):
		return bad("tolerance %v: want 0 ≤ tolerance < 1 (0 = %g)", p.Tolerance, DefaultTolerance)
	case p.UndoDepth < 0:
		return bad("undo depth %d: want ≥ 0", p.UndoDepth)
	}
	switch p.Model {
	case Diffusion:
		if p.Rings < 1 {
			return bad("diffusion rings %d: want ≥ 1", p.Rings)
		}
		if !(p.Rate >= 0) || !finite(p.Rate) {
			return bad("diffusion rate %v: want ≥ 0", p.Rate)
		}
		if !(p.Decay >= 0 && p.Decay < 1) {
			return bad("decay %v: the diffusion model needs 0 ≤ decay < 1 (with 1 the field never cools and the active set grows with the layer)", p.Decay)
		}
	case Decay:
		if p.Window < 1 {
			return bad("decay window %d: want ≥ 1", p.Window)
		}
		if !(p.Decay >= 0 && p.Decay <= 1) {
			return bad("decay %v: want 0 ≤ decay ≤ 1", p.Decay)
		}
	}
	return nil
}

func (p Params) exponent() float64 {
	if p.Exponent == 0 {
		return KernelExponent
	}
	return p.Exponent
}

func (p Params) tolerance() float64 {
	if p.Tolerance == 0 {
		return DefaultTolerance
	}
	return p.Tolerance
}

func (p Params) undoDepth() int {
	if p.UndoDepth == 0 {
		return DefaultUndoDepth
	}
	return p.UndoDepth
}

// Kernel returns h(d) of Eq. 12 for distance dMM from the laser node and
// kernel radius rMM: HMax·(1 − (d/r)^Exponent) for 0 ≤ d ≤ r, else 0.
func (p Params) Kernel(dMM, rMM float64) float64 {
	if !(dMM <= rMM) || dMM < 0 {
		return 0
	}
	return p.HMax * (1 - math.Pow(dMM/rMM, p.exponent()))
}
