package lsg

import (
	"fmt"
	"math"
)

// DiscountKind selects the step weighting D(k) of rewards inside an LSG
// episode (spec §7).
type DiscountKind uint8

const (
	// Gaussian is the paper's Eq. 4: D(k) = 0.9·exp(−(k−μ)²/(2σ²)) + 0.1,
	// k = 1…n, σ = 0.865 and μ = 1 by default.
	Gaussian DiscountKind = iota
	// InverseSquare is the release default (Gaussian_damp = False):
	// D(k) = 1/k² for k ≤ 4 and 1/16 afterwards (k 1-based).
	InverseSquare
	// Exponential is the conventional Eq. 16, D(k) = γ^(k−1) (so D(1) = 1
	// like the other forms).
	Exponential
)

// Discount is D(k) for k = 1, 2, … (the k-th step of an episode).
type Discount struct {
	Kind  DiscountKind
	Sigma float64 // Gaussian σ (0 = 0.865)
	Mu    float64 // Gaussian μ (0 = 1)
	Gamma float64 // Exponential γ (0 = 0.98)
}

// ParseDiscount builds a Discount from the config names "gaussian",
// "inverse-square" and "exponential".
func ParseDiscount(name string, sigma, gamma float64) (Discount, error) {
	switch name {
	case "", "gaussian":
		return Discount{Kind: Gaussian, Sigma: sigma, Mu: 1}, nil
	case "inverse-square":
		return Discount{Kind: InverseSquare}, nil
	case "exponential":
		return Discount{Kind: Exponential, Gamma: gamma}, nil
	}
	return Discount{}, fmt.Errorf("unknown discount %q (want gaussian, inverse-square or exponential)", name)
}

// At returns D(k) for the 1-based step k (k < 1 is treated as 1).
func (d Discount) At(k int) float64 {
	if k < 1 {
		k = 1
	}
	switch d.Kind {
	case InverseSquare:
		m := float64(min(k, 4))
		return 1 / (m * m)
	case Exponential:
		g := d.Gamma
		if g == 0 {
			g = 0.98
		}
		return math.Pow(g, float64(k-1))
	default:
		s, mu := d.Sigma, d.Mu
		if s == 0 {
			s = 0.865
		}
		if mu == 0 {
			mu = 1
		}
		x := float64(k) - mu
		return 0.9*math.Exp(-x*x/(2*s*s)) + 0.1
	}
}

// Table returns D(1..n+1) in out[1..n+1] (out[0] = 0), reusing out.
func (d Discount) Table(n int, out []float64) []float64 {
	out = append(out[:0], 0)
	for k := 1; k <= n+1; k++ {
		out = append(out, d.At(k))
	}
	return out
}
