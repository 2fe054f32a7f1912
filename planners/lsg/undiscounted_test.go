package lsg

import (
	"math"
	"strings"
	"testing"

	"github.com/golang/geo/r3"

	"fabcell/planners"
	"fabcell/planners/graph"
)

// splitSession reports an undiscounted part u = −share·|Reward(m)| for
// prints and jumpU for the other moves.
type splitSession struct {
	planners.Session
	share, jumpU float64
}

func (s splitSession) RewardSplit(m planners.Move) (r, u float64) {
	r = s.Session.Reward(m)
	if m.Kind == planners.Print {
		return r, -s.share * math.Abs(r)
	}
	return r, s.jumpU
}

var _ planners.UndiscountedRewarder = splitSession{}

// TestUndiscountedPart: along a chain of prints ending in a dead end, each
// Transition returns D(k)·(R − U) + U for its move and, at the dead end,
// the same for the jump chain at D(k+1), with R and U computed by the
// session independently of the explorer (applying the moves); without the
// interface the whole reward is discounted as before.
func TestUndiscountedPart(t *testing.T) {
	// chain 0-1-2-3, then a separate strut 4-5: after 3 the tool is stuck
	pos := []r3.Vector{{}, {X: 10}, {X: 20, Y: 3}, {X: 30}, {X: 30, Y: 40}, {X: 40, Y: 40}}
	g := mustGraph(t, pos, []graph.Edge{{A: 0, B: 1}, {A: 1, B: 2}, {A: 2, B: 3}, {A: 4, B: 5}})
	d := Discount{} // Gaussian, D(2) ≈ 0.56, D(3) ≈ 0.16
	for _, split := range []bool{false, true} {
		base := travelSession(t, g)
		var s planners.Session = base
		const share, jumpU = 0.25, -0.125
		if split {
			s = splitSession{Session: base, share: share, jumpU: jumpU}
		}
		if err := s.Begin(0); err != nil {
			t.Fatal(err)
		}
		ex, err := NewExplorer(s, ExplorerConfig{Horizon: 4, Discount: d, JumpLookahead: true})
		if err != nil {
			t.Fatal(err)
		}
		ex.Reset()
		b, _ := NewBuilder(g, Config{Ring: 4, NMax: 10})
		l, err := b.Build(0, -1)
		if err != nil {
			t.Fatal(err)
		}
		if err := ex.Bind(l); err != nil {
			t.Fatal(err)
		}
		// independent answers: rewards of the chain 0→1→2→3 and of the
		// jump from 3, on a fresh session
		ref := travelSession(t, g)
		ref.Begin(0)
		var want []float64
		for k, to := range []int{1, 2, 3} {
			m := printTo(t, ref, to)
			r := ref.Reward(m)
			u := 0.0
			if split {
				u = -share * math.Abs(r)
			}
			want = append(want, d.At(k+1)*(r-u)+u)
			ref.Apply(m)
		}
		js := ref.Jump()
		if len(js) == 0 {
			t.Fatal("no jump at the dead end")
		}
		jr, ju := 0.0, 0.0
		for _, m := range js {
			jr += ref.Reward(m)
			if split {
				ju += jumpU
			}
			ref.Apply(m)
		}
		want[2] += d.At(4)*(jr-ju) + ju
		x := ex.Root()
		for k := 0; k < 3; k++ {
			acts := ex.Actions(x)
			if len(acts) != 1 {
				t.Fatalf("split %v step %d: %d actions", split, k, len(acts))
			}
			c, r, done := ex.Transition(x, acts[0])
			if math.Abs(r-want[k]) > 1e-12 {
				t.Fatalf("split %v step %d: r = %.15g, want %.15g", split, k+1, r, want[k])
			}
			if done != (k == 2) {
				t.Fatalf("split %v step %d: done %v", split, k+1, done)
			}
			x = c
		}
		if err := ex.Err(); err != nil {
			t.Fatal(err)
		}
		ex.SyncRoot()
	}
}

// TestUndiscountedPartMustBeNonPositive: a positive undiscounted part
// would break the reward bound of branch and bound; the explorer reports
// it as its error.
func TestUndiscountedPartMustBeNonPositive(t *testing.T) {
	pos := []r3.Vector{{}, {X: 10}, {X: 20}}
	g := mustGraph(t, pos, []graph.Edge{{A: 0, B: 1}, {A: 1, B: 2}})
	for _, tc := range []struct {
		share   float64
		wantErr bool
	}{{0.5, false}, {0, false}, {-0.5, true}, {math.NaN(), true}} {
		s := splitSession{Session: travelSession(t, g), share: tc.share}
		s.Begin(0)
		ex, _ := NewExplorer(s, ExplorerConfig{Horizon: 2, Discount: Discount{}})
		ex.Reset()
		b, _ := NewBuilder(g, Config{Ring: 2, NMax: 10})
		l, _ := b.Build(0, -1)
		if err := ex.Bind(l); err != nil {
			t.Fatal(err)
		}
		ex.Transition(ex.Root(), ex.Actions(ex.Root())[0])
		err := ex.Err()
		if (err != nil) != tc.wantErr {
			t.Fatalf("share %v: err %v, want error %v", tc.share, err, tc.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "undiscounted reward") {
			t.Fatalf("share %v: error %q does not name the undiscounted reward", tc.share, err)
		}
	}
}
