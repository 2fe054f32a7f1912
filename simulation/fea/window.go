package fea

import "fmt"

// Window returns a session for the paper's LSG-local analysis (spec §8.1:
// "inside an LSG the FEA runs only on the printed struts of the LSG, and
// LSG nodes that have printed struts outside the LSG are also fixed"):
//
//   - its structure is the printed struts of s with both ends in nodes;
//   - window nodes with a printed strut leading outside the window are
//     fully fixed (they hang on the rest of the print), besides the frame's
//     own supports;
//   - Add, Remove and WithCandidate accept only struts with both ends in
//     the window.
//
// The window reflects s at the time of the call; later changes to s do not
// reach it. Pass the previous window as reuse to recycle its buffers (the
// planner opens one window per LSG, thousands of times): with reuse the
// call does not allocate once warm. The window shares s's frame, load case
// and options.
func (s *Session) Window(nodes []int, reuse *Session) (*Session, error) {
	f := s.f
	if s.inWindow != nil {
		return nil, fmt.Errorf("fea: a window of a window is not supported (open both from the whole-frame session)")
	}
	w := reuse
	if w == nil || w.f != f || w == s {
		n := f.NumNodes()
		w = &Session{f: f, opt: s.opt, lc: s.lc, loads: s.loads, point: s.point, rank: s.rank,
			printed: make([]bool, f.NumElems()), where: make([]int32, f.NumElems()),
			inWindow: make([]bool, n), extraFixed: make([]bool, n)}
		for i := range w.where {
			w.where[i] = -1
		}
	} else {
		for _, e := range w.list {
			w.printed[e] = false
			w.where[e] = -1
		}
		for _, v := range w.windowNode {
			w.inWindow[v] = false
		}
		for _, v := range w.windowFix {
			w.extraFixed[v] = false
		}
		for _, st := range w.states {
			st.valid = false
		}
		w.opt, w.lc, w.loads, w.point, w.rank = s.opt, s.lc, s.loads, s.point, s.rank
	}
	w.list, w.windowNode, w.windowFix = w.list[:0], w.windowNode[:0], w.windowFix[:0]
	w.hash, w.cur = 0, nil
	w.pcg.have, w.pcg.cHave = false, false
	for _, v := range nodes {
		if v < 0 || v >= f.NumNodes() {
			return nil, fmt.Errorf("fea: window node %d out of range [0,%d)", v, f.NumNodes())
		}
		if !w.inWindow[v] {
			w.inWindow[v] = true
			w.windowNode = append(w.windowNode, int32(v))
		}
	}
	for _, v := range w.windowNode {
		for q := f.adjStart[v]; q < f.adjStart[v+1]; q++ {
			e := f.adjElem[q]
			if !s.printed[e] {
				continue
			}
			if !w.inWindow[f.adjOther[q]] {
				if !w.extraFixed[v] {
					w.extraFixed[v] = true
					w.windowFix = append(w.windowFix, v)
				}
				continue
			}
			if !w.printed[e] {
				w.printed[e] = true
				w.where[e] = int32(len(w.list))
				w.list = append(w.list, e)
				w.hash ^= zobrist(e)
			}
		}
	}
	return w, nil
}

// Boundary returns the window nodes fixed because printed struts lead
// outside the window (nil for a whole-frame session; shared slice).
func (s *Session) Boundary() []int32 { return s.windowFix }

// Local is the one-call LSG-local query: d_max (m) of the printed struts
// among nodes plus candidate e, with the window boundary fixed (see
// Window). It reuses one internal window, so repeated calls do not
// allocate once warm; for several candidates or an episode inside the same
// LSG, open a Window once instead.
func (s *Session) Local(nodes []int, e int) (float64, error) {
	w, err := s.Window(nodes, s.local)
	if err != nil {
		return 0, err
	}
	s.local = w
	return w.WithCandidate(e)
}
