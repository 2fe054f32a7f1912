package layerprog_test

// An independent checker of the dual-nozzle G-code: it re-reads the
// emitted text with fabcell's G-code lexer and interpreter
// (processes/gcode/parse, which knows nothing of layerprog), tracks both
// nozzle tips itself (T1 tip = commanded position + ccf.fiber_offset_mm),
// the E mode, the heaters and what has been printed where, and checks the
// program against the part (region, planned stroke, settings) it was built
// for — not against the Program the writer was given.

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"

	"fabcell/config"
	"fabcell/processes/ccf/layerprog"
	"fabcell/processes/gcode/parse"

	"github.com/golang/geo/r2"
)

// printedSeg is a printed bead: centreline ab, half width, top z (mm).
type printedSeg struct {
	a, b     r2.Point
	halfW    float64
	topZ     float64
	tool     int
	layerIdx int
}

// heightMap indexes printed beads in 2 mm cells.
type heightMap struct {
	cell  float64
	cells map[[2]int][]int
	segs  []printedSeg
}

func newHeightMap() *heightMap { return &heightMap{cell: 1, cells: map[[2]int][]int{}} }

func (h *heightMap) key(p r2.Point) [2]int {
	return [2]int{int(math.Floor(p.X / h.cell)), int(math.Floor(p.Y / h.cell))}
}

func (h *heightMap) add(s printedSeg) {
	id := len(h.segs)
	h.segs = append(h.segs, s)
	seen := map[[2]int]bool{}
	n := int(math.Ceil(s.b.Sub(s.a).Norm()/(h.cell/2))) + 1
	r := s.halfW + h.cell/2
	for i := 0; i <= n; i++ {
		q := s.a.Add(s.b.Sub(s.a).Mul(float64(i) / float64(n)))
		lo, hi := h.key(r2.Point{X: q.X - r, Y: q.Y - r}), h.key(r2.Point{X: q.X + r, Y: q.Y + r})
		for x := lo[0]; x <= hi[0]; x++ {
			for y := lo[1]; y <= hi[1]; y++ {
				if k := [2]int{x, y}; !seen[k] {
					seen[k] = true
					h.cells[k] = append(h.cells[k], id)
				}
			}
		}
	}
}

// top returns the highest bead top under point p (−inf on bare bed).
func (h *heightMap) top(p r2.Point) (float64, int) {
	best, who := math.Inf(-1), -1
	for _, id := range h.cells[h.key(p)] {
		s := h.segs[id]
		if s.topZ > best && segDist2(p, s.a, s.b) < (s.halfW-1e-6)*(s.halfW-1e-6) {
			best, who = s.topZ, id
		}
	}
	return best, who
}

func segDist2(p, a, b r2.Point) float64 {
	ab := b.Sub(a)
	t := 0.0
	if d := ab.Dot(ab); d > 0 {
		t = math.Max(0, math.Min(1, p.Sub(a).Dot(ab)/d))
	}
	q := p.Sub(a.Add(ab.Mul(t)))
	return q.Dot(q)
}

func segDist(p, a, b r2.Point) float64 {
	ab := b.Sub(a)
	t := 0.0
	if d := ab.Dot(ab); d > 0 {
		t = math.Max(0, math.Min(1, p.Sub(a).Dot(ab)/d))
	}
	return p.Sub(a.Add(ab.Mul(t))).Norm()
}

// regionDist is the distance from p to the nearest edge of loop l.
func loopDist(p r2.Point, l []r2.Point) float64 {
	best := math.Inf(1)
	for i := range l {
		best = math.Min(best, segDist(p, l[i], l[(i+1)%len(l)]))
	}
	return best
}

func regionDist(p r2.Point, r layerprog.Region) float64 {
	best := math.Inf(1)
	for _, l := range r.Loops() {
		best = math.Min(best, loopDist(p, l))
	}
	return best
}

