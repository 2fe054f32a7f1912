package lsg

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"fabcell/planners"
	"fabcell/planners/graph"
)

// dumpTree walks every action sequence of at most Horizon steps from the
// root of the bound LSG and writes, per prefix, its moves, step return,
// done flag, dead end and jump charge: the whole memo as a decision sees
// it, comparable between explorers.
func dumpTree(ex *Explorer) string {
	var b strings.Builder
	var walk func(x int32, path string)
	walk = func(x int32, path string) {
		for _, a := range slices.Clone(ex.Actions(x)) {
			m := ex.ActionMove(x, a)
			c, r, done := ex.Transition(x, a)
			dead, jr, ok := ex.DeadEnd(c)
			p := fmt.Sprintf("%s %d>%d/%d", path, m.From, m.To, m.Edge)
			fmt.Fprintf(&b, "%s: a=%d r=%.17g done=%v dead=%v jump=%v/%.17g fin=%v\n", p, a.Local, r, done, dead, ok, jr, ex.Done(c))
			if !done {
				walk(c, p)
			}
		}
	}
	walk(ex.Root(), "")
	return b.String()
}

// islands is a triangulated 4×3 grid plus a separate 2×2 grid: a plan
// needs a jump chain between them.
func islands(t *testing.T) *graph.Graph {
	a := gridGraph(t, 4, 3, true)
	pos := slices.Clone(a.Pos)
	var edges []graph.Edge
	for _, e := range a.Edges {
		edges = append(edges, graph.Edge{A: e.A, B: e.B})
	}
	b := gridGraph(t, 2, 2, false)
	off := len(pos)
	for _, p := range b.Pos {
		p.X += 70
		pos = append(pos, p)
	}
	for _, e := range b.Edges {
		edges = append(edges, graph.Edge{A: e.A + off, B: e.B + off})
	}
	return mustGraph(t, pos, edges)
}

// TestRerootedMemoMatchesFreshTree plans whole toolpaths (exact search,
// jumps included) with an explorer that re-roots at every Commit, and at
// every decision compares its whole memoised n-step tree with a fresh
// explorer's on an independent session in the same state (every reward,
// done flag, dead end and jump charge bit for bit, in the same order),
// and the exact search's choice with the fresh one's. Re-rooting must
// evaluate fewer rewards and candidate lists than the fresh trees, and a
// jump must drop the tree.
func TestRerootedMemoMatchesFreshTree(t *testing.T) {
	for name, g := range map[string]*graph.Graph{"tri5x4": gridGraph(t, 5, 4, true), "islands": islands(t)} {
		for _, n := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%s/n=%d", name, n), func(t *testing.T) {
				cs := &countingSession{Session: travelSession(t, g)}
				ref := &countingSession{Session: travelSession(t, g)}
				for _, s := range []planners.Session{cs, ref} {
					if err := s.Begin(0); err != nil {
						t.Fatal(err)
					}
				}
				cfg := ExplorerConfig{Horizon: n, Discount: Discount{}, JumpLookahead: true}
				b, _ := NewBuilder(g, Config{Ring: n, NMax: 40})
				ex, err := NewExplorer(cs, cfg)
				if err != nil {
					t.Fatal(err)
				}
				ex.Reset()
				commit := func(m planners.Move) {
					ex.Commit(m)
					ref.Apply(m)
				}
				decisions, jumps, freshRewards := 0, 0, 0
				for !cs.Done() {
					cands := cs.Candidates(nil)
					if len(cands) == 0 {
						js := slices.Clone(cs.Jump())
						if len(js) == 0 {
							t.Fatal("stuck")
						}
						jumps++
						reroots := ex.Stats().Reroots
						for _, m := range js {
							commit(m)
						}
						if ex.Nodes() != 1 || ex.Stats().Reroots != reroots {
							t.Fatalf("after a jump chain the tree holds %d prefixes (%d re-roots, %d before)", ex.Nodes(), ex.Stats().Reroots, reroots)
						}
						continue
					}
					l, err := b.BuildAt(cs)
					if err != nil {
						t.Fatal(err)
					}
					if err := ex.Bind(l); err != nil {
						t.Fatal(err)
					}
					fresh, _ := NewExplorer(ref, cfg)
					fresh.Reset()
					if err := fresh.Bind(l); err != nil {
						t.Fatal(err)
					}
					before := ref.rewards
					if got, want := dumpTree(ex), dumpTree(fresh); got != want {
						t.Fatalf("decision %d at node %d: re-rooted memo differs from a fresh tree:\n%s\nwant\n%s", decisions, cs.Current(), got, want)
					}
					first, ret, ok, err := NewExact(ex, NewStepBound(ex, 1)).Solve(context.Background(), 0, nil)
					ff, fret, fok, ferr := NewExact(fresh, NewStepBound(fresh, 1)).Solve(context.Background(), 0, nil)
					if err != nil || ferr != nil || !ok || !fok || first != ff || ret != fret {
						t.Fatalf("decision %d: exact search %d %v %v %v, fresh %d %v %v %v", decisions, first, ret, ok, err, ff, fret, fok, ferr)
					}
					freshRewards += ref.rewards - before
					fresh.SyncRoot()
					m := cands[0]
					if first >= 0 {
						m = ex.ActionMove(ex.Root(), ex.Actions(ex.Root())[first])
					}
					decisions++
					commit(m)
				}
				st := ex.Stats()
				if st.Rewards != cs.rewards || st.Drops != 0 {
					t.Fatalf("stats %+v, session counted %d rewards", st, cs.rewards)
				}
				t.Logf("%d decisions, %d jump chains: %d reward evaluations re-rooted vs %d fresh; %d re-roots kept %d prefixes",
					decisions, jumps, st.Rewards, freshRewards, st.Reroots, st.Kept)
				if n > 1 && (st.Reroots == 0 || st.Rewards >= freshRewards) {
					t.Errorf("re-rooting saved nothing: %d vs %d rewards, %d re-roots", st.Rewards, freshRewards, st.Reroots)
				}
				if name == "islands" && jumps == 0 {
					t.Error("no jump: the test misses the drop on jumps")
				}
			})
		}
	}
}

