package gcode

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"testing"

	"fabcell/processes/gcode/internal/brute"
	"fabcell/processes/gcode/ir"
	"fabcell/processes/gcode/parse"
	"fabcell/processes/gcode/verify"
)

// perimeterSegments lists, by brute force from the chunk's input lines,
// every perimeter extrusion of the chunk as segments (arcs as chords of
// tolerance chordMM), independent of the optimiser's perimeter index.
func perimeterSegments(j *job, chordMM float64) (a, b []ir.Vec) {
	for i := range j.items {
		it := &j.items[i]
		if it.cls != cExtrude || it.mi < 0 {
			continue
		}
		if typ := j.info(it.state).typ; len(typ) > 0 && !isPerimeterType(string(typ)) {
			continue
		}
		j.moves[it.mi].Chords(chordMM, func(p, q [3]float64, _ float64) {
			a = append(a, ir.Vec{p[0], p[1]})
			b = append(b, ir.Vec{q[0], q[1]})
		})
	}
	return a, b
}

// outerLoops lists the closed outer-wall loops of a chunk from its input
// lines (strokes: consecutive extrusions with no motion between, kept when
// one of them has an outer-wall type; arcs as 1 mm chords), closed with
// ir.Loops as the compiler does.
func outerLoops(j *job) (a, b []ir.Vec) {
	var sa, sb []ir.Vec
	var strokes []ir.Stroke
	lo, outer := 0, false
	var last [3]float64
	flush := func() {
		if outer && len(sa) > lo {
			strokes = append(strokes, ir.Stroke{Lo: int32(lo), Hi: int32(len(sa))})
		} else {
			sa, sb = sa[:lo], sb[:lo]
		}
		lo, outer = len(sa), false
	}
	for i := range j.items {
		it := &j.items[i]
		switch {
		case it.cls == cExtrude && it.mi >= 0:
			mv := &j.moves[it.mi]
			if len(sa) > lo && mv.From != last {
				flush()
			}
			typ := string(j.info(it.state).typ)
			outer = outer || isPerimeterType(typ) && isOuterType(typ)
			mv.Chords(1, func(p, q [3]float64, _ float64) {
				sa = append(sa, ir.Vec{p[0], p[1]})
				sb = append(sb, ir.Vec{q[0], q[1]})
			})
			last = mv.To
		case it.cls == cMotion:
			flush()
		}
	}
	flush()
	return ir.Loops(sa, sb, strokes, loopCloseMM, nil, nil)
}

