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
	// HMax is the kernel peak and the temperature cap (> 0; no cap when
	// Uncapped).
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
	// Uncapped adds the kernel without the cap at HMax: T is then the
	// heat content of a node (the sensible heat above the base temperature
	// that the model's deposits, diffusion and losses leave there, in
	// units of HMax), unbounded above; the model is linear in the deposits.
	// The planner's field is capped (Eq. 12 as released); Evaluate runs an
	// uncapped twin for the residual-heat metrics (package comment,
	// "Metrics"). FromConfig leaves it false.
	Uncapped bool
}

// FromConfig maps the lpbf section of the cell configuration to Params.
// With thermal_model diffusion and thermal_calibration physical (the
// defaults) Rings, Rate and Decay come from PhysicalFromConfig(c).Derive();
// otherwise from diffusion_rings, diffusion_rate and decay.
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
	if m == Diffusion {
		switch c.ThermalCalibration {
		case "physical", "":
			if p.Rings, p.Rate, p.Decay, err = PhysicalFromConfig(c).Derive(); err != nil {
				return Params{}, err
			}
		case "manual":
		default:
			return Params{}, fmt.Errorf("%w: thermal calibration %q (want physical or manual)", ErrParams, c.ThermalCalibration)
		}
	}
	return p, p.Validate()
}

// Material constants of AISI 316L at room temperature, the paper's alloy
// (§6.3), from the AK Steel 316/316L product data bulletin: density
// 8.00 g/cm³, specific heat 500 J/(kg·K) (0–100 °C), thermal conductivity
// 16.2 W/(m·K) (100 °C). Thermal diffusivity α = k/(ρ·c) = 4.05·10⁻⁶ m²/s
// = 4.05 mm²/s (the default lpbf.thermal_diffusivity_mm2_s). Towards the
// melting range (solidus ≈ 1375 °C) k and c both rise (Mills 2002:
// k ≈ 25–30 W/(m·K), c ≈ 650–700 J/(kg·K)), so α grows to ≈ 5–6 mm²/s.
const (
	Density316LKgM3          = 8000.0
	SpecificHeat316LJKgK     = 500.0
	Conductivity316LWmK      = 16.2
	Diffusivity316LMM2S      = Conductivity316LWmK / (Density316LKgM3 * SpecificHeat316LJKgK) * 1e6
	maxStableDegreePixelGrid = 4 // 4-neighbour pixel graphs
)

// Physical is the physical calibration of the diffusion model (package
// comment, "Physical calibration"): the material's thermal diffusivity,
// the pixel pitch, the scan speed and the conductance of the link from a
// pixel to the material under the layer relative to an in-plane link.
type Physical struct {
	DiffusivityMM2S float64 // α, mm²/s
	PitchMM         float64 // h, mm (pixel pitch = laser spot)
	ScanSpeedMMS    float64 // v, mm/s
	// SubstrateConductance G: 1 for a solid below the layer (earlier
	// layers, the build plate), ≈ 0.01 for powder below (an overhang); 0
	// means no loss (then Derive refuses: the field would never cool).
	SubstrateConductance float64
}

// PhysicalFromConfig returns the physical calibration data of c.
func PhysicalFromConfig(c config.LPBFProcess) Physical {
	return Physical{DiffusivityMM2S: c.ThermalDiffusivityMM2S, PitchMM: c.SpacingMM, ScanSpeedMMS: c.ScanSpeedMMS, SubstrateConductance: c.SubstrateConductance}
}

// StepS returns Δt = h/v, the time the laser needs to advance one pixel.
func (ph Physical) StepS() float64 { return ph.PitchMM / ph.ScanSpeedMMS }

// Fourier returns the Fourier number of one laser step on the pixel grid,
// Fo = α·Δt/h² (316L, 50 µm, 800 mm/s: 4.05·62.5·10⁻⁶/0.0025 = 0.10125).
func (ph Physical) Fourier() float64 {
	return ph.DiffusivityMM2S * ph.StepS() / (ph.PitchMM * ph.PitchMM)
}

// Derive returns the diffusion model's parameters for one laser step:
// n = ⌈Fo·(4 + G)⌉ explicit sub-steps (the smallest number that keeps
// rate·(4 + G) ≤ 1, the maximum principle of the 5-link stencil — four
// in-plane neighbours and the material below), rate = Fo/n, and
// decay = (1 − G·rate)^n, the heat left after n sub-steps of loss through
// the link to the material below held at the base temperature.
func (ph Physical) Derive() (rings int, rate, decay float64, err error) {
	bad := func(f string, a ...any) error {
		return fmt.Errorf("%w: physical calibration: "+f, append([]any{ErrParams}, a...)...)
	}
	switch {
	case !(ph.DiffusivityMM2S > 0) || !finite(ph.DiffusivityMM2S):
		return 0, 0, 0, bad("thermal diffusivity %v mm²/s: want > 0", ph.DiffusivityMM2S)
	case !(ph.PitchMM > 0) || !finite(ph.PitchMM):
		return 0, 0, 0, bad("pixel pitch %v mm: want > 0", ph.PitchMM)
	case !(ph.ScanSpeedMMS > 0) || !finite(ph.ScanSpeedMMS):
		return 0, 0, 0, bad("scan speed %v mm/s: want > 0", ph.ScanSpeedMMS)
	case !(ph.SubstrateConductance > 0) || !finite(ph.SubstrateConductance):
		return 0, 0, 0, bad("substrate conductance %v: want > 0 (without a loss the field never cools)", ph.SubstrateConductance)
	}
	fo := ph.Fourier()
	links := maxStableDegreePixelGrid + ph.SubstrateConductance
	n := math.Ceil(fo * links * (1 - 1e-12))
	if n > config.MaxDiffusionSubsteps {
		return 0, 0, 0, bad("Fourier number %.4g per laser step needs %.0f sub-steps (> %d): the scan is too slow for this model", fo, n, config.MaxDiffusionSubsteps)
	}
	rings = max(1, int(n))
	rate = fo / float64(rings)
	decay = math.Pow(1-ph.SubstrateConductance*rate, float64(rings))
	return rings, rate, decay, nil
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
