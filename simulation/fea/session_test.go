package fea

import (
	"container/heap"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// layeredOrder returns a printable order of all elements: grown from the
// supports, always taking the lowest (by mid-height) element that touches
// the printed structure or a supported node — the "layered" order of a
// simple slicer, which never prints a floating strut.
func layeredOrder(f *Frame) []int {
	n := f.NumNodes()
	reached := make([]bool, n)
	done := make([]bool, f.NumElems())
	inQ := make([]bool, f.NumElems())
	h := &elemHeap{f: f}
	push := func(v int) {
		f.Incident(v, func(e, _ int) {
			if !done[e] && !inQ[e] {
				inQ[e] = true
				heap.Push(h, e)
			}
		})
	}
	for v := 0; v < n; v++ {
		if f.Supports[v].Any() {
			reached[v] = true
			push(v)
		}
	}
	var order []int
	for h.Len() > 0 {
		e := heap.Pop(h).(int)
		done[e] = true
		order = append(order, e)
		for _, v := range []int{f.Elems[e].A, f.Elems[e].B} {
			if !reached[v] {
				reached[v] = true
				push(v)
			}
		}
	}
	return order
}

type elemHeap struct {
	f *Frame
	e []int
}

func (h *elemHeap) mid(e int) float64 {
	return (h.f.PosM[h.f.Elems[e].A].Z + h.f.PosM[h.f.Elems[e].B].Z) / 2
}
func (h *elemHeap) Len() int { return len(h.e) }
func (h *elemHeap) Less(i, j int) bool {
	mi, mj := h.mid(h.e[i]), h.mid(h.e[j])
	return mi < mj || (mi == mj && h.e[i] < h.e[j])
}
func (h *elemHeap) Swap(i, j int) { h.e[i], h.e[j] = h.e[j], h.e[i] }
func (h *elemHeap) Push(x any)    { h.e = append(h.e, x.(int)) }
func (h *elemHeap) Pop() any {
	x := h.e[len(h.e)-1]
	h.e = h.e[:len(h.e)-1]
	return x
}

// frontier returns unprinted elements touching the printed structure or a
// support (the candidates a planner would look at), up to max.
func frontier(f *Frame, printed func(int) bool, max int) []int {
	var out []int
	touched := make([]bool, f.NumNodes())
	for e := range f.Elems {
		if printed(e) {
			touched[f.Elems[e].A], touched[f.Elems[e].B] = true, true
		}
	}
	for e := range f.Elems {
		if printed(e) {
			continue
		}
		a, b := f.Elems[e].A, f.Elems[e].B
		if touched[a] || touched[b] || f.Supports[a].Any() || f.Supports[b].Any() {
			out = append(out, e)
			if len(out) == max {
				break
			}
		}
	}
	return out
}

// refMax solves "elements" from scratch with the one-shot solver.
func refMax(t testing.TB, f *Frame, elems []int, lc LoadCase) (float64, error) {
	res, err := f.SolveSubset(context.Background(), elems, lc, Options{})
	if err != nil {
		return 0, err
	}
	return res.MaxTranslationM, nil
}

// growthModels are the models the session tests grow in layered order:
// the Femur, a conmech and a long-span assembly_instances frame, and the
// Bunny unless -short.
func growthModels() []string {
	models := []string{"testdata/rl3dp/NodeFemur_wireframe.txt", "testdata/conmech/topopt-100.json", "testdata/assembly_instances/klein_bottle_trail.json"}
	if !testing.Short() {
		models = append(models, "testdata/rl3dp/NodeBunny_wireframe.txt")
	}
	return models
}

// TestSessionMatchesFullSolve grows Bunny and a conmech model in layered
// order and, at sampled states, compares WithCandidate (all three
// methods) on frontier candidates with a from-scratch solve of "printed +
// candidate"; it also exercises Remove (undo) and re-Add.
func TestSessionMatchesFullSolve(t *testing.T) {
	for _, path := range growthModels() {
		t.Run(path, func(t *testing.T) {
			_, f := loadModel(t, path)
			order := layeredOrder(f)
			if len(order) != f.NumElems() {
				t.Fatalf("layered order covers %d of %d elements", len(order), f.NumElems())
			}
			lc := SelfWeight()
			sessions := map[Incremental]*Session{}
			for _, m := range []Incremental{Woodbury, Refactor, WarmPCG} {
				s, err := f.NewSession(lc, SessionOptions{Method: m, PCGTol: 1e-12})
				if err != nil {
					t.Fatal(err)
				}
				sessions[m] = s
			}
			r := rand.New(rand.NewPCG(*seed, 11))
			checkpoints := map[int]bool{}
			for _, frac := range []float64{0.02, 0.1, 0.3, 0.6, 0.95} {
				checkpoints[int(frac*float64(len(order)))] = true
			}
			worst := map[Incremental]float64{}
			for k, e := range order {
				if checkpoints[k] {
					printed := order[:k]
					limit := 40
					if f.NumElems() > 1000 {
						limit = 6 // keep the from-scratch reference solves cheap
					}
					cands := frontier(f, sessions[Woodbury].Printed, limit)
					for _, c := range cands {
						want, werr := refMax(t, f, append(append([]int(nil), printed...), c), lc)
						for m, s := range sessions {
							got, err := s.WithCandidate(c)
							if (err != nil) != (werr != nil) {
								t.Fatalf("%v: step %d candidate %d: error %v, reference error %v", m, k, c, err, werr)
							}
							if werr != nil {
								if !errors.Is(err, ErrUnstable) {
									t.Fatalf("%v: unstable candidate: %v", m, err)
								}
								continue
							}
							worst[m] = math.Max(worst[m], relErr(got, want))
						}
					}
					// undo/redo a few random printed elements
					s := sessions[Woodbury]
					for i := 0; i < 3 && k > 0; i++ {
						x := printed[r.IntN(k)]
						if err := s.Remove(x); err != nil {
							t.Fatal(err)
						}
						var rest []int
						for _, y := range printed {
							if y != x {
								rest = append(rest, y)
							}
						}
						got, _, gerr := s.MaxDisplacement()
						want, werr := refMax(t, f, rest, lc)
						if (gerr != nil) != (werr != nil) || (werr == nil && relErr(got, want) > 1e-9) {
							t.Fatalf("after removing %d: %v (%v), want %v (%v)", x, got, gerr, want, werr)
						}
						if err := s.Add(x); err != nil {
							t.Fatal(err)
						}
					}
				}
				for _, s := range sessions {
					if err := s.Add(e); err != nil {
						t.Fatal(err)
					}
				}
			}
			got, _, err := sessions[Woodbury].MaxDisplacement()
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.Solve(context.Background(), lc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkRel(t, "complete print d_max", got, res.MaxTranslationM, 1e-10)
			t.Logf("worst relative error vs full solve: woodbury %.2g, refactor %.2g, warm-pcg %.2g", worst[Woodbury], worst[Refactor], worst[WarmPCG])
			if worst[Woodbury] > 1e-8 || worst[Refactor] > 1e-10 || worst[WarmPCG] > 1e-6 {
				t.Errorf("incremental results disagree with the full solve: %v", worst)
			}
		})
	}
}

// TestSessionUnstableCandidates: floating struts and hanging truss members
// are reported, and the session state is unchanged afterwards.
func TestSessionUnstableCandidates(t *testing.T) {
	_, f := loadModel(t, "testdata/rl3dp/NodeFemur_wireframe.txt")
	s, err := f.NewSession(SelfWeight(), SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	order := layeredOrder(f)
	for _, e := range order[:50] {
		if err := s.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	before, _, err := s.MaxDisplacement()
	if err != nil {
		t.Fatal(err)
	}
	// an element far from the print and from the ground floats
	touched := map[int]bool{}
	for _, e := range order[:50] {
		touched[f.Elems[e].A], touched[f.Elems[e].B] = true, true
	}
	floating := -1
	for e := range f.Elems {
		a, b := f.Elems[e].A, f.Elems[e].B
		if !touched[a] && !touched[b] && !f.Supports[a].Any() && !f.Supports[b].Any() {
			floating = e
			break
		}
	}
	_, err = s.WithCandidate(floating)
	var fe *FloatingError
	if !errors.As(err, &fe) || len(fe.Nodes) != 2 {
		t.Fatalf("floating candidate %d: got %v", floating, err)
	}
	after, _, err := s.MaxDisplacement()
	if err != nil || after != before {
		t.Fatalf("state changed by a query: %v → %v (%v)", before, after, err)
	}
	if err := s.Add(floating); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.MaxDisplacement(); !errors.As(err, &fe) {
		t.Fatalf("printed set with a floating strut: got %v", err)
	}
	if err := s.Remove(floating); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.MaxDisplacement(); err != nil || got != before {
		t.Fatalf("after undo: %v (%v), want %v", got, err, before)
	}
	if _, err := s.WithCandidate(order[0]); err == nil {
		t.Fatal("candidate that is already printed accepted")
	}
	if err := s.Remove(order[60]); err == nil {
		t.Fatal("removing an unprinted element accepted")
	}
}

// TestWindowMatchesSubFrame checks the LSG-local analysis against an
// independently built frame: only the printed struts inside the window,
// with the boundary nodes given as fully fixed supports.
func TestWindowMatchesSubFrame(t *testing.T) {
	_, f := loadModel(t, "testdata/rl3dp/NodeBunny_wireframe.txt")
	order := layeredOrder(f)
	s, err := f.NewSession(SelfWeight(), SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	half := len(order) / 2
	for _, e := range order[:half] {
		if err := s.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	var w *Session
	for trial, center := range []int{f.Elems[order[half]].A, f.Elems[order[half+50]].B, f.Elems[order[half-200]].A} {
		nodes := ring(f, center, 4)
		w, err = s.Window(nodes, w)
		if err != nil {
			t.Fatal(err)
		}
		in := map[int]bool{}
		for _, v := range nodes {
			in[v] = true
		}
		sup := append([]Fixity(nil), f.Supports...)
		for _, v := range w.Boundary() {
			sup[v] = FullyFixed
		}
		g, err := NewFrame(f.PosM, sup, f.Elems)
		if err != nil {
			t.Fatal(err)
		}
		var inside []int
		for _, e := range order[:half] {
			if in[f.Elems[e].A] && in[f.Elems[e].B] {
				inside = append(inside, e)
			}
		}
		if len(inside) != w.NumPrinted() {
			t.Fatalf("window holds %d printed struts, want %d", w.NumPrinted(), len(inside))
		}
		cands := 0
		for e := range f.Elems {
			if s.Printed(e) || !in[f.Elems[e].A] || !in[f.Elems[e].B] {
				continue
			}
			want, werr := refMax(t, g, append(append([]int(nil), inside...), e), SelfWeight())
			got, err := w.WithCandidate(e)
			if (err != nil) != (werr != nil) {
				t.Fatalf("trial %d candidate %d: %v vs reference %v", trial, e, err, werr)
			}
			if werr == nil {
				checkRel(t, "window d_max", got, want, 1e-8)
			}
			cands++
		}
		t.Logf("window around node %d: %d nodes, %d printed struts, %d boundary nodes, %d candidates", center, len(nodes), len(inside), len(w.Boundary()), cands)
	}
}

// ring returns the nodes within k edges of v (the LSG node set of a
// k-ring, spec §5).
func ring(f *Frame, v, k int) []int {
	dist := map[int]int{v: 0}
	front := []int{v}
	out := []int{v}
	for d := 1; d <= k; d++ {
		var next []int
		for _, u := range front {
			f.Incident(u, func(_, w int) {
				if _, ok := dist[w]; !ok {
					dist[w] = d
					next = append(next, w)
					out = append(out, w)
				}
			})
		}
		front = next
	}
	return out
}

// printedFemur returns the Femur frame, a session on it with the first n
// struts of layeredOrder printed, and that order.
func printedFemur(t *testing.T, n int) (*Frame, *Session, []int) {
	t.Helper()
	_, f := loadModel(t, "testdata/rl3dp/NodeFemur_wireframe.txt")
	order := layeredOrder(f)
	s, err := f.NewSession(SelfWeight(), SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range order[:n] {
		if err := s.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	return f, s, order
}

// candidateQuery returns a function asking s for every candidate's d_max
// (an unstable structure is an answer, not an error).
func candidateQuery(t *testing.T, s *Session, cands []int) func() {
	return func() {
		for _, c := range cands {
			if _, err := s.WithCandidate(c); err != nil && !errors.Is(err, ErrUnstable) {
				t.Fatal(err)
			}
		}
	}
}

// TestCandidateQueriesDoNotAllocate pins the hot path: once warm,
// WithCandidate (Woodbury) and a reused Window + WithCandidate allocate
// nothing.
func TestCandidateQueriesDoNotAllocate(t *testing.T) {
	f, s, order := printedFemur(t, 300)
	cands := frontier(f, s.Printed, 12)
	query := candidateQuery(t, s, cands)
	query()
	if a := testing.AllocsPerRun(20, query); a != 0 {
		t.Errorf("WithCandidate allocates %.1f times per %d queries", a, len(cands))
	}
	nodes := ring(f, f.Elems[order[300]].A, 5)
	w, err := s.Window(nodes, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wc, episode []int
	in := map[int]bool{}
	for _, v := range nodes {
		in[v] = true
	}
	for e := range f.Elems {
		if !s.Printed(e) && in[f.Elems[e].A] && in[f.Elems[e].B] {
			wc = append(wc, e)
			if _, err := w.WithCandidate(e); err == nil && len(episode) < 3 {
				episode = append(episode, e) // stable moves (a planner's episode)
			}
		}
	}
	local := func() {
		var err error
		w, err = s.Window(nodes, w)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range wc {
			if _, err := w.WithCandidate(c); err != nil && !errors.Is(err, ErrUnstable) {
				t.Fatal(err)
			}
		}
		// an episode: apply and undo inside the window
		for _, c := range episode {
			if err := w.Add(c); err != nil {
				t.Fatal(err)
			}
			if _, _, err := w.MaxDisplacement(); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range episode {
			if err := w.Remove(c); err != nil {
				t.Fatal(err)
			}
		}
	}
	local()
	local()
	if a := testing.AllocsPerRun(20, local); a != 0 {
		t.Errorf("window + %d queries + episode allocates %.1f times", len(wc), a)
	}
}

// TestConcurrentSessionsShareFrame: a Frame is read-only after NewFrame
// (its lazily computed orderings are guarded), so sessions in several
// goroutines may share it; results equal the sequential ones.
func TestConcurrentSessionsShareFrame(t *testing.T) {
	g, f0 := loadModel(t, "testdata/rl3dp/NodeFemur_wireframe.txt")
	_ = g
	f, err := NewFrame(f0.PosM, f0.Supports, f0.Elems) // fresh: orderings not computed yet
	if err != nil {
		t.Fatal(err)
	}
	order := layeredOrder(f)
	run := func() float64 {
		s, err := f.NewSession(SelfWeight(), SessionOptions{})
		if err != nil {
			t.Error(err)
			return 0
		}
		for _, e := range order[:200] {
			s.Add(e)
		}
		d, err := s.WithCandidate(order[200])
		if err != nil {
			t.Error(err)
		}
		return d
	}
	res := make(chan float64, 4)
	for i := 0; i < 4; i++ {
		go func() { res <- run() }()
	}
	want := run()
	for i := 0; i < 4; i++ {
		if got := <-res; got != want {
			t.Errorf("goroutine result %v, sequential %v", got, want)
		}
	}
}