// TestCombedTravelsCrossNoPerimeter optimises sample files with combing
// and checks every combed travel the emitter writes against every
// perimeter segment of its chunk by brute force (no grid): no leg touches
// or crosses one, except at the travel's own endpoints (the nozzle may
// start or end on a perimeter it printed; those legs are checked shortened
// by 0.01 mm there), and every waypoint lies inside the bounding box of
// what the input extrudes (the print area). The output verifies, has
// exactly the input's extrusions (no travel extrudes) and is not slower.
func TestCombedTravelsCrossNoPerimeter(t *testing.T) {
	files := []string{"testdata/puzzle_cura-2.3.1_reprap.gcode", "testdata/benchy_prusaslicer-2.6.1_marlin2.gcode"}
	if testing.Short() {
		files = files[:1]
	}
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := extrusionBox(t, in)
		var mu sync.Mutex
		checked, legs := 0, 0
		var firstWay ir.Vec
		haveWay := false
		combHook = func(j *job, a ir.Vec, ways []ir.Vec, b ir.Vec) {
			A, B := perimeterSegments(j, 0.1)
			LA, LB := outerLoops(j)
			pts := append(append([]ir.Vec{a}, ways...), b)
			mu.Lock()
			defer mu.Unlock()
			checked++
			if !haveWay && len(ways) > 0 {
				firstWay, haveWay = ways[0], true
			}
			for i := 0; i+1 < len(pts); i++ {
				u, v := pts[i], pts[i+1]
				l := math.Hypot(v[0]-u[0], v[1]-u[1])
				if l == 0 {
					continue
				}
				legs++
				const shrink = 0.01
				if i == 0 {
					u = ir.Vec{u[0] + (v[0]-u[0])*shrink/l, u[1] + (v[1]-u[1])*shrink/l}
				}
				if i+1 == len(pts)-1 {
					w := pts[i]
					v = ir.Vec{v[0] + (w[0]-v[0])*shrink/l, v[1] + (w[1]-v[1])*shrink/l}
				}
				if len(LA) > 0 && ir.TravelOutsideLoops(pts[i], pts[i+1], LA, LB, j.g.Res/2) {
					t.Errorf("%s: combed travel %v→%v: leg %v→%v runs outside the part", f, a, b, pts[i], pts[i+1])
					return
				}
				for k := range A {
					if brute.ClosedIntersect(u, v, A[k], B[k]) {
						t.Errorf("%s: combed travel %v→%v: leg %v→%v meets perimeter %v→%v", f, a, b, pts[i], pts[i+1], A[k], B[k])
						return
					}
				}
			}
			for _, w := range pts {
				if w[0] < lo[0] || w[0] > hi[0] || w[1] < lo[1] || w[1] > hi[1] {
					t.Errorf("%s: waypoint %v outside the printed area %v–%v", f, w, lo, hi)
				}
			}
		}
		opt := DefaultOptions()
		opt.Comb = true
		out, rep := optimize(t, in, opt)
		combHook = nil
		if checked == 0 || rep.Combed == 0 {
			t.Fatalf("%s: no combed travel (report %d)", f, rep.Combed)
		}
		vr := verifyOK(t, in, out)
		if haveWay {
			// The verifier catches a combed travel that extrudes.
			bad := extrudeOnTravelTo(t, out, firstWay)
			r, err := verify.Verify(context.Background(), bytes.NewReader(in), bytes.NewReader(bad), verify.Options{})
			if err != nil || r.OK {
				t.Errorf("%s: a combed travel made to extrude passed the verifier (%v)", f, err)
			}
		}
		before, after := estimate(t, in, opt.Timing), estimate(t, out, opt.Timing)
		if after.Seconds > before.Seconds+1e-6 {
			t.Errorf("%s: slower: %.3f > %.3f s", f, after.Seconds, before.Seconds)
		}
		if after.ExtrusionMoves != rep.EdgesOut || before.ExtrusionMoves != rep.EdgesIn {
			t.Errorf("%s: extrusion moves %d→%d, report %d→%d", f, before.ExtrusionMoves, after.ExtrusionMoves, rep.EdgesIn, rep.EdgesOut)
		}
		opt.Comb = false
		outOff, repOff := optimize(t, in, opt)
		off := estimate(t, outOff, opt.Timing)
		if repOff.Combed != 0 {
			t.Errorf("%s: comb off combed %d travels", f, repOff.Combed)
		}
		t.Logf("%s: %d combed travels (%d legs) checked; retractions %d → %d (comb off %d), time %.1f → %.1f s (comb off %.1f); %s",
			f, checked, legs, before.Retracts, after.Retracts, off.Retracts, before.Seconds, after.Seconds, off.Seconds, vr.Summary())
	}
}

// extrudeOnTravelTo returns out with the travel line ending at w given
// 0.3 mm of filament (in the file's E mode).
func extrudeOnTravelTo(t *testing.T, out []byte, w ir.Vec) []byte {
	t.Helper()
	lines := bytes.SplitAfter(out, []byte("\n"))
	m := parse.NewMachine(parse.Options{})
	for i, ln := range lines {
		var l parse.Line
		if parse.LexLine(bytes.TrimRight(ln, "\n"), &l) != nil {
			continue
		}
		e0, rel := m.LogicalE(), m.ERelative()
		op, err := m.Exec(&l)
		if err != nil {
			t.Fatal(err)
		}
		mv := &m.Move
		if op != parse.OpMove || mv.DE != 0 || !mv.HasXY() || math.Abs(mv.To[0]-w[0]) > 1e-6 || math.Abs(mv.To[1]-w[1]) > 1e-6 {
			continue
		}
		e := e0 + 0.3
		if rel {
			e = 0.3
		}
		mod := fmt.Sprintf("G1 X%.3f Y%.3f E%.5f\n", mv.To[0], mv.To[1], e)
		if !rel {
			mod += fmt.Sprintf("G92 E%.5f\n", e0)
		}
		res := append([]byte(nil), bytes.Join(lines[:i], nil)...)
		res = append(res, mod...)
		return append(res, bytes.Join(lines[i+1:], nil)...)
	}
	t.Fatalf("no travel to %v in the output", w)
	return nil
}