// TestMemoDroppedWhenSessionChangedBehind: a session moved by someone else
// between decisions (a controller's Undo, another move, Begin) makes Bind
// and Commit drop the memo and re-root at the session's real state; an
// Undo followed by the same move restores the same state and keeps it.
// With DropOnCommit every Commit starts an empty tree.
func TestMemoDroppedWhenSessionChangedBehind(t *testing.T) {
	g := gridGraph(t, 5, 4, true)
	setup := func(cfg ExplorerConfig) (*countingSession, *Builder, *Explorer, planners.Move) {
		cs := &countingSession{Session: travelSession(t, g)}
		if err := cs.Begin(6); err != nil {
			t.Fatal(err)
		}
		b, _ := NewBuilder(g, Config{Ring: 2, NMax: 40})
		ex, _ := NewExplorer(cs, cfg)
		ex.Reset()
		l, _ := b.Build(6, -1)
		if err := ex.Bind(l); err != nil {
			t.Fatal(err)
		}
		dumpTree(ex) // memoise the whole 2-step tree
		m := ex.ActionMove(ex.Root(), ex.Actions(ex.Root())[0])
		ex.Commit(m)
		return cs, b, ex, m
	}
	cfg := ExplorerConfig{Horizon: 2, Discount: Discount{}, JumpLookahead: true}
	bind := func(cs *countingSession, b *Builder, ex *Explorer) {
		t.Helper()
		ms := cs.Moves()
		l, _ := b.BuildAt(cs)
		if err := ex.Bind(l); err != nil {
			t.Fatal(err)
		}
		// the memo, kept or not, must equal a fresh tree at the real state
		ref := travelSession(t, g)
		ref.Begin(6)
		for _, m := range ms {
			ref.Apply(m)
		}
		fresh, _ := NewExplorer(ref, cfg)
		fresh.Reset()
		fresh.Bind(l)
		if got, want := dumpTree(ex), dumpTree(fresh); got != want {
			t.Fatalf("memo differs from a fresh tree:\n%s\nwant\n%s", got, want)
		}
	}

	t.Run("undo and same move", func(t *testing.T) {
		cs, b, ex, m := setup(cfg)
		kept := ex.Nodes()
		cs.Undo()
		cs.Apply(m)
		bind(cs, b, ex)
		if ex.Stats().Drops != 0 || kept < 2 {
			t.Fatalf("same state: %d drops, %d prefixes kept", ex.Stats().Drops, kept)
		}
	})
	t.Run("undo and other move", func(t *testing.T) {
		cs, b, ex, m := setup(cfg)
		cs.Undo()
		var other planners.Move
		for _, c := range cs.Candidates(nil) {
			if c.To != m.To {
				other = c
				break
			}
		}
		cs.Apply(other)
		bind(cs, b, ex)
		if ex.Stats().Drops != 1 {
			t.Fatalf("%d drops, want 1", ex.Stats().Drops)
		}
	})
	t.Run("undo only", func(t *testing.T) {
		cs, b, ex, _ := setup(cfg)
		cs.Undo()
		bind(cs, b, ex)
		if ex.Stats().Drops != 1 {
			t.Fatalf("%d drops, want 1", ex.Stats().Drops)
		}
	})
	t.Run("begin", func(t *testing.T) {
		cs, b, ex, _ := setup(cfg)
		if err := cs.Begin(6); err != nil {
			t.Fatal(err)
		}
		bind(cs, b, ex)
		if ex.Stats().Drops != 1 {
			t.Fatalf("%d drops, want 1", ex.Stats().Drops)
		}
	})
	t.Run("commit after external move", func(t *testing.T) {
		cs, b, ex, _ := setup(cfg)
		ext := cs.Candidates(nil)[0]
		cs.Apply(ext)
		next := cs.Candidates(nil)[0]
		ex.Commit(next)
		if ex.Stats().Drops != 1 || ex.Nodes() != 1 || cs.Current() != next.To {
			t.Fatalf("%d drops, %d nodes, at %d", ex.Stats().Drops, ex.Nodes(), cs.Current())
		}
		bind(cs, b, ex)
		if ex.Stats().Drops != 1 {
			t.Fatalf("%d drops after a consistent commit", ex.Stats().Drops)
		}
	})
	t.Run("drop on commit", func(t *testing.T) {
		c := cfg
		c.DropOnCommit = true
		cs, b, ex, _ := setup(c)
		if ex.Nodes() != 1 || ex.Stats().Reroots != 0 {
			t.Fatalf("DropOnCommit kept %d prefixes", ex.Nodes())
		}
		bind(cs, b, ex)
	})
	t.Run("kept prefixes cost nothing", func(t *testing.T) {
		cs, b, ex, _ := setup(cfg)
		kept := ex.Nodes()
		before := cs.rewards
		l, _ := b.Build(cs.Current(), cs.Moves()[0].From)
		ex.Bind(l)
		// the kept prefixes are exactly the first step of the new tree plus
		// one more: walking one step re-evaluates nothing
		for _, a := range slices.Clone(ex.Actions(ex.Root())) {
			ex.Transition(ex.Root(), a)
		}
		if kept < 2 || cs.rewards != before {
			t.Fatalf("%d prefixes kept, walking them evaluated %d rewards", kept, cs.rewards-before)
		}
	})
}

