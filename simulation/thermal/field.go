package thermal

import (
	"fmt"
	"math"

	"fabcell/planners/graph"
)

// Field is the temperature of every node of one layer (package comment).
// A Field is not safe for concurrent use.
type Field struct {
	g     *graph.Graph
	p     Params
	rMM   float64
	eps   float64
	alpha float64
	idx   discIndex
	depth int

	t      []float64 // temperature per node, 0 ≤ t ≤ HMax (no upper bound if Uncapped); 0 outside the active set
	active []int32   // nodes with t > 0, no duplicates
	stamp  []uint32
	slot   []int32
	epoch  uint32

	cand []int32
	next []float64
	disc []kEntry
	pre  []float64 // per disc entry: its temperature before the last kernel (KernelRise)

	hist []int32 // laser nodes since Reset, in order

	snapLog  []entry
	snaps    []snap
	snapHead int

	maxActive int

	twin   *Field // uncapped twin for Evaluate (lazy; nil if unused or Uncapped)
	noSnap bool   // Step keeps no undo snapshot (Evaluate; Undo then rebuilds)
}

type entry struct {
	v int32
	t float64
}

type snap struct {
	start int // first entry in snapLog
	step  int // len(hist) before the step
}

// New builds a cold field (T = 0 everywhere) over g. The kernel radius is
// RadiusFactor × the mean edge length: g.SpacingMM for pixel graphs,
// g.MeanLengthMM() otherwise. For the diffusion model Rate × (largest node degree) must not
// exceed 1.
func New(g *graph.Graph, p Params) (*Field, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if g == nil || g.NumNodes() == 0 {
		return nil, fmt.Errorf("thermal: graph has no nodes")
	}
	// Every edge of a pixel graph is one pitch long; the pitch itself
	// avoids the rounding noise of averaging lengths of far-apart positions
	// (which would make the disc of radius 3 pitches gain or lose its
	// boundary nodes depending on the layer size).
	l := g.SpacingMM
	if g.Kind != graph.Pixel || !(l > 0) {
		l = g.MeanLengthMM()
	}
	if !(l > 0) {
		return nil, fmt.Errorf("thermal: graph %q has no edges and no pixel pitch: the kernel radius (heat radius factor × mean edge length) is undefined", g.Name)
	}
	f := &Field{g: g, p: p, rMM: p.RadiusFactor * l, depth: p.undoDepth()}
	if p.Model == Diffusion {
		maxDeg := 0
		for v := 0; v < g.NumNodes(); v++ {
			maxDeg = max(maxDeg, g.Degree(v))
		}
		if p.Rate*float64(maxDeg) > 1 {
			return nil, fmt.Errorf("%w: diffusion rate %v × largest node degree %d > 1: the Laplacian step would create new maxima (use a rate ≤ %v)",
				ErrParams, p.Rate, maxDeg, 1/float64(maxDeg))
		}
		f.alpha = p.Rate
		f.eps = p.tolerance() * p.HMax * (1 - p.Decay)
	}
	n := g.NumNodes()
	f.t = make([]float64, n)
	f.stamp = make([]uint32, n)
	f.slot = make([]int32, n)
	f.idx = newDiscIndex(g, p, f.rMM)
	return f, nil
}

// Graph returns the graph the field lives on.
func (f *Field) Graph() *graph.Graph { return f.g }

// Params returns the parameters.
func (f *Field) Params() Params { return f.p }

// RadiusMM returns the kernel radius r (mm).
func (f *Field) RadiusMM() float64 { return f.rMM }

// Epsilon returns the truncation threshold ε (0 for the decay model).
func (f *Field) Epsilon() float64 { return f.eps }

// ErrorBound returns the bound Tolerance·HMax on the max-norm difference
// between this field and the untruncated model (0 for the exact decay
// model).
func (f *Field) ErrorBound() float64 {
	if f.p.Model == Decay {
		return 0
	}
	return f.p.tolerance() * f.p.HMax
}

// KernelSize returns an upper bound of the number of nodes one kernel
// disc heats.
func (f *Field) KernelSize() int { return f.idx.maxDisc() }