// extrusionBox is the bounding box of the input's XY extrusion moves.
func extrusionBox(t *testing.T, in []byte) (lo, hi ir.Vec) {
	t.Helper()
	lo, hi = ir.Vec{math.Inf(1), math.Inf(1)}, ir.Vec{math.Inf(-1), math.Inf(-1)}
	sc := parse.NewScanner(bytes.NewReader(in))
	m := parse.NewMachine(parse.Options{})
	for sc.Scan() {
		op, err := m.Exec(sc.Line())
		if err != nil {
			t.Fatal(err)
		}
		if mv := &m.Move; op == parse.OpMove && mv.DE > 0 && mv.HasXY() {
			for _, p := range [][3]float64{mv.From, mv.To} {
				lo = ir.Vec{min(lo[0], p[0]), min(lo[1], p[1])}
				hi = ir.Vec{max(hi[0], p[0]), max(hi[1], p[1])}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lo, hi
}

// islandsProgram is a file of layers with two square islands (external
// perimeter loop, infill inside) printed alternately, retracting on every
// travel: every travel between islands leaves one closed loop for another.
func islandsProgram(layers int) []byte {
	var b strings.Builder
	b.WriteString("; generated by islandsProgram\nG21\nG90\nM83\nG28\nM204 S1500 T3000\nM205 X10 Y10\n")
	for l := 0; l < layers; l++ {
		z := 0.2 * float64(l+1)
		fmt.Fprintf(&b, ";LAYER_CHANGE\n;Z:%.1f\nG1 Z%.1f F720\n", z, z)
		for k := 0; k < 6; k++ {
			x0 := 20.0 * float64(k%2)
			if k < 2 {
				fmt.Fprintf(&b, "G1 E-1 F2100\nG0 X%.3f Y0 F9000\nG1 E1 F2100\n;TYPE:External perimeter\n", x0)
				for _, p := range [][2]float64{{10, 0}, {10, 10}, {0, 10}, {0, 0}} {
					fmt.Fprintf(&b, "G1 X%.3f Y%.3f E0.4 F1800\n", x0+p[0], p[1])
				}
				continue
			}
			y := 1.0 + float64(k)
			fmt.Fprintf(&b, "G1 E-1 F2100\nG0 X%.3f Y%.3f F9000\nG1 E1 F2100\n;TYPE:Internal infill\n", x0+1, y)
			fmt.Fprintf(&b, "G1 X%.3f Y%.3f E0.3 F3000\n", x0+9, y)
			fmt.Fprintf(&b, "G1 X%.3f Y%.3f E0.03 F3000\n", x0+9, y+0.5)
			fmt.Fprintf(&b, "G1 X%.3f Y%.3f E0.3 F3000\n", x0+1, y+0.5)
		}
	}
	b.WriteString("G1 E-1 F2100\nM84\n")
	return []byte(b.String())
}

// TestCombImpossibleKeepsRetraction: between islands no travel can avoid
// their walls, so combing changes nothing (byte-identical output, the same
// retractions, nothing combed), and the output verifies.
func TestCombImpossibleKeepsRetraction(t *testing.T) {
	in := islandsProgram(4)
	opt := DefaultOptions()
	opt.Comb = true
	combHook = func(j *job, a ir.Vec, ways []ir.Vec, b ir.Vec) {
		t.Errorf("combed %v→%v→%v between islands", a, ways, b)
	}
	out, rep := optimize(t, in, opt)
	combHook = nil
	verifyOK(t, in, out)
	opt.Comb = false
	outOff, _ := optimize(t, in, opt)
	if rep.Combed != 0 || !bytes.Equal(out, outOff) {
		t.Fatalf("combed %d, output differs from comb off: %v", rep.Combed, !bytes.Equal(out, outOff))
	}
	if rep.Reordered == 0 || rep.RetractsOut == 0 {
		t.Fatalf("test program not reordered (%d) or without retractions (%d)", rep.Reordered, rep.RetractsOut)
	}
}