// TestHorizonLeavesNotExpanded: a prefix reached at the horizon ends its
// episode whatever its moves are, so its candidate moves (the process's
// feasible-move search) are not asked for until something needs them.
func TestHorizonLeavesNotExpanded(t *testing.T) {
	g := gridGraph(t, 5, 4, true)
	for _, n := range []int{1, 2} {
		cs := &countingSession{Session: travelSession(t, g)}
		cs.Begin(6)
		b, _ := NewBuilder(g, Config{Ring: n, NMax: 40})
		ex, _ := NewExplorer(cs, ExplorerConfig{Horizon: n, Discount: Discount{}, JumpLookahead: true})
		ex.Reset()
		l, _ := b.Build(6, -1)
		ex.Bind(l)
		inner := 0 // prefixes shallower than the horizon
		var walk func(x int32)
		walk = func(x int32) {
			inner++
			for _, a := range slices.Clone(ex.Actions(x)) {
				if c, _, done := ex.Transition(x, a); !done {
					walk(c)
				}
			}
		}
		walk(ex.Root())
		if st := ex.Stats(); st.Expansions != inner || st.Rewards != ex.Nodes()-1 {
			t.Errorf("n=%d: %+v for %d inner prefixes and %d nodes", n, st, inner, ex.Nodes())
		}
		// asking a leaf for its moves expands it then
		leaf := ex.Nodes() - 1
		ex.Actions(int32(leaf))
		if st := ex.Stats(); st.Expansions != inner+1 {
			t.Errorf("n=%d: leaf not expanded on demand: %+v", n, st)
		}
	}
}
