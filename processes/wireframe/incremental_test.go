package wireframe

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"fabcell/planners"
)

// TestIncrementalPlansIdentical compares the planners' plans with the
// incremental evaluation against reference sessions:
//
//   - collision.MoveCache and the arm's link-check memo are exact: with
//     them alone (FEA factorising every printed set) the moves (kind,
//     edge, direction, head axis) and step rewards equal those of
//     uncached swept-head and link tests, on every model.
//   - the FEA delta path changes rounding (≤ 1e-10 relative, fea
//     TestDeltaMatchesRefactor): step rewards agree within 1e-9 relative,
//     and the plans must be identical on Femur; elsewhere a plan may only
//     leave the reference at an exact tie of the reference itself (a
//     mirror-symmetric pair of struts whose sags differ in the 13th
//     digit, as in topopt-101_tiny), which the test checks.
//
// Plans are cut after 100 moves (-short: 40).
func TestIncrementalPlansIdentical(t *testing.T) {
	limit := 100
	if testing.Short() {
		limit = 40
	}
	type result struct {
		moves []planners.Move
		rw    []float64
		s     *Session
	}
	run := func(t *testing.T, model, planner string, noDelta, noCache bool) result {
		cfg := defaults()
		cfg.Planner.Ring, cfg.Planner.Seed = 4, 1
		p := newProc(t, cfg)
		p.noDelta, p.noMoveCache = noDelta, noCache
		g := load(t, p, model)
		s := open(t, p, g)
		pl, err := planners.NewPlanner(planner, planners.Options{Config: cfg.Planner, Process: p})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		n := 0
		moves, err := planners.Run(ctx, pl, s, func(int, int) {
			if n++; n >= limit {
				cancel()
			}
		})
		if err != nil && ctx.Err() == nil {
			t.Fatal(err)
		}
		// step rewards in their states (replayed from the start)
		for range s.Moves() {
			s.Undo()
		}
		var rw []float64
		for _, m := range moves {
			rw = append(rw, s.Reward(m))
			s.Apply(m)
		}
		return result{moves, rw, s}
	}
	// Rewards agree within the FEA's 1e-9 relative, which the sag terms
	// scale by their weights: with the peak-rise term (w_p = 10³ per mm)
	// a 1e-10 relative sag difference on a 12 mm sag is ~1e-6 of reward.
	cfg0 := defaults()
	wSag := cfg0.Wireframe.DisplacementWeightPerMM + cfg0.Wireframe.PeakDisplacementWeightPerMM
	var sagMM float64 // the reference plan's largest sag
	near := func(a, b float64) bool {
		return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))+1e-9*wSag*sagMM
	}
	for _, model := range []string{"testdata/klein_bottle_trail.json", "testdata/topopt-101_tiny.json", femurPath} {
		for _, planner := range []string{"lsg-dqn", "bfs"} {
			t.Run(model+"/"+planner, func(t *testing.T) {
				ref := run(t, model, planner, true, true)
				sagMM = ref.s.PeakDisplacementMM()
				cached := run(t, model, planner, true, false)
				if len(cached.moves) != len(ref.moves) {
					t.Fatalf("move cache: %d moves, reference %d", len(cached.moves), len(ref.moves))
				}
				for i := range ref.moves {
					if cached.moves[i] != ref.moves[i] || cached.rw[i] != ref.rw[i] {
						t.Fatalf("move cache: move %d %+v (reward %.17g), reference %+v (%.17g)", i, cached.moves[i], cached.rw[i], ref.moves[i], ref.rw[i])
					}
				}
				inc := run(t, model, planner, false, false)
				same := 0
				for same < min(len(inc.moves), len(ref.moves)) && inc.moves[same] == ref.moves[same] {
					if !near(inc.rw[same], ref.rw[same]) {
						t.Fatalf("move %d reward %.17g, reference %.17g", same, inc.rw[same], ref.rw[same])
					}
					same++
				}
				if same == len(ref.moves) && len(inc.moves) == len(ref.moves) {
					t.Logf("%d identical moves", same)
					return
				}
				if model == femurPath || same >= min(len(inc.moves), len(ref.moves)) {
					t.Fatalf("plans differ at move %d of %d", same, len(ref.moves))
				}
				// the reference's own rewards for both moves at the fork
				s := ref.s
				for range s.Moves()[same:] {
					s.Undo()
				}
				a, b := s.Reward(inc.moves[same]), s.Reward(ref.moves[same])
				if !near(a, b) {
					t.Fatalf("plans fork at move %d: %+v (reference reward %.17g) vs reference %+v (%.17g) — not a tie", same, inc.moves[same], a, ref.moves[same], b)
				}
				t.Logf("identical for %d moves, then a tie of the reference (rewards %.17g vs %.17g)", same, a, b)
			})
		}
	}
}

// TestLinksClearMemo walks the Femur with random prints and look-ahead
// bursts (apply, undo) and after every change compares the memoised
// arm-link check with the full world query for 60 random combos that
// passed the static check so far; some must be blocked.
func TestLinksClearMemo(t *testing.T) {
	cfg := defaults()
	// a wide clearance, so that links come near printed struts and both
	// answers occur
	cfg.Wireframe.ArmClearanceMM = 60
	p := newProc(t, cfg)
	g := load(t, p, femurPath)
	s := open(t, p, g)
	if s.arm == nil {
		t.Fatal("no arm check")
	}
	rng := rand.New(rand.NewPCG(5, 8))
	var keys []int32
	if err := s.Begin(s.Starts()[0]); err != nil {
		t.Fatal(err)
	}
	const steps = 120 // about 1.5 s; fewer steps may not reach a blocked link
	checks, blocked := 0, 0
	compare := func(step int) {
		top := s.maxZ[len(s.maxZ)-1]
		keys = keys[:0]
		for k := range s.arm.joints {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		for _, k := range keys[:min(len(keys), 60)] {
			got := s.arm.linksClear(k, s.world, s.strutR, top)
			want := s.arm.linksClearFull(k, s.world, s.strutR, top, nil)
			if got != want {
				t.Fatalf("step %d combo %d: memo %v, world query %v", step, k, got, want)
			}
			checks++
			if !got {
				blocked++
			}
		}
	}
	for i := 0; i < steps; i++ {
		m, ok := randomStep(s, rng)
		if !ok {
			break
		}
		s.Apply(m)
		compare(i)
		n := 0
		for ; n < 1+rng.IntN(4); n++ {
			c := s.Candidates(nil)
			if len(c) == 0 {
				break
			}
			s.Apply(c[rng.IntN(len(c))])
			compare(i)
		}
		for ; n > 0; n-- {
			s.Undo()
			compare(i)
		}
	}
	t.Logf("%d link checks compared (%d blocked)", checks, blocked)
	if checks == 0 || blocked == 0 {
		t.Fatalf("the test exercises nothing: %d checks, %d blocked", checks, blocked)
	}
}
