package lsgdqn

import "math"

// Termination is the hybrid stopping rule of the inner learning loop (spec
// §10): stop when (1) at least MinEpisodes episodes were run and the best
// episode return has not improved during the last Patience episodes, or
// (2) MaxEpisodes episodes were run. The release uses MinEpisodes = 40·n
// (30·n for metal), Patience = 5·n and MaxEpisodes = 500.
type Termination struct {
	MinEpisodes, Patience, MaxEpisodes int

	episodes int
	since    int // episodes since the last improvement
	best     float64
}

// NewTermination returns the rule for ring n and the given factors.
func NewTermination(n, episodeFactor, patienceFactor, maxEpisodes int) Termination {
	return Termination{MinEpisodes: episodeFactor * n, Patience: patienceFactor * n, MaxEpisodes: maxEpisodes, best: math.Inf(-1)}
}

// Observe records the return of a finished episode and reports whether it
// improved the best return.
func (t *Termination) Observe(ret float64) bool {
	t.episodes++
	if ret > t.best+1e-12*math.Max(1, math.Abs(t.best)) || math.IsInf(t.best, -1) {
		t.best = ret
		t.since = 0
		return true
	}
	t.since++
	return false
}

// Done reports whether learning stops.
func (t *Termination) Done() bool {
	if t.episodes >= t.MaxEpisodes {
		return true
	}
	return t.episodes >= t.MinEpisodes && t.since >= t.Patience
}

// Episodes returns the number of episodes observed.
func (t *Termination) Episodes() int { return t.episodes }

// Best returns the best return observed (−Inf before the first episode).
func (t *Termination) Best() float64 { return t.best }
