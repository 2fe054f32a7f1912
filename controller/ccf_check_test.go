package controller

import (
	"errors"
	"strings"
	"testing"
	"time"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/safety"
)

// ccfTestAdapter builds the CCF adapter for the 4×4 lattice on a dry-run
// cell (UR5e simulator over TCP, board simulator over a pseudo-terminal).
func ccfTestAdapter(t *testing.T, cell config.Cell) (*ccfAdapter, *Env, error) {
	t.Helper()
	cell.CCF.Layers = 1
	cell.CCF.InfillSpacingMM = 5
	ctx, io := dryCell(t, cell, time.Minute)
	proc, err := planners.NewProcess("ccf", cell)
	if err != nil {
		t.Fatal(err)
	}
	g, err := proc.Load(absPath(t, "testdata/NodeGrid_CCF.txt"))
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Job: JobSpec{ID: "ccf-check", Process: "ccf"}, Cell: cell, Gate: safety.New(cell), Graph: g, Process: proc, IO: io}
	ad, ex, err := newCCFAdapter(ctx, env)
	if err != nil {
		return nil, env, err
	}
	t.Cleanup(func() { ex.Close() })
	return ad.(*ccfAdapter), env, nil
}

func printMove(t *testing.T, env *Env, from, to int) planners.Move {
	t.Helper()
	e, ok := env.Graph.EdgeBetween(from, to)
	if !ok {
		t.Fatalf("no edge %d–%d in the test lattice", from, to)
	}
	return planners.Move{From: from, To: to, Kind: planners.Print, Edge: e}
}

func wantRule(t *testing.T, err error, rule safety.Rule, what string) *safety.Violation {
	t.Helper()
	var v *safety.Violation
	if !errors.As(err, &v) {
		t.Fatalf("%s: got %v, want a %s refusal", what, err, rule)
	}
	if v.Rule != rule {
		t.Fatalf("%s: refused by %s (%v), want %s", what, v.Rule, err, rule)
	}
	return v
}

func checkApply(t *testing.T, a *ccfAdapter, m planners.Move) {
	t.Helper()
	if err := a.Check(m); err != nil {
		t.Fatalf("move %d→%d refused: %v", m.From, m.To, err)
	}
	if _, err := a.Apply(m); err != nil {
		t.Fatalf("move %d→%d: %v", m.From, m.To, err)
	}
}

// TestCCFCheckRefusals feeds the CCF checker the moves it must refuse —
// a jump, a move that does not start where the fibre ends, a move along a
// non-edge, a third pass over an edge, a turn sharper than
// safety.max_fiber_turn_deg — each named by its rule, with the shadow
// state unchanged so the next legal move is still accepted.
func TestCCFCheckRefusals(t *testing.T) {
	cell := testCell(t)
	cell.Safety.MaxFiberTurnDeg = 120
	a, env, err := ccfTestAdapter(t, cell)
	if err != nil {
		t.Fatal(err)
	}
	// lattice: node i at (25·(i mod 4), 25·(i div 4)) mm
	wantRule(t, a.Check(planners.Move{From: 0, To: 15, Kind: planners.Jump, Edge: -1}), safety.RuleContinuity, "jump")
	checkApply(t, a, printMove(t, env, 0, 1))
	wantRule(t, a.Check(printMove(t, env, 4, 5)), safety.RuleContinuity, "move away from the fibre end")
	wantRule(t, a.Check(planners.Move{From: 1, To: 3, Kind: planners.Print, Edge: 0}), safety.RuleContinuity, "non-edge")
	v := wantRule(t, a.Check(printMove(t, env, 1, 0)), safety.RuleTurn, "180° reversal")
	if v.Value < 179 || v.Limit != 120 {
		t.Fatalf("turn refusal reports %v° against %v°", v.Value, v.Limit)
	}
	if !strings.Contains(v.Error(), "turning_angle") {
		t.Fatalf("refusal %q does not name the rule", v.Error())
	}
	// a 90° turn is within the limit; so is the way back over the same
	// edge after a detour
	checkApply(t, a, printMove(t, env, 1, 5))
	checkApply(t, a, printMove(t, env, 5, 4))
	checkApply(t, a, printMove(t, env, 4, 0))
	checkApply(t, a, printMove(t, env, 0, 1)) // second pass over 0–1
	checkApply(t, a, printMove(t, env, 1, 5)) // second pass over 1–5
	checkApply(t, a, printMove(t, env, 5, 4)) // second pass over 5–4
	checkApply(t, a, printMove(t, env, 4, 0)) // second pass over 4–0
	v = wantRule(t, a.Check(printMove(t, env, 0, 1)), safety.RuleFiberPasses, "third pass")
	if v.Value != 3 || v.Limit != 2 {
		t.Fatalf("passes refusal reports %v against %v", v.Value, v.Limit)
	}
	// refusals leave the state alone: the fibre still ends at node 0
	if err := a.Check(printMove(t, env, 0, 4)); err == nil {
		t.Fatal("third pass over 0–4 accepted")
	}
	if cur := a.sess.Current(); cur != 0 {
		t.Fatalf("fibre ends at node %d after refusals, want 0", cur)
	}
}

// TestCCFUnreachablePartRefused places the part beyond the UR5e's reach:
// the adapter refuses the job before anything moves, naming reachability.
func TestCCFUnreachablePartRefused(t *testing.T) {
	cell := testCell(t)
	cell.Robot.BedFrame.XMM = 1400 // UR5e reach is 850 mm
	_, _, err := ccfTestAdapter(t, cell)
	v := wantRule(t, err, safety.RuleReach, "part beyond reach")
	if !strings.Contains(err.Error(), "matrix layer") || !strings.Contains(v.Detail, "bed point") {
		t.Fatalf("refusal %q does not say where", err)
	}
}