// Temp returns T(v) in the units of HMax (0 ≤ T ≤ HMax; T ≥ 0 if
// Params.Uncapped).
func (f *Field) Temp(v int) float64 { return f.t[v] }

// Active returns the nodes with T > 0 (shared slice, valid until the next
// Step, Undo or Reset; order unspecified).
func (f *Field) Active() []int32 { return f.active }

// MaxActive returns the largest active-set size seen since New.
func (f *Field) MaxActive() int { return f.maxActive }

// Steps returns the number of laser steps since Reset.
func (f *Field) Steps() int { return len(f.hist) }

// Laser returns the laser nodes since Reset, oldest first (shared slice).
func (f *Field) Laser() []int32 { return f.hist }

// Reset cools the field to T = 0 and forgets the laser history.
func (f *Field) Reset() {
	for _, v := range f.active {
		f.t[v] = 0
	}
	f.active = f.active[:0]
	f.hist = f.hist[:0]
	f.snapLog = f.snapLog[:0]
	f.snaps = f.snaps[:0]
	f.snapHead = 0
}

// Step moves the laser to node c: one time step of the model, then the
// kernel of Eq. 12 at c (package comment). Cost O(active set + n-ring +
// kernel), independent of the layer size.
func (f *Field) Step(c int) {
	if c < 0 || c >= len(f.t) {
		panic(fmt.Sprintf("thermal: step to node %d out of range [0,%d)", c, len(f.t)))
	}
	if !f.noSnap {
		f.pushSnapshot()
	}
	f.hist = append(f.hist, int32(c))
	if f.p.Model == Decay {
		f.stepDecay()
	} else {
		f.stepDiffusion(c)
	}
	f.maxActive = max(f.maxActive, len(f.active))
}

// KernelRise calls fn for every node of the kernel disc of the last Step
// with its temperature before the Eq. 12 kernel was added (after the
// model's time step) and after (cap applied): the rise the laser's own
// deposit caused, e.g. to tell which nodes the new position heats back
// above a threshold. Valid right after Step only (not after Undo or
// Reset, nor after a Step of an Evaluate replay). Cost O(kernel disc).
func (f *Field) KernelRise(fn func(v int, before, after float64)) {
	for i, e := range f.disc {
		fn(int(e.v), f.pre[i], f.t[e.v])
	}
}

// Undo reverts the last Step exactly (bit for bit).
func (f *Field) Undo() {
	if len(f.hist) == 0 {
		panic("thermal: Undo without Step")
	}
	f.hist = f.hist[:len(f.hist)-1]
	if k := len(f.snaps) - 1; k >= f.snapHead && f.snaps[k].step == len(f.hist) {
		s := f.snaps[k]
		for _, v := range f.active {
			f.t[v] = 0
		}
		f.active = f.active[:0]
		for _, e := range f.snapLog[s.start:] {
			f.t[e.v] = e.t
			f.active = append(f.active, e.v)
		}
		f.snapLog = f.snapLog[:s.start]
		f.snaps = f.snaps[:k]
		return
	}
	// older than the kept snapshots: rebuild from the laser history
	h := append([]int32(nil), f.hist...)
	f.Reset()
	for _, v := range h {
		f.Step(int(v))
	}
}

func (f *Field) pushSnapshot() {
	f.snaps = append(f.snaps, snap{start: len(f.snapLog), step: len(f.hist)})
	for _, v := range f.active {
		f.snapLog = append(f.snapLog, entry{v: v, t: f.t[v]})
	}
	if len(f.snaps)-f.snapHead > f.depth {
		f.snapHead++
	}
	if f.snapHead > f.depth { // compact the dropped prefix away
		live := f.snaps[f.snapHead:]
		base := live[0].start
		n := copy(f.snapLog, f.snapLog[base:])
		f.snapLog = f.snapLog[:n]
		m := copy(f.snaps, live)
		f.snaps = f.snaps[:m]
		for i := range f.snaps {
			f.snaps[i].start -= base
		}
		f.snapHead = 0
	}
}

func (f *Field) nextEpoch() {
	f.epoch++
	if f.epoch == 0 {
		clear(f.stamp)
		f.epoch = 1
	}
}

