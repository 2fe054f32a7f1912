package lsg

// Dense state tensor (spec §5.1, §5.3): channel 0 is A, the adjacency of
// normalised lengths of edges with passes left (0 = no edge or used up);
// channel 1 is A†, A with the entry of the last move restored to its value
// before that move; channel 2 is A‡, A† with the entry of the move before
// it restored too. With fewer path moves the missing restorations are
// no-ops, i.e. A‡ = A† = A at the start. Travel and jump moves restore
// nothing (their entries did not change), as in the release's stack of
// the last three A matrices. Each channel has ExtraRows rows below the
// N×N block: u, v, height above v_c (all / LMax) and heat — the heat of
// the state the channel describes (now, one step ago, two steps ago)
// inside the tree; before the root the root's heat is repeated.

// Value returns the adjacency entry of LSG edge k with rem passes left.
func (e *Explorer) Value(k int, rem int32) float64 {
	if rem <= 0 {
		return 0
	}
	v := e.l.Edges[k].Len
	if rem >= 2 && e.cfg.SignedPasses {
		return -v
	}
	return v
}

// FillRoot writes the root state into buf (len ≥ lo.Len()); everything
// outside the LSG is zero.
func (e *Explorer) FillRoot(lo Layout, buf []float64) {
	l := e.l
	buf = buf[:lo.Len()]
	clear(buf)
	for k, ed := range l.Edges {
		v := e.Value(k, e.rootRem[k])
		for c := 0; c < Channels; c++ {
			buf[lo.Index(c, int(ed.I), int(ed.J))] = v
			buf[lo.Index(c, int(ed.J), int(ed.I))] = v
		}
	}
	if h := e.hist[0]; h.ok {
		if k := l.EdgeLocal(h.m.Edge); k >= 0 {
			e.setEntry(lo, buf, 1, k, e.Value(k, h.remBefore), nil)
			e.setEntry(lo, buf, 2, k, e.Value(k, h.remBefore), nil)
		}
	}
	if h := e.hist[1]; h.ok {
		if k := l.EdgeLocal(h.m.Edge); k >= 0 {
			e.setEntry(lo, buf, 2, k, e.Value(k, h.remBefore), nil)
		}
	}
	rl := e.lsgNode(0)
	for c := 0; c < Channels; c++ {
		for i := range l.Nodes {
			buf[lo.Index(c, lo.N+RowU, i)] = l.UV[i][0]
			buf[lo.Index(c, lo.N+RowV, i)] = l.UV[i][1]
			buf[lo.Index(c, lo.N+RowDZ, i)] = l.DZ[i]
			if rl.heatStart >= 0 {
				buf[lo.Index(c, lo.N+RowHeat, i)] = e.heats[int(rl.heatStart)+i]
			}
		}
	}
}

type undoEntry struct {
	i   int32
	old float64
}

// Overlay records the edits Materialise made to a root state buffer so that
// Revert restores it.
type Overlay struct{ log []undoEntry }

// Revert undoes the edits in reverse order and empties the overlay.
func (o *Overlay) Revert(buf []float64) {
	for i := len(o.log) - 1; i >= 0; i-- {
		u := o.log[i]
		buf[u.i] = u.old
	}
	o.log = o.log[:0]
}

func (e *Explorer) setEntry(lo Layout, buf []float64, c, k int, v float64, o *Overlay) {
	ed := e.l.Edges[k]
	a, b := lo.Index(c, int(ed.I), int(ed.J)), lo.Index(c, int(ed.J), int(ed.I))
	if o != nil {
		o.log = append(o.log, undoEntry{int32(a), buf[a]}, undoEntry{int32(b), buf[b]})
	}
	buf[a], buf[b] = v, v
}

// remAt returns the pass count of LSG edge k in node x's state.
func (e *Explorer) remAt(ln *lnode, k int) int32 {
	for _, d := range e.diffs[ln.diffStart : ln.diffStart+ln.diffLen] {
		if int(d.k) == k {
			return d.rem
		}
	}
	return e.rootRem[k]
}

// Materialise turns buf, which must hold FillRoot's root state, into the
// state of node x, recording the edits in o (call o.Revert(buf) before
// materialising another node into the same buffer).
func (e *Explorer) Materialise(x int32, lo Layout, buf []float64, o *Overlay) {
	if x == 0 {
		return
	}
	l := e.l
	ln := e.lsgNode(x)
	// last two moves of the combined sequence (real history, then tree)
	var last, second histStep
	hp := e.nodes[x].parent // heat source of channel 1
	last = histStep{m: e.nodes[x].move, remBefore: e.nodes[x].remBefore, ok: true}
	if p := e.nodes[x].parent; p > 0 {
		second = histStep{m: e.nodes[p].move, remBefore: e.nodes[p].remBefore, ok: true}
	} else {
		second = e.hist[0]
	}
	// touched LSG edges: diff(x) ∪ last ∪ second ∪ the root's restorations
	var touched [4]int
	nt := 0
	add := func(k int) {
		if k < 0 {
			return
		}
		for i := 0; i < nt; i++ {
			if touched[i] == k {
				return
			}
		}
		touched[nt] = k
		nt++
	}
	edgeOf := func(h histStep) int {
		if !h.ok {
			return -1
		}
		return l.EdgeLocal(h.m.Edge)
	}
	kLast, kSecond := edgeOf(last), edgeOf(second)
	add(kLast)
	add(kSecond)
	add(edgeOf(e.hist[0]))
	add(edgeOf(e.hist[1]))
	write := func(k int) {
		v0 := e.Value(k, e.remAt(ln, k))
		v1 := v0
		if k == kLast {
			v1 = e.Value(k, last.remBefore)
		}
		v2 := v1
		if k == kSecond {
			v2 = e.Value(k, second.remBefore)
		}
		e.setEntry(lo, buf, 0, k, v0, o)
		e.setEntry(lo, buf, 1, k, v1, o)
		e.setEntry(lo, buf, 2, k, v2, o)
	}
	for _, d := range e.diffs[ln.diffStart : ln.diffStart+ln.diffLen] {
		k := int(d.k)
		isT := false
		for i := 0; i < nt; i++ {
			isT = isT || touched[i] == k
		}
		if !isT {
			write(k)
		}
	}
	for i := 0; i < nt; i++ {
		write(touched[i])
	}
	if ln.heatStart >= 0 {
		srcs := [Channels]int32{x, hp, -1}
		if hp > 0 {
			srcs[2] = e.nodes[hp].parent
		} else {
			srcs[2] = 0
		}
		for c, src := range srcs {
			if src < 0 {
				src = 0
			}
			sl := e.lsgNode(src)
			for i := range l.Nodes {
				idx := lo.Index(c, lo.N+RowHeat, i)
				o.log = append(o.log, undoEntry{int32(idx), buf[idx]})
				buf[idx] = e.heats[int(sl.heatStart)+i]
			}
		}
	}
}