// inside is an even-odd point-in-region test written here (not layerprog's).
func inside(p r2.Point, r layerprog.Region) bool {
	in := false
	for _, l := range r.Loops() {
		for i := range l {
			a, b := l[i], l[(i+1)%len(l)]
			if (a.Y > p.Y) != (b.Y > p.Y) && p.X < a.X+(p.Y-a.Y)*(b.X-a.X)/(b.Y-a.Y) {
				in = !in
			}
		}
	}
	return in
}

// pathRec is one extruding path as read back: consecutive extrusion
// moves of one tool at one z without a travel in between (tip frame).
type pathRec struct {
	tool  int
	z     float64
	layer int
	pts   []r2.Point
}

// checkReport collects violations (the first few per kind).
type checkReport struct {
	errs   []string
	counts map[string]int
}

func (r *checkReport) add(kind, format string, a ...any) {
	if r.counts == nil {
		r.counts = map[string]int{}
	}
	r.counts[kind]++
	if r.counts[kind] <= 3 {
		r.errs = append(r.errs, kind+": "+fmt.Sprintf(format, a...))
	}
}

func (r *checkReport) kinds() []string {
	var ks []string
	for k := range r.counts {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// part is what the program must print: the region, the planned stroke
// (bed-frame tip points) and the settings.
type part struct {
	region layerprog.Region
	stroke []r2.Point
	c      config.CCFProcess
}

// checkGCode re-reads text and checks it against the part.
func checkGCode(text string, pt part) *checkReport {
	rep := &checkReport{}
	c := pt.c
	off := r2.Point{X: c.FiberOffsetXYMM[0], Y: c.FiberOffsetXYMM[1]}
	offZ := c.FiberOffsetXYMM[2]
	tip := func(tool int, pos [3]float64) (r2.Point, float64) {
		if tool == 1 {
			return r2.Point{X: pos[0] + off.X, Y: pos[1] + off.Y}, pos[2] + offZ
		}
		return r2.Point{X: pos[0], Y: pos[1]}, pos[2]
	}
	w := c.MatrixLineWidthMM
	area := math.Pi * c.FilamentDiameterMM * c.FilamentDiameterMM / 4
	hm := newHeightMap()

	m := parse.NewMachine(parse.Options{G90ResetsE: true}) // Marlin 2 semantics
	sc := parse.NewScanner(strings.NewReader(text))
	selected := -1
	relSeen := false
	set := map[string]float64{} // heater → target
	ready := map[string]bool{}  // waited for at the current target
	started := [2]bool{}        // first extrusion of the tool seen
	retracted := [2]float64{}   // net E since the last extrusion (≤ 0 = retracted)
	fibreAttached := false      // fibre laid since the last cut
	var fibreDone [][]r2.Point  // T1 tip polylines per stroke, as read
	var cur []r2.Point          // current T1 stroke
	var paths []pathRec         // all extruding paths
	var curPath *pathRec
	lastZ := [2]float64{math.Inf(-1), math.Inf(-1)}
	layerZ := []float64{} // distinct extrusion z (tip of active tool), in order
	layerTool := []int{}
	cutFirst := c.FiberCutLines()[0]
	var lastM400 int
	lastExtrLine := 0
	endTemps := map[string]int{}
	for sc.Scan() {
		l := sc.Line()
		raw := strings.TrimSpace(string(l.Raw))
		if i := strings.IndexByte(raw, ';'); i >= 0 {
			raw = strings.TrimSpace(raw[:i])
		}
		if raw == cutFirst {
			if !fibreAttached {
				rep.add("cut", "line %d: cut without fibre laid", l.Num)
			} else {
				if lastM400 == 0 || lastM400 < lastExtrLine {
					rep.add("cut", "line %d: cut without M400 after the last fibre move", l.Num)
				}
				fibreDone = append(fibreDone, cur)
				cur = nil
				fibreAttached = false
			}
		}
		op, err := m.Exec(l)
		if err != nil {
			rep.add("syntax", "%v", err)
			continue
		}
		switch op {
		case parse.OpTool:
			selected = m.Tool
			curPath = nil
		case parse.OpMode:
			if l.Is('M', 83) {
				relSeen = true
			}
		case parse.OpSetting, parse.OpWait:
			key := ""
			switch {
			case l.Is('M', 104) || l.Is('M', 109):
				tl := m.Tool
				if v, ok := l.Get('T'); ok {
					tl = int(v)
				}
				key = fmt.Sprintf("T%d", tl)
			case l.Is('M', 140) || l.Is('M', 190):
				key = "bed"
			case l.Is('M', 400):
				lastM400 = l.Num
			}
			if key != "" {
				s, _ := l.Get('S')
				if set[key] != s || l.Code == 104 || l.Code == 140 {
					ready[key] = false
				}
				set[key] = s
				if l.Code == 109 || l.Code == 190 {
					ready[key] = true
				}
				endTemps[key] = l.Num
			}
		case parse.OpMove:
			mv := m.Move
			fromT := [2]r2.Point{}
			fromZ := [2]float64{}
			toT := [2]r2.Point{}
			toZ := [2]float64{}
			for tl := 0; tl < 2; tl++ {
				fromT[tl], fromZ[tl] = tip(tl, mv.From)
				toT[tl], toZ[tl] = tip(tl, mv.To)
			}
			xy := mv.HasXY()
			if mv.DE != 0 && !m.ERelative() {
				rep.add("e-mode", "line %d: E word in absolute E mode", l.Num)
			}
			if mv.DE != 0 && !relSeen {
				rep.add("e-mode", "line %d: E before M83", l.Num)
			}
			extr := xy && mv.DE > 0
			if xy && mv.DE < 0 {
				rep.add("travel-e", "line %d: XY move with negative E", l.Num)
			}
			if !xy && mv.DE != 0 && selected >= 0 {
				retracted[selected] += mv.DE
			}
			if selected < 0 && (xy || mv.DE != 0) {
				rep.add("tool", "line %d: move before any T command", l.Num)
				continue
			}
			act := selected
			// the idle, hot matrix nozzle is carried along by T1's moves:
			// its filament must be retracted or it oozes and strings over
			// the part
			if xy && act == 1 && started[0] && retracted[0] > -1e-9 {
				rep.add("idle-t0-unretracted", "line %d: XY move of T1 with T0's filament not retracted", l.Num)
			}
			if extr {
				lastExtrLine = l.Num
				// heaters
				key := fmt.Sprintf("T%d", act)
				want := c.MatrixTempC
				if act == 1 {
					want = c.FiberTempC
				}
				if !started[act] {
					if set[key] != want || !ready[key] {
						rep.add("heat", "line %d: first T%d extrusion with %s at %v (waited %v), want %v waited", l.Num, act, key, set[key], ready[key], want)
					}
					if set["bed"] != c.BedTempC || !ready["bed"] {
						rep.add("heat", "line %d: first T%d extrusion with the bed at %v (waited %v)", l.Num, act, set["bed"], ready["bed"])
					}
					started[act] = true
				}
				if retracted[act] < -1e-9 {
					rep.add("retract", "line %d: T%d extrudes while %.3f mm retracted", l.Num, act, -retracted[act])
				}
				if math.Abs(fromZ[act]-toZ[act]) > 1e-9 {
					rep.add("z", "line %d: extrusion with a Z change", l.Num)
				}
				z := toZ[act]
				if z < lastZ[act]-1e-9 && act == 0 || (len(layerZ) > 0 && z < layerZ[len(layerZ)-1]-1e-9) {
					rep.add("z", "line %d: T%d prints at z %.3f below an earlier layer %.3f", l.Num, act, z, layerZ[len(layerZ)-1])
				}
				lastZ[act] = z
				if len(layerZ) == 0 || z > layerZ[len(layerZ)-1]+1e-9 || layerTool[len(layerTool)-1] != act {
					layerZ = append(layerZ, z)
					layerTool = append(layerTool, act)
				}
				// E per mm
				d := mv.XYLength()
				k := c.FiberFeedRatio
				if act == 0 {
					h := z
					if n := len(layerZ); n > 1 {
						h = z - layerZ[n-2]
					}
					k = w * h / area
				}
				if math.Abs(mv.DE-d*k) > 2e-5+k*0.002 {
					rep.add("e-per-mm", "line %d: T%d E %.5f over %.4f mm = %.5f/mm, want %.5f/mm", l.Num, act, mv.DE, d, mv.DE/d, k)
				}
				// path bookkeeping
				if curPath == nil || curPath.tool != act || math.Abs(curPath.z-z) > 1e-9 || curPath.pts[len(curPath.pts)-1].Sub(fromT[act]).Norm() > 1e-6 {
					paths = append(paths, pathRec{tool: act, z: z, layer: len(layerZ) - 1, pts: []r2.Point{fromT[act]}})
					curPath = &paths[len(paths)-1]
				}
				curPath.pts = append(curPath.pts, toT[act])
				if act == 1 {
					if !fibreAttached {
						cur = []r2.Point{fromT[1]}
					}
					cur = append(cur, toT[1])
					fibreAttached = true
				}
			} else if xy {
				curPath = nil
				if fibreAttached {
					rep.add("fibre-drag", "line %d: XY travel with the fibre attached (no cut since the last fibre move)", l.Num)
				}
				// a matrix travel that leaves the part must be retracted
				if act == 0 && started[0] && retracted[0] > -1e-9 {
					a, b := fromT[0], toT[0]
					n := int(math.Ceil(b.Sub(a).Norm()/0.2)) + 1
					for i := 0; i <= n; i++ {
						p := a.Add(b.Sub(a).Mul(float64(i) / float64(n)))
						if !inside(p, pt.region) && regionDist(p, pt.region) > w/2 {
							rep.add("unretracted-over-air", "line %d: T0 travel (%.2f,%.2f)→(%.2f,%.2f) leaves the part at (%.2f,%.2f) without retraction", l.Num, a.X, a.Y, b.X, b.Y, p.X, p.Y)
							break
						}
					}
				}
			}
			// clearance of both tips over printed material along the move
			for tl := 0; tl < 2; tl++ {
				a, b := fromT[tl], toT[tl]
				zmin := math.Min(fromZ[tl], toZ[tl])
				n := int(math.Ceil(b.Sub(a).Norm()/0.4)) + 1
				for i := 0; i <= n; i++ {
					p := a.Add(b.Sub(a).Mul(float64(i) / float64(n)))
					if zmin < -1e-9 {
						rep.add("below-bed", "line %d: T%d tip at z %.3f below the bed", l.Num, tl, zmin)
						break
					}
					top, who := hm.top(p)
					need := top - 1e-6
					if tl == act && xy && !extr {
						need = top + 0.5*c.TravelLiftMM - 1e-6 // travels lift
					}
					if zmin < need {
						state := "idle"
						if tl == act {
							state = "active"
						}
						rep.add("collision", "line %d: %s T%d tip at z %.3f over material with top %.3f (printed by T%d) at (%.2f,%.2f)",
							l.Num, state, tl, zmin, top, hm.segs[who].tool, p.X, p.Y)
						break
					}
				}
			}
			if extr {
				hw := w / 2
				if act == 1 {
					hw = c.FiberWidthMM / 2
				}
				hm.add(printedSeg{a: fromT[act], b: toT[act], halfW: hw, topZ: toZ[act], tool: act, layerIdx: len(layerZ) - 1})
			}
		}
	}
	if err := sc.Err(); err != nil {
		rep.add("syntax", "%v", err)
	}
	if fibreAttached {
		rep.add("cut", "program ends with the fibre uncut")
	}
	for _, k := range []string{"T0", "T1", "bed"} {
		if set[k] != 0 || endTemps[k] < lastExtrLine {
			rep.add("heat", "%s not switched off after the last extrusion (target %v)", k, set[k])
		}
	}
	// fibre: every stroke equals the planned one, point for point
	want := dedupe(pt.stroke)
	for i, got := range fibreDone {
		got = dedupe(got)
		if len(got) != len(want) {
			rep.add("fibre-path", "stroke %d has %d points, plan %d", i, len(got), len(want))
			continue
		}
		for j := range got {
			if got[j].Sub(want[j]).Norm() > 1.5e-3 {
				rep.add("fibre-path", "stroke %d point %d at %v, plan %v", i, j, got[j], want[j])
				break
			}
		}
	}
	// layers: tools and heights per the settings
	wantTools, wantZ := expectedLayers(c)
	if len(layerZ) != len(wantZ) {
		rep.add("layers", "%d printed layers (z %v), want %d (z %v)", len(layerZ), layerZ, len(wantZ), wantZ)
	} else {
		for i := range layerZ {
			if layerTool[i] != wantTools[i] || math.Abs(layerZ[i]-wantZ[i]) > 1e-3 {
				rep.add("layers", "layer %d: T%d at z %.3f, want T%d at %.3f", i, layerTool[i], layerZ[i], wantTools[i], wantZ[i])
			}
		}
	}
	if len(layerZ) == len(wantZ) {
		checkMatrixLayers(rep, pt, paths, layerTool)
	}
	return rep
}

func dedupe(p []r2.Point) []r2.Point {
	var out []r2.Point
	for _, q := range p {
		if len(out) == 0 || q.Sub(out[len(out)-1]).Norm() > 1e-9 {
			out = append(out, q)
		}
	}
	return out
}

// expectedLayers lists the tool and tip z of every layer from the
// documented rule (config comments): a fibre layer after every
// fiber_every-th matrix layer, or one on top.
func expectedLayers(c config.CCFProcess) ([]int, []float64) {
	var tools []int
	var zs []float64
	z := 0.0
	fib := func() { z += c.FiberLayerHeightMM; tools = append(tools, 1); zs = append(zs, z) }
	for i := 0; i < c.Layers; i++ {
		z += c.LayerHeightMM
		tools = append(tools, 0)
		zs = append(zs, z)
		if c.FiberEvery > 0 && (i+1)%c.FiberEvery == 0 {
			fib()
		}
	}
	if c.FiberEvery == 0 || c.Layers < c.FiberEvery {
		fib()
	}
	return tools, zs
}

// checkMatrixLayers checks perimeters and infill of every matrix layer.
func checkMatrixLayers(rep *checkReport, pt part, paths []pathRec, layerTool []int) {
	c := pt.c
	w := c.MatrixLineWidthMM
	sp := c.InfillSpacingMM
	inset := float64(c.Perimeters) * w
	if c.Perimeters == 0 {
		inset = w / 2
	}
	matrixIdx := 0
	for li, tl := range layerTool {
		if tl != 0 {
			continue
		}
		ang := c.InfillAngleDeg * math.Pi / 180
		if matrixIdx%2 == 1 {
			ang += math.Pi / 2
		}
		matrixIdx++
		dir := r2.Point{X: math.Cos(ang), Y: math.Sin(ang)}
		nrm := r2.Point{X: -dir.Y, Y: dir.X}
		var loops, open [][]r2.Point
		for _, p := range paths {
			if p.layer != li || p.tool != 0 {
				continue
			}
			if len(p.pts) > 3 && p.pts[0].Sub(p.pts[len(p.pts)-1]).Norm() < 1e-6 {
				loops = append(loops, p.pts[:len(p.pts)-1])
			} else {
				open = append(open, p.pts)
			}
		}
		// perimeters: for every region loop and ring k, a printed loop
		// whose every vertex lies (k+½)w from that loop and no nearer to
		// any loop of the region
		for rl, L := range pt.region.Loops() {
			for k := 0; k < c.Perimeters; k++ {
				d := (float64(k) + 0.5) * w
				found := false
				for _, C := range loops {
					ok := true
					onL := 0
					for i, q := range C {
						if regionDist(q, pt.region) < d-2e-3 || !inside(q, pt.region) {
							ok = false
							break
						}
						// miter offsets: edge midpoints lie d from the source edge
						mid := q.Add(C[(i+1)%len(C)]).Mul(0.5)
						if math.Abs(loopDist(mid, L)-d) < 2e-3 {
							onL++
						}
					}
					if ok && onL >= len(C)/2 && onL >= 2 {
						found = true
						break
					}
				}
				if !found {
					rep.add("perimeter", "layer %d: no perimeter %d (%.3f mm) around region loop %d", li, k+1, d, rl)
				}
			}
		}
		if len(loops) != c.Perimeters*len(pt.region.Loops()) {
			rep.add("perimeter", "layer %d: %d closed loops, want %d", li, len(loops), c.Perimeters*len(pt.region.Loops()))
		}
		// infill: inside the part, never nearer the boundary than the
		// inset, scan lines along the layer's direction on a lattice of
		// the spacing, and no uncovered spot
		var offs []float64
		var scan [][2]r2.Point
		for _, pl := range open {
			for i := 1; i < len(pl); i++ {
				a, b := pl[i-1], pl[i]
				L := b.Sub(a).Norm()
				n := int(math.Ceil(L/1.0)) + 1
				for s := 0; s <= n; s++ {
					p := a.Add(b.Sub(a).Mul(float64(s) / float64(n)))
					if !inside(p, pt.region) && regionDist(p, pt.region) > 1e-6 {
						rep.add("infill-outside", "layer %d: infill at (%.3f,%.3f) outside the part (or in a hole)", li, p.X, p.Y)
						break
					}
					if rd := regionDist(p, pt.region); rd < inset-2e-3 {
						rep.add("infill-inset", "layer %d: infill at (%.3f,%.3f) %.3f mm from the boundary, want >= %.3f", li, p.X, p.Y, rd, inset)
						break
					}
				}
				u := b.Sub(a)
				if L > 1e-6 && math.Abs(math.Abs(u.Dot(dir))-L) < 1e-4*L+1e-4 {
					offs = append(offs, a.Dot(nrm))
					scan = append(scan, [2]r2.Point{a, b})
				}
			}
		}
		sort.Float64s(offs)
		for i := 1; i < len(offs); i++ {
			d := offs[i] - offs[i-1]
			if d > 2e-3 && math.Abs(d/sp-math.Round(d/sp)) > 0.01 {
				rep.add("infill-spacing", "layer %d: scan lines %.4f mm apart, spacing %.4f", li, d, sp)
				break
			}
		}
		// coverage: points of the infill region (inset + spacing) lie within
		// half a spacing (+ rounding) of a scan line
		reg := pt.region
		minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for _, q := range reg.Outer {
			minX, minY, maxX, maxY = math.Min(minX, q.X), math.Min(minY, q.Y), math.Max(maxX, q.X), math.Max(maxY, q.Y)
		}
		step := math.Max((maxX-minX)/40, (maxY-minY)/40)
		for x := minX + step/3; x < maxX; x += step {
			for y := minY + step/3; y < maxY; y += step {
				p := r2.Point{X: x, Y: y}
				if !inside(p, reg) || regionDist(p, reg) < inset+sp {
					continue
				}
				best := math.Inf(1)
				for _, s := range scan {
					best = math.Min(best, segDist(p, s[0], s[1]))
				}
				if best > sp/2+2e-3 {
					rep.add("infill-gap", "layer %d: (%.2f,%.2f) is %.3f mm from the nearest infill line (spacing %.3f)", li, x, y, best, sp)
				}
			}
		}
	}
}

// writeAndCheck builds the program, writes G-code and runs the checker.
func writeAndCheck(t *testing.T, name string, pt part) (*checkReport, string, error) {
	t.Helper()
	prog, err := layerprog.Build(pt.region, pt.stroke, layerprog.SettingsFromConfig(pt.c))
	if err != nil {
		return nil, "", err
	}
	var buf bytes.Buffer
	if _, err := layerprog.WriteGCode(&buf, prog, pt.c, layerprog.GCodeMeta{Job: name}); err != nil {
		return nil, "", err
	}
	return checkGCode(buf.String(), pt), buf.String(), nil
}