// stepDiffusion: T ← min(H, trunc_ε(δ·(I − αL)^n T) + K(c)).
func (f *Field) stepDiffusion(c int) {
	f.relax()
	f.deposit(c)
}

// relax is the time step of the diffusion model without the deposit:
// T ← trunc_ε(δ·(I − αL)^n T).
func (f *Field) relax() {
	if f.alpha > 0 && len(f.active) > 0 {
		for i := 0; i < f.p.Rings; i++ {
			f.diffuse()
		}
	}
	d, eps := f.p.Decay, f.eps
	keep := f.active[:0]
	for _, v := range f.active {
		x := f.t[v] * d
		if x < eps || x == 0 {
			f.t[v] = 0
			continue
		}
		f.t[v] = x
		keep = append(keep, v)
	}
	f.active = keep
}

// deposit adds the kernel at c with the cap (without it if Uncapped).
func (f *Field) deposit(c int) {
	hm := f.ceiling()
	f.disc = f.idx.appendDisc(f.disc[:0], c)
	f.pre = f.pre[:0]
	for _, e := range f.disc {
		old := f.t[e.v]
		f.pre = append(f.pre, old)
		if old == 0 {
			f.active = append(f.active, e.v)
		}
		f.t[e.v] = math.Min(hm, old+e.h)
	}
}

// ceiling returns the temperature cap: HMax, or +Inf if Uncapped.
func (f *Field) ceiling() float64 {
	if f.p.Uncapped {
		return math.Inf(1)
	}
	return f.p.HMax
}

// diffuse is one sub-step T ← (I − αL)T on the active set and its 1-ring:
// T'(u) = (1 − α·deg u)·T(u) + α·Σ_{w∼u} T(w), a convex combination.
func (f *Field) diffuse() {
	g := f.g
	f.nextEpoch()
	ep := f.epoch
	f.cand = f.cand[:0]
	for _, v := range f.active {
		if f.stamp[v] != ep {
			f.stamp[v] = ep
			f.cand = append(f.cand, v)
		}
	}
	for _, v := range f.active {
		for _, h := range g.Neighbors(int(v)) {
			if f.stamp[h.To] != ep {
				f.stamp[h.To] = ep
				f.cand = append(f.cand, h.To)
			}
		}
	}
	if cap(f.next) < len(f.cand) {
		f.next = make([]float64, len(f.cand), 2*len(f.cand))
	}
	f.next = f.next[:len(f.cand)]
	a := f.alpha
	for i, u := range f.cand {
		nb := g.Neighbors(int(u))
		sum := 0.0
		for _, h := range nb {
			sum += f.t[h.To]
		}
		f.next[i] = (1-a*float64(len(nb)))*f.t[u] + a*sum
	}
	f.active = f.active[:0]
	for i, u := range f.cand {
		f.t[u] = f.next[i]
		if f.next[i] > 0 {
			f.active = append(f.active, u)
		}
	}
}

// stepDecay rebuilds T from the last W laser nodes (release model):
// T = 0; for w in window, oldest first: T ← min(H, δ·T + K(w)) (no min
// if Uncapped).
func (f *Field) stepDecay() {
	w := f.hist[max(0, len(f.hist)-f.p.Window):]
	hm, d := f.ceiling(), f.p.Decay
	f.nextEpoch()
	ep := f.epoch
	f.cand = f.cand[:0]
	f.next = f.next[:0]
	for _, c := range w {
		for i := range f.next {
			f.next[i] *= d
		}
		f.disc = f.idx.appendDisc(f.disc[:0], int(c))
		f.pre = f.pre[:0]
		for _, e := range f.disc {
			if f.stamp[e.v] != ep {
				f.stamp[e.v] = ep
				f.slot[e.v] = int32(len(f.cand))
				f.cand = append(f.cand, e.v)
				f.next = append(f.next, 0)
			}
			i := f.slot[e.v]
			f.pre = append(f.pre, f.next[i])
			f.next[i] = math.Min(hm, f.next[i]+e.h)
		}
	}
	for _, v := range f.active {
		f.t[v] = 0
	}
	f.active = f.active[:0]
	for i, u := range f.cand {
		if f.next[i] > 0 {
			f.t[u] = f.next[i]
			f.active = append(f.active, u)
		}
	}
}
