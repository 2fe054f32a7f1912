package gcode

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"

	"fabcell/processes/gcode/parse"
)

// wallStroke is a stroke of a G-code file read back from its text:
// consecutive extrusions joined end to start, with its layer, whether it
// is a perimeter, its first move and bounding box.
type wallStroke struct {
	layer     int
	perimeter bool
	loop      bool       // closed, or stopping at most 0.5 mm (and 1/4 of its length) short
	first     [4]float64 // start XY and end XY of its first move: identifies it
	lo, hi    [2]float64
}

// readStrokes lists the strokes of a file in print order (an independent
// reading: the parse package's interpreter, this test's own grouping).
func readStrokes(t *testing.T, data []byte) []wallStroke {
	t.Helper()
	sc := parse.NewScanner(bytes.NewReader(data))
	m := parse.NewMachine(parse.Options{})
	var out []wallStroke
	layer, typ := 0, ""
	var cur *wallStroke
	var start, last [3]float64
	length := 0.0
	end := func() {
		if cur == nil {
			return
		}
		gap := math.Hypot(last[0]-start[0], last[1]-start[1])
		cur.loop = gap <= 1e-9 || gap <= min(0.5, 0.25*length)
		out = append(out, *cur)
		cur = nil
	}
	for sc.Scan() {
		l := sc.Line()
		op, err := m.Exec(l)
		if err != nil {
			t.Fatal(err)
		}
		if l.Letter == 0 {
			c := string(l.Comment)
			switch {
			case parse.LayerMarker(l.Comment):
				end()
				layer++
			case strings.HasPrefix(c, "TYPE:"):
				typ = strings.ToLower(c[5:])
			}
		}
		if op != parse.OpMove {
			continue
		}
		mv := &m.Move
		if !mv.HasXY() && mv.DE == 0 {
			continue
		}
		if !(mv.IsExtrusion() && mv.HasXY()) || cur != nil && (mv.From[0] != last[0] || mv.From[1] != last[1]) {
			end()
		}
		if !(mv.IsExtrusion() && mv.HasXY()) {
			continue
		}
		if cur == nil {
			cur = &wallStroke{layer: layer, perimeter: strings.Contains(typ, "perimeter") || strings.Contains(typ, "wall"),
				first: [4]float64{mv.From[0], mv.From[1], mv.To[0], mv.To[1]},
				lo:    [2]float64{math.Inf(1), math.Inf(1)}, hi: [2]float64{math.Inf(-1), math.Inf(-1)}}
			start, length = mv.From, 0
		}
		mv.Chords(1, func(a, _ [3]float64, _ float64) {
			cur.lo = [2]float64{min(cur.lo[0], a[0]), min(cur.lo[1], a[1])}
			cur.hi = [2]float64{max(cur.hi[0], a[0]), max(cur.hi[1], a[1])}
		})
		length += mv.XYLength()
		last = mv.To
	}
	end()
	return out
}

func nestedBox(a, b wallStroke) bool {
	in := func(x, y wallStroke) bool {
		return x.lo[0] >= y.lo[0]-1 && x.lo[1] >= y.lo[1]-1 && x.hi[0] <= y.hi[0]+1 && x.hi[1] <= y.hi[1]+1
	}
	return in(a, b) || in(b, a)
}

// wallOrderViolations counts the wall blocks of the input — perimeter
// loops printed one right after the other in a layer, each nested in the
// previous one's bounding box (±1 mm) — whose loops the output does not
// print one right after the other in the same order; blocks counts the
// blocks of two or more loops.
func wallOrderViolations(t *testing.T, in, out []byte) (violations, blocks int) {
	is, os := readStrokes(t, in), readStrokes(t, out)
	type key struct {
		layer int
		first [4]float64
	}
	pos := make(map[key]int, len(os))
	for i, s := range os {
		pos[key{s.layer, s.first}] = i
	}
	check := func(block []wallStroke) {
		if len(block) < 2 {
			return
		}
		blocks++
		prev, ok := pos[key{block[0].layer, block[0].first}]
		for _, s := range block[1:] {
			p, found := pos[key{s.layer, s.first}]
			if !ok || !found || p != prev+1 {
				violations++
				return
			}
			prev = p
		}
	}
	var block []wallStroke
	for _, s := range is {
		if !(s.perimeter && s.loop) {
			check(block)
			block = block[:0]
			continue
		}
		if len(block) > 0 && (s.layer != block[len(block)-1].layer || !nestedBox(s, block[len(block)-1])) {
			check(block)
			block = block[:0]
		}
		block = append(block, s)
	}
	check(block)
	return violations, blocks
}

// TestWallOrderKept: with the default options the perimeter loops of every
// island and hole (a wall block) are printed together and in the input's
// order — PrusaSlicer's inner perimeters before the external one, Cura's
// WALL-INNER before WALL-OUTER — checked from the files' text; with
// wall_order free run reordering breaks blocks apart (the check can fail).
// PrusaSlicer's external perimeters stop a seam gap short of their start
// and are kept whole from their seam too.
func TestWallOrderKept(t *testing.T) {
	files := []string{"testdata/benchy_prusaslicer-2.6.1_marlin2.gcode", "testdata/puzzle_cura-2.3.1_reprap.gcode", "testdata/screw_prusaslicer-2.7.4_arcs.gcode"}
	if testing.Short() {
		files = files[2:]
	}
	freeBroke := 0
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out, rep := optimize(t, in, DefaultOptions())
		verifyOK(t, in, out)
		v, blocks := wallOrderViolations(t, in, out)
		if blocks < 50 {
			t.Fatalf("%s: only %d wall blocks of two or more loops", f, blocks)
		}
		if v != 0 {
			t.Errorf("%s: %d of %d wall blocks not printed together in the input's order", f, v, blocks)
		}
		free := DefaultOptions()
		free.KeepWallOrder = false
		outFree, _ := optimize(t, in, free)
		vf, _ := wallOrderViolations(t, in, outFree)
		freeBroke += vf
		t.Logf("%s: %d wall blocks kept (reordered %d of %d chunks); wall_order free breaks %d", f, blocks, rep.Reordered, rep.Chunks, vf)
	}
	if freeBroke == 0 {
		t.Error("wall_order free kept every block too: the check does not see reordered walls")
	}
}
