package ccf

import (
	"fmt"
	"math"

	"fabcell/config"
)

// RewardParams are the constants of the CCF step reward (spec lsg-dqn.md
// §8.2, Eqs. 9–11). Angles are in radians.
type RewardParams struct {
	// Theta1 and Theta2 bound the tolerated band of turning angles
	// (release: 60° and 120°); Scale is the angle unit of the sigmoid
	// arguments (release: 30°); Kappa the sigmoid sharpness (release: 10).
	Theta1, Theta2, Scale, Kappa float64
	// UnitRetraversal selects Eq. 10's release form (−1 per second pass)
	// instead of the paper's −l(e)/l_max.
	UnitRetraversal bool
	// UTurn and UTurnBoundary are the release's penalties for going straight
	// back along the edge just traversed, at an interior node and at a
	// boundary node (release: 1 and 0.5; applied as −UTurn).
	UTurn, UTurnBoundary float64
}

// ParamsFromConfig converts the ccf configuration section.
func ParamsFromConfig(c config.CCFProcess) (RewardParams, error) {
	p := RewardParams{
		Theta1: c.Theta1Deg * math.Pi / 180, Theta2: c.Theta2Deg * math.Pi / 180,
		Scale: c.ThetaScaleDeg * math.Pi / 180, Kappa: c.Kappa,
		UnitRetraversal: c.RetraversalPenalty == "unit",
		UTurn:           c.UTurnPenalty, UTurnBoundary: c.UTurnBoundaryPenalty,
	}
	switch {
	case !(p.Theta1 >= 0 && p.Theta1 < p.Theta2 && p.Theta2 <= math.Pi):
		return p, fmt.Errorf("ccf: need 0 <= theta1_deg < theta2_deg <= 180, got %v and %v", c.Theta1Deg, c.Theta2Deg)
	case !(p.Scale > 0) || !(p.Kappa > 0):
		return p, fmt.Errorf("ccf: theta_scale_deg and kappa must be > 0, got %v and %v", c.ThetaScaleDeg, c.Kappa)
	case !(p.UTurn >= 0) || !(p.UTurnBoundary >= 0):
		return p, fmt.Errorf("ccf: u-turn penalties must be >= 0, got %v and %v", c.UTurnPenalty, c.UTurnBoundaryPenalty)
	}
	return p, nil
}

// sigmoid is the logistic function S(x) = 1/(1+e^(−x)), evaluated without
// overflow for large |x|.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// Turn is the turning-angle reward r_θ of Eq. 9 (release form):
//
//	r_θ(θ) = S(−κ x₁) + 0.9·( S(κ x₁) − S(κ x₂) ),  x_i = (θ − θ_i)/scale,
//
// θ the turning angle in radians (0 = straight on, π = full reversal).
// Plateaus with the defaults: ≈1 below 60°, ≈0.9 from about 70° to 110°,
// exactly 0.45 at 120°, ≈0 above 135°. It is decreasing in θ.
func (p RewardParams) Turn(theta float64) float64 {
	x1 := (theta - p.Theta1) / p.Scale
	x2 := (theta - p.Theta2) / p.Scale
	return sigmoid(-p.Kappa*x1) + 0.9*(sigmoid(p.Kappa*x1)-sigmoid(p.Kappa*x2))
}

// Retraversal is r_e of Eq. 10 for a print pass over an edge of length
// lMM that was already printed before (0 on the first pass): −l/l_max
// (paper) or −1 (release default, UnitRetraversal).
func (p RewardParams) Retraversal(lMM, lMaxMM float64, firstPass bool) float64 {
	if firstPass {
		return 0
	}
	if p.UnitRetraversal || !(lMaxMM > 0) {
		return -1
	}
	return -lMM / lMaxMM
}

// UTurnPenalty is the release's U-turn term (an addition to Eq. 11): the
// negated penalty for reversing along the edge just traversed, smaller at
// a boundary node where the fibre can be turned around the rim.
func (p RewardParams) UTurnPenalty(boundary bool) float64 {
	if boundary {
		return -p.UTurnBoundary
	}
	return -p.UTurn
}

// MaxTurn is the largest value r_θ takes (at θ = 0).
func (p RewardParams) MaxTurn() float64 { return p.Turn(0) }
