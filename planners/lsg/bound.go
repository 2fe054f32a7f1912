package lsg

import (
	"math"
	"slices"

	"fabcell/planners"
)

// Bound is the upper bound the exhaustive searches (Exact, the bfs
// baseline) cut branches with: for an episode that has taken its first d
// steps, a bound on the discounted rewards Σ_{j>d} D(j)·R_j (jump charge
// included) any continuation can still collect.
//
// Two bounds are known, and the smaller is used:
//   - per step (planners.RewardBounder): Σ_{j=k}^{n+1} D(j)·max(Rmax, 0);
//   - by potential (planners.PotentialBounder): with the reference
//     potential φ₀ of the latest move carrying one and the contract
//     R ≤ φ(p) − φ(m) + slack, the steps k… sum to at most
//     D(k)·max(0, φ₀ − floor) + slack·Σ_{j≥k} D(j). Proof (Abel
//     summation): the potential moves at steps k₁ < k₂ < … < k_M after the
//     reference contribute Σᵢ D(kᵢ)(φᵢ₋₁ − φᵢ) = D(k₁)φ₀ − D(k_M)φ_M +
//     Σ_{i<M} (D(kᵢ₊₁) − D(kᵢ))φᵢ ≤ D(k₁)(φ₀ − floor), since D is
//     non-increasing and every φᵢ ≥ floor; and D(k₁) ≤ D(k) when
//     φ₀ ≥ floor. It needs D non-increasing, which the three discounts of
//     this package are (Gaussian with μ ≤ 1, 1/k², γ ≤ 1); for any other
//     table the potential bound is not used.
//
// A step whose session splits off an undiscounted part U ≤ 0
// (planners.UndiscountedRewarder) is worth D(k)·(R − U) + U ≤ D(k)·R when
// D(k) ≤ 1, so both bounds hold for it too; for a discount above 1
// NewBound bounds nothing.
//
// Neither bound depends on the search order, so a search that cuts with
// either finds the same best return (and, with the same tie rule, the same
// first action) as one that cuts nothing.
type Bound struct {
	ex    *Explorer
	n     int
	step  []float64 // step[k] = Σ_{j=k}^{n+1} D(j)·max(Rmax, 0); nil = none
	rmax  float64
	pb    planners.PotentialBounder
	slack []float64 // slack[k] = Σ_{j=k}^{n+1} D(j)·slack of this decision
	floor float64
	slk   float64 // slack of this decision
}

// NewBound returns the bound for ex's episode model and the bounders s
// implements — s is ex's session, or the session it wraps (wrappers hide
// optional interfaces) — or nil when s implements neither.
func NewBound(ex *Explorer, s planners.Session) *Bound {
	if _, ok := s.(planners.UndiscountedRewarder); ok && slices.Max(ex.disc[1:]) > 1 {
		// an undiscounted part U ≤ 0 is weighted 1 instead of D(k): the
		// step's value D(k)·(R − U) + U stays ≤ D(k)·R only for D(k) ≤ 1
		return nil
	}
	var b *Bound
	if rb, ok := s.(planners.RewardBounder); ok {
		b = NewStepBound(ex, rb.MaxStepReward())
	}
	if pb, ok := s.(planners.PotentialBounder); ok && nonIncreasing(ex.disc[1:]) {
		if b == nil {
			b = &Bound{ex: ex, n: ex.cfg.Horizon}
		}
		b.pb = pb
		b.slack = make([]float64, b.n+3)
	}
	return b
}

// NewStepBound returns the per-step bound alone, for a session whose every
// step reward (and summed jump chain) is at most maxStep.
func NewStepBound(ex *Explorer, maxStep float64) *Bound {
	n := ex.cfg.Horizon
	b := &Bound{ex: ex, n: n, step: make([]float64, n+3)}
	rmax := math.Max(maxStep, 0)
	b.rmax = rmax
	for k := n + 1; k >= 1; k-- {
		b.step[k] = b.step[k+1] + ex.disc[k]*rmax
	}
	return b
}

func nonIncreasing(d []float64) bool {
	for i := 1; i < len(d); i++ {
		if !(d[i] <= d[i-1]) || d[i] < 0 {
			return false
		}
	}
	return true
}

// Ref is the reference potential along a search path: the potential of
// the latest move that carries one.
type Ref struct {
	Phi float64
	OK  bool
}

// Begin reads the session's bound data for a decision: it must be called
// with the session in the root state of the search (it syncs the explorer
// there), and returns the root's reference potential.
func (b *Bound) Begin() Ref {
	if b.pb == nil {
		return Ref{}
	}
	b.ex.SyncRoot()
	last, ok, floor, slack := b.pb.PotentialState()
	if math.IsNaN(last) || math.IsNaN(floor) || math.IsNaN(slack) || math.IsInf(floor, 1) {
		// +Inf floor: nothing with a potential is left; the per-step
		// bound (or none) stays in charge.
		ok = false
	}
	b.floor = floor
	slack = math.Max(slack, 0)
	b.slk = slack
	for k := b.n + 1; k >= 1; k-- {
		b.slack[k] = b.slack[k+1] + b.ex.disc[k]*slack
	}
	return Ref{Phi: last, OK: ok}
}

// Next returns the reference after move m, taken with reference r.
func (b *Bound) Next(r Ref, m planners.Move) Ref {
	if b.pb == nil {
		return r
	}
	if phi, ok := b.pb.Potential(m); ok {
		return Ref{Phi: phi, OK: true}
	}
	return r
}

// Remaining bounds Σ_{j≥k} D(j)·R_j over every continuation whose
// reference potential is r (k = the first step still to take, 1-based);
// +Inf when nothing bounds it.
func (b *Bound) Remaining(k int, r Ref) float64 {
	u := math.Inf(1)
	if k > b.n+1 {
		return 0
	}
	if b.step != nil {
		u = b.step[k]
	}
	if b.pb != nil && r.OK {
		u = math.Min(u, b.ex.disc[k]*math.Max(0, r.Phi-b.floor)+b.slack[k])
	}
	return u
}

// Step returns the reference after move m, taken as step k with reference
// r, and a bound on D(k)·R(m), the move's discounted reward, without asking
// the session for the reward (the jump charge a dead end may add after m
// is covered by Remaining(k+1, ·)); +Inf when nothing bounds it. A search
// uses it to skip evaluating moves that cannot win.
func (b *Bound) Step(k int, r Ref, m planners.Move) (next Ref, u float64) {
	u, next = math.Inf(1), r
	if b.step != nil {
		u = b.ex.disc[k] * b.rmax
	}
	if b.pb != nil {
		bound := b.slk
		if phi, ok := b.pb.Potential(m); ok {
			if r.OK {
				bound += r.Phi - phi
			}
			next = Ref{Phi: phi, OK: true}
		}
		u = math.Min(u, b.ex.disc[k]*bound)
	}
	return next, u
}

// PerMove reports whether Step tells moves apart (the potential bound is
// in use): only then is it worth bounding a move before its reward is
// known. False for a nil Bound.
func (b *Bound) PerMove() bool { return b != nil && b.pb != nil }
