package layerprog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fabcell/config"
	"fabcell/robot/extruder"
	"fabcell/robot/extruder/boardsim"

	"github.com/golang/geo/r2"
)

// testProgram: a 60×40 mm plate with a hole, 3 matrix layers, a fibre
// stroke zig-zagging across it.
func testProgram(t *testing.T, c config.CCFProcess) *Program {
	t.Helper()
	stroke := pts(5, 5, 55, 5, 55, 35, 5, 35, 5, 20, 15, 20)
	p, err := Build(squareWithHole(), stroke, SettingsFromConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func testCCF() config.CCFProcess {
	c := config.Defaults().CCF
	c.Layers = 3
	// T1 70 mm to the right of T0 and 0.5 mm higher: the idle nozzle stays
	// off the 60 mm plate, so the z offset is clear of the part
	// (CheckIdleClearance refuses it when the idle nozzle is over the part)
	c.FiberOffsetXYMM = config.Vec3{70, -5, 0.5}
	c.FiberCutGcode = "M280 P0 S90\nG4 P200\nM280 P0 S0"
	return c
}

func TestBuildLayers(t *testing.T) {
	c := testCCF()
	p := testProgram(t, c)
	if len(p.Layers) != 4 {
		t.Fatalf("%d layers, want 3 matrix + 1 fibre", len(p.Layers))
	}
	z := 0.0
	for i, l := range p.Layers {
		wantTool := Matrix
		h := c.LayerHeightMM
		if i == 3 {
			wantTool, h = Fiber, c.FiberLayerHeightMM
		}
		z += h
		if l.Tool != wantTool || math.Abs(l.ZMM-z) > 1e-12 || l.Index != i {
			t.Errorf("layer %d: tool %v z %v, want %v z %v", i, l.Tool, l.ZMM, wantTool, z)
		}
		if wantTool == Matrix {
			wantAng := c.InfillAngleDeg * math.Pi / 180
			if i%2 == 1 {
				wantAng += math.Pi / 2
			}
			if math.Abs(l.InfillAngleRad-wantAng) > 1e-12 {
				t.Errorf("layer %d: infill angle %v, want %v", i, l.InfillAngleRad, wantAng)
			}
			perims := 0
			for _, pa := range l.Paths {
				if pa.Kind == Perimeter {
					perims++
					if !pa.Closed {
						t.Errorf("open perimeter")
					}
				}
			}
			if perims != 2*c.Perimeters { // outer + hole per ring
				t.Errorf("layer %d: %d perimeter loops, want %d", i, perims, 2*c.Perimeters)
			}
		}
	}
	// fibre every 2 matrix layers: M M F M F? (layers 4 → M M F M M F)
	s := SettingsFromConfig(c)
	s.Layers, s.FiberEvery = 4, 2
	p2, err := Build(squareWithHole(), pts(5, 5, 55, 5), s)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []Tool
	for _, l := range p2.Layers {
		kinds = append(kinds, l.Tool)
	}
	if !slices.Equal(kinds, []Tool{Matrix, Matrix, Fiber, Matrix, Matrix, Fiber}) {
		t.Errorf("fiber_every 2: layers %v", kinds)
	}
	// the outer perimeter lies half a line width inside the outline
	outer := p.Layers[0].Paths
	found := false
	for _, pa := range outer {
		for _, q := range pa.Points {
			if math.Abs(q.X-c.MatrixLineWidthMM/2) < 1e-9 && math.Abs(q.Y-c.MatrixLineWidthMM/2) < 1e-9 {
				found = true
			}
		}
	}
	if !found {
		t.Error("outer perimeter corner (w/2, w/2) missing")
	}
	if _, err := Build(Region{Outer: pts(0, 0, 1, 0, 1, 1, 0, 1)}, pts(0, 0, 1, 1), SettingsFromConfig(c)); err == nil {
		t.Error("1 mm plate with 2 perimeters of 0.45 mm accepted (infill region collapses)")
	}
}

// gcodeModel is an independent reading of the G-code: the active tool,
// commanded position, extrusion per tool on XY moves and E-only moves,
// temperatures set and waited for.
type gcodeModel struct {
	tool        int
	pos         [3]float64
	printE      [2]float64
	printMM     [2]float64
	retractE    [2]float64
	setTemps    map[string]float64
	waited      map[string]bool
	toolChanges int
	firstE      int // line of the first extrusion
	lastT1Print int // line of the last T1 extruding move
	cutLines    []int
	fiberPts    []r2.Point // T1 extruding move end points (commanded)
	relativeE   bool
}

var word = regexp.MustCompile(`([A-Z])(-?[0-9.]+)`)

func parseGCode(t *testing.T, text string) gcodeModel {
	t.Helper()
	m := gcodeModel{tool: -1, setTemps: map[string]float64{}, waited: map[string]bool{}, firstE: -1}
	sc := bufio.NewScanner(strings.NewReader(text))
	n := 0
	for sc.Scan() {
		n++
		raw := sc.Text()
		cmd, err := extruder.CleanCommand(raw)
		if err != nil {
			t.Fatalf("line %d %q rejected by the extruder driver: %v", n, raw, err)
		}
		if cmd == "" {
			continue
		}
		f := strings.Fields(cmd)
		v := map[byte]float64{}
		for _, w := range word.FindAllStringSubmatch(strings.Join(f[1:], " "), -1) {
			x, err := strconv.ParseFloat(w[2], 64)
			if err != nil {
				t.Fatalf("line %d: bad number %q", n, w[2])
			}
			v[w[1][0]] = x
		}
		switch f[0] {
		case "T0", "T1":
			m.tool = int(f[0][1] - '0')
			m.toolChanges++
		case "M83":
			m.relativeE = true
		case "M82":
			m.relativeE = false
		case "M104", "M109", "M140", "M190":
			key := "bed"
			if f[0] == "M104" || f[0] == "M109" {
				key = fmt.Sprintf("T%v", v['T'])
			}
			m.setTemps[key] = v['S']
			if f[0] == "M109" || f[0] == "M190" {
				m.waited[key] = v['S'] > 0
			}
		case "M280":
			m.cutLines = append(m.cutLines, n)
		case "G0", "G1":
			next := m.pos
			for i, a := range []byte{'X', 'Y', 'Z'} {
				if x, ok := v[a]; ok {
					next[i] = x
				}
			}
			if e, ok := v['E']; ok {
				if !m.relativeE {
					t.Fatalf("line %d: E in absolute mode", n)
				}
				d := math.Hypot(next[0]-m.pos[0], next[1]-m.pos[1])
				if d > 0 {
					if e <= 0 || f[0] != "G1" {
						t.Fatalf("line %d: XY move with E %v", n, e)
					}
					if m.firstE < 0 {
						m.firstE = n
					}
					m.printE[m.tool] += e
					m.printMM[m.tool] += d
					if m.tool == 1 {
						m.lastT1Print = n
						m.fiberPts = append(m.fiberPts, r2.Point{X: next[0], Y: next[1]})
					}
				} else {
					m.retractE[m.tool] += e
				}
			}
			m.pos = next
		}
	}
	return m
}

func TestGCodeParsesBack(t *testing.T) {
	c := testCCF()
	p := testProgram(t, c)
	var buf bytes.Buffer
	st, err := WriteGCode(&buf, p, c, GCodeMeta{Job: "plate\n;G28 evil*", Comments: []string{"line one\rline two"}})
	if err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	if strings.Contains(text, "\r") || strings.Count(text, "G28") != 1 || !strings.Contains(text, "; job: plate?;G28 evil*") {
		// the job text stays inside its comment line
		t.Errorf("job text not confined to a comment:\n%s", text[:300])
	}
	m := parseGCode(t, text)
	// temperatures set and waited for before the first extrusion
	for _, key := range []string{"T0", "T1", "bed"} {
		if !m.waited[key] {
			t.Errorf("no heat-up wait for %s", key)
		}
	}
	if !strings.Contains(text, fmt.Sprintf("M109 T0 S%v\n", c.MatrixTempC)) || !strings.Contains(text, fmt.Sprintf("M109 T1 S%v\n", c.FiberTempC)) ||
		!strings.Contains(text, fmt.Sprintf("M190 S%v\n", c.BedTempC)) {
		t.Error("configured temperatures not waited for")
	}
	if m.setTemps["T0"] != 0 || m.setTemps["T1"] != 0 || m.setTemps["bed"] != 0 {
		t.Errorf("heaters not switched off at the end: %v", m.setTemps)
	}
	// independent expected amounts: matrix length × w·h/(π d²/4), fibre
	// length × feed ratio (the commanded fibre path is the target path
	// shifted by the offset, so its length is the same)
	var mm [2]float64
	for _, l := range p.Layers {
		for _, pa := range l.Paths {
			mm[pa.Tool] += Length(pa.Points, pa.Closed)
		}
	}
	area := math.Pi * c.FilamentDiameterMM * c.FilamentDiameterMM / 4
	wantE := [2]float64{mm[0] * c.MatrixLineWidthMM * c.LayerHeightMM / area, mm[1] * c.FiberFeedRatio}
	for tl := 0; tl < 2; tl++ {
		if math.Abs(m.printMM[tl]-mm[tl]) > 1e-6*mm[tl]+0.01 {
			t.Errorf("T%d: printed %.4f mm of path, program has %.4f", tl, m.printMM[tl], mm[tl])
		}
		if math.Abs(m.printE[tl]-wantE[tl]) > 1e-4*wantE[tl]+0.01 {
			t.Errorf("T%d: E %.5f, want %.5f", tl, m.printE[tl], wantE[tl])
		}
		if math.Abs(m.printE[tl]-st.PrintE[tl]) > 1e-3 {
			t.Errorf("T%d: writer reports E %.5f, parsed %.5f", tl, st.PrintE[tl], m.printE[tl])
		}
		if m.retractE[tl] > 1e-9 || math.Abs(m.retractE[tl]-st.RetractE[tl]) > 1e-9 {
			t.Errorf("T%d: retraction net %v (writer %v)", tl, m.retractE[tl], st.RetractE[tl])
		}
	}
	// T1 is used for the fibre layer only, with the offset applied: the
	// commanded points are the stroke minus the offset
	if m.toolChanges != 2 { // T0 for the matrix layers, T1 for the fibre layer on top
		t.Errorf("tool changes: %d, want 2", m.toolChanges)
	}
	stroke := p.Layers[3].Paths[0].Points
	if len(m.fiberPts) != len(stroke)-1 {
		t.Fatalf("%d fibre moves, want %d", len(m.fiberPts), len(stroke)-1)
	}
	for i, q := range m.fiberPts {
		want := r2.Point{X: stroke[i+1].X - c.FiberOffsetXYMM[0], Y: stroke[i+1].Y - c.FiberOffsetXYMM[1]}
		if !near(q, want, 1e-3) {
			t.Errorf("fibre move %d to %v, want %v (offset applied)", i, q, want)
		}
	}
	// the cut follows the last fibre move
	if len(m.cutLines) != 2 || m.cutLines[0] < m.lastT1Print {
		t.Errorf("cut lines %v, last fibre move at line %d", m.cutLines, m.lastT1Print)
	}
	if m.firstE < 0 {
		t.Fatal("no extrusion")
	}
}

// TestGCodeOnBoardSimulator streams the program over a real pty to the
// simulated head board (Marlin protocol with line numbers, checksums and
// ok flow control) and compares what its extruders pushed.
func TestGCodeOnBoardSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("pty streaming in long mode only")
	}
	c := testCCF()
	c.Layers = 1
	p := testProgram(t, c)
	var buf bytes.Buffer
	st, err := WriteGCode(&buf, p, c, GCodeMeta{Job: "plate"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := boardsim.Start(context.Background(), boardsim.Options{Speed: 2000})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	port, err := extruder.OpenPort(b.Path(), 115200)
	if err != nil {
		t.Fatal(err)
	}
	d := extruder.New(port, extruder.Options{InFlight: 3})
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := d.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	n, err := d.Stream(ctx, slices.Values(lines))
	if err != nil {
		t.Fatalf("stream stopped after %d of %d lines: %v", n, len(lines), err)
	}
	snap := b.Snapshot()
	for tl := 0; tl < 2; tl++ {
		want := st.PrintE[tl] + st.RetractE[tl]
		if math.Abs(snap.ExtrudedMM[tl]-want) > 1e-3 {
			t.Errorf("board T%d pushed %.5f mm, program %.5f", tl, snap.ExtrudedMM[tl], want)
		}
	}
	if snap.Servo[0] != 0 {
		t.Errorf("cutter servo left at %v", snap.Servo[0])
	}
	for _, e := range b.Executed() {
		if strings.HasPrefix(e.Cmd, "M280") {
			goto cut
		}
	}
	t.Error("the board never ran the cutter")
cut:
	if snap.Halted {
		t.Fatalf("board halted: %s", snap.HaltReason)
	}
}

var poseRe = regexp.MustCompile(`p\[([^\]]*)\]`)

func TestURScriptWellFormed(t *testing.T) {
	cell := config.Defaults()
	cell.CCF = testCCF()
	p := testProgram(t, cell.CCF)
	var buf bytes.Buffer
	st, err := WriteURScript(&buf, p, cell, URScriptMeta{Job: "plate\"\nend\ndef x():", Comments: []string{"a\nb"}})
	if err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if !regexp.MustCompile(`^def [A-Za-z][A-Za-z0-9_]*\(\):$`).MatchString(lines[0]) || lines[len(lines)-1] != "end" {
		t.Fatalf("not a def … end program: %q … %q", lines[0], lines[len(lines)-1])
	}
	for i, l := range lines[1 : len(lines)-1] {
		if !strings.HasPrefix(l, "  ") || strings.HasPrefix(strings.TrimSpace(l), "def ") || strings.TrimSpace(l) == "end" {
			t.Fatalf("body line %d %q escapes the program", i+1, l)
		}
	}
	// every pose: metres, inside the safety workspace, tool pointing down,
	// and equal to bed frame + point for the TCP positions we can identify
	bed := cell.Robot.BedFrame
	poses := 0
	var tcps []string
	for _, line := range lines {
		l := strings.TrimSpace(line)
		if strings.HasPrefix(l, "set_tcp(") {
			tcps = append(tcps, l)
			continue
		}
		if !strings.HasPrefix(l, "movel(") && !strings.HasPrefix(l, "movep(") {
			continue
		}
		mt := poseRe.FindStringSubmatch(l)
		f := strings.Split(mt[1], ",")
		if len(f) != 6 {
			t.Fatalf("pose %q", mt[0])
		}
		var v [6]float64
		for i, s := range f {
			x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				t.Fatalf("pose %q: %v", mt[0], err)
			}
			v[i] = x
		}
		poses++
		pmm := config.Vec3{v[0] * 1000, v[1] * 1000, v[2] * 1000}
		if !cell.Safety.Workspace.Contains(pmm) {
			t.Fatalf("pose %v outside the workspace (mm %v)", v, pmm)
		}
		// bed frame: translation only, so bed point = base − origin
		bx, by, bz := pmm[0]-bed.XMM, pmm[1]-bed.YMM, pmm[2]-bed.ZMM
		if bx < -1 || bx > 61 || by < -1 || by > 41 || bz < 0 || bz > 20 {
			t.Fatalf("pose %v maps to bed (%.2f, %.2f, %.2f) mm outside the part", v, bx, by, bz)
		}
		if math.Abs(math.Hypot(v[3], math.Hypot(v[4], v[5]))-math.Pi) > 1e-9 || math.Abs(math.Abs(v[3])-math.Pi) > 1e-9 {
			t.Fatalf("pose %v: tool not pointing down (rotation vector should be (π, 0, 0))", v)
		}
	}
	// T0: robot.tool_offset; T1 adds the fibre offset (70, −5, 0.5) mm in
	// the down-pointing TCP frame: (0.070, 0.005, 0.15 − 0.0005) m
	if !slices.Equal(tcps, []string{"set_tcp(p[0, 0, 0.15, 0, 0, 0])", "set_tcp(p[0.07, 0.005, 0.1495, 0, 0, 0])"}) {
		t.Errorf("set_tcp calls %q", tcps)
	}
	if poses != st.Poses {
		t.Errorf("%d poses in the text, writer checked %d", poses, st.Poses)
	}
	// extrusion switched on and off in pairs per tool output
	on := strings.Count(text, "set_tool_digital_out(0, True)") + strings.Count(text, "set_tool_digital_out(1, True)")
	off := strings.Count(text, "set_tool_digital_out(0, False)") + strings.Count(text, "set_tool_digital_out(1, False)")
	if on != off || on == 0 || strings.Count(text, "set_tool_digital_out(1, True)") != 1 {
		t.Errorf("tool outputs: %d on, %d off", on, off)
	}
}

func TestURScriptUnreachable(t *testing.T) {
	cell := config.Defaults()
	cell.CCF = testCCF()
	cell.Robot.BedFrame.XMM = 1200 // beyond the UR5e's reach
	cell.Safety.Workspace.MaxMM[0] = 2000
	p := testProgram(t, cell.CCF)
	var buf bytes.Buffer
	_, err := WriteURScript(&buf, p, cell, URScriptMeta{Job: "far"})
	var ue *UnreachableError
	if !errors.As(err, &ue) || !errors.Is(err, ErrUnreachable) {
		t.Fatalf("want UnreachableError, got %v", err)
	}
	if buf.Len() != 0 || ue.Count < 10 || !strings.Contains(err.Error(), "layer 0 perimeter path 0 point 0") {
		t.Errorf("error %v (%d bytes written)", err, buf.Len())
	}
	// outside the safety workspace
	cell = config.Defaults()
	cell.CCF = testCCF()
	cell.Safety.Workspace.MaxMM[0] = 420
	_, err = WriteURScript(&buf, p, cell, URScriptMeta{Job: "ws"})
	if err == nil || !strings.Contains(err.Error(), "outside safety.workspace") {
		t.Errorf("workspace violation: %v", err)
	}
}

// TestURScriptFibreCut: with ccf.fiber_cut_output "standard:N" every fibre
// stroke ends with a pulse of that output, after the fibre extruder is
// switched off and before the arm lifts; with "board" (the default) the
// program leaves the cut to the head board and pulses nothing; a
// malformed value is refused.
func TestURScriptFibreCut(t *testing.T) {
	cell := config.Defaults()
	cell.CCF = testCCF()
	p := testProgram(t, cell.CCF)
	write := func(cut string) (string, error) {
		c := cell
		c.CCF.FiberCutOutput = cut
		var buf bytes.Buffer
		_, err := WriteURScript(&buf, p, c, URScriptMeta{Job: "cut"})
		return buf.String(), err
	}
	board, err := write("board")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(board, "set_standard_digital_out") {
		t.Error("board cut: the program pulses a standard output")
	}
	text, err := write("standard:3")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(text, "\n")
	pulses := 0
	for i, l := range lines {
		if strings.TrimSpace(l) != "set_standard_digital_out(3, True)" {
			continue
		}
		pulses++
		// before: the fibre extruder (tool output 1) off; after: a sleep of
		// the pulse, the output off, then the arm lifts (movel)
		prev := ""
		for k := i - 1; k >= 0; k-- {
			if s := strings.TrimSpace(lines[k]); !strings.HasPrefix(s, "#") {
				prev = s
				break
			}
		}
		if prev != "set_tool_digital_out(1, False)" {
			t.Errorf("pulse %d not right after the fibre extruder is switched off: %q", pulses, prev)
		}
		if i+3 >= len(lines) || strings.TrimSpace(lines[i+1]) != "sleep(0.3)" || strings.TrimSpace(lines[i+2]) != "set_standard_digital_out(3, False)" {
			t.Errorf("pulse %d: %q %q", pulses, lines[i+1], lines[i+2])
		}
		lifted := false
		for k := i + 3; k < len(lines) && k < i+6; k++ {
			lifted = lifted || strings.HasPrefix(strings.TrimSpace(lines[k]), "movel(")
		}
		if !lifted {
			t.Errorf("pulse %d: the arm does not lift right after the cut", pulses)
		}
	}
	if want := strings.Count(text, "set_tool_digital_out(1, True)"); pulses != want || pulses == 0 {
		t.Errorf("%d cutter pulses for %d fibre strokes", pulses, want)
	}
	for _, bad := range []string{"standard:8", "tool:1", "standard:x"} {
		if _, err := write(bad); err == nil || !strings.Contains(err.Error(), "fiber_cut_output") {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}
