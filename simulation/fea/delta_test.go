package fea

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// deltaTol is the agreement the delta path (bordered update of an earlier
// factorisation) keeps with a fresh factorisation of "printed + candidate"
// (relative, on d_max). Measured worst cases are far below it (logged).
const deltaTol = 1e-9

// TestDeltaMatchesRefactor walks look-ahead trees as the planners do: at
// checkpoints of a layered print, random branches up to 14 struts deep
// are applied and undone, and at every node of the walk WithCandidate of
// frontier struts (closing struts, hanging struts, unstable ones) is
// compared between the default session (delta path on), a session with
// the delta path off and Refactor (independent: factorises "printed +
// candidate" from scratch). Errors must agree exactly; values within
// deltaTol, and the pruned sweep of the delta path must equal the full
// sweep exactly. It also checks the delta path was actually taken.
func TestDeltaMatchesRefactor(t *testing.T) {
	for _, path := range growthModels() {
		t.Run(path, func(t *testing.T) {
			_, f := loadModel(t, path)
			order := layeredOrder(f)
			lc := SelfWeight()
			newS := func(o SessionOptions) *Session {
				s, err := f.NewSession(lc, o)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			del := newS(SessionOptions{})
			off := newS(SessionOptions{MaxDelta: -1})
			ref := newS(SessionOptions{Method: Refactor})
			full := newS(SessionOptions{})
			full.noPrune = true
			all := []*Session{del, off, ref, full}
			add := func(e int) {
				for _, s := range all {
					if err := s.Add(e); err != nil {
						t.Fatal(err)
					}
				}
			}
			remove := func(e int) {
				for _, s := range all {
					if err := s.Remove(e); err != nil {
						t.Fatal(err)
					}
				}
			}
			r := rand.New(rand.NewPCG(*seed, 29))
			checkpoints := map[int]bool{}
			fracs := []float64{0.05, 0.3, 0.6, 0.9}
			walks, depth, cands := 3, 14, 6
			if testing.Short() {
				walks, cands = 2, 4
			}
			if f.NumElems() > 1000 { // reference factorisations dominate
				fracs, walks, depth, cands = []float64{0.4}, 2, 12, 3
			}
			for _, frac := range fracs {
				checkpoints[int(frac*float64(len(order)))] = true
			}
			worst, queries, unstable := 0.0, 0, 0
			for k, e := range order {
				if checkpoints[k] {
					for w := 0; w < walks; w++ {
						var path []int
						for d := 0; d < depth; d++ {
							fr := frontier(f, del.Printed, 400)
							if len(fr) == 0 {
								break
							}
							r.Shuffle(len(fr), func(i, j int) { fr[i], fr[j] = fr[j], fr[i] })
							for _, c := range fr[:min(cands, len(fr))] {
								dd, derr := del.WithCandidate(c)
								if df, ferr := full.WithCandidate(c); df != dd || (ferr != nil) != (derr != nil) {
									t.Fatalf("step %d depth %d candidate %d: pruned sweep %.17g (%v), full sweep %.17g (%v)", k, d, c, dd, derr, df, ferr)
								}
								do, oerr := off.WithCandidate(c)
								dr, rerr := ref.WithCandidate(c)
								if (derr != nil) != (rerr != nil) || (oerr != nil) != (rerr != nil) {
									t.Fatalf("step %d depth %d candidate %d: errors delta %v, off %v, refactor %v", k, d, c, derr, oerr, rerr)
								}
								if rerr != nil {
									if !errors.Is(derr, ErrUnstable) {
										t.Fatalf("delta error %v does not wrap ErrUnstable", derr)
									}
									unstable++
									continue
								}
								queries++
								worst = math.Max(worst, relErr(dd, dr))
								if relErr(dd, dr) > deltaTol || relErr(do, dr) > deltaTol {
									t.Fatalf("step %d depth %d candidate %d: d_max delta %.15g, off %.15g, refactor %.15g", k, d, c, dd, do, dr)
								}
							}
							// descend through a stable strut
							next := -1
							for _, c := range fr {
								if _, err := ref.WithCandidate(c); err == nil {
									next = c
									break
								}
							}
							if next < 0 {
								break
							}
							add(next)
							path = append(path, next)
						}
						for i := len(path) - 1; i >= 0; i-- {
							remove(path[i])
						}
					}
				}
				add(e)
			}
			t.Logf("%d queries (%d by the delta path), %d unstable; worst relative difference to refactor %.2g", queries, del.deltaHits, unstable, worst)
			if del.deltaHits < queries/4 {
				t.Errorf("delta path answered only %d of %d queries", del.deltaHits, queries)
			}
		})
	}
}

// TestDeltaQueriesDoNotAllocate: after warm-up, candidate queries on
// printed sets a few struts past the cached base (the delta path) do not
// allocate.
func TestDeltaQueriesDoNotAllocate(t *testing.T) {
	f, s, order := printedFemur(t, 300)
	if _, _, err := s.MaxDisplacement(); err != nil { // factorise the base
		t.Fatal(err)
	}
	for _, e := range order[300:303] {
		if err := s.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	cands := frontier(f, s.Printed, 12)
	query := candidateQuery(t, s, cands)
	query()
	hits := s.deltaHits
	if a := testing.AllocsPerRun(20, query); a != 0 {
		t.Errorf("delta queries allocate %.1f times per %d queries", a, len(cands))
	}
	if s.deltaHits == hits {
		t.Fatal("the delta path was not taken")
	}
}
