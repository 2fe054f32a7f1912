package parse

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"strconv"
	"strings"
	"testing"
)

func lex(t *testing.T, s string) *Line {
	t.Helper()
	var l Line
	l.Num = 1
	if err := LexLine([]byte(s), &l); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return &l
}

func TestLexWords(t *testing.T) {
	cases := []struct {
		in      string
		letter  byte
		code    int
		params  map[byte]float64
		comment string
	}{
		{"G1 X10 Y-2.5 E.0191 F2400", 'G', 1, map[byte]float64{'X': 10, 'Y': -2.5, 'E': 0.0191, 'F': 2400}, ""},
		{"G1X10Y20E1", 'G', 1, map[byte]float64{'X': 10, 'Y': 20, 'E': 1}, ""},
		{"g1 x1 y2 ; lower case", 'G', 1, map[byte]float64{'X': 1, 'Y': 2}, "lower case"},
		{"M204 P1250 R1250 T2500 ; sets acceleration", 'M', 204, map[byte]float64{'P': 1250, 'R': 1250, 'T': 2500}, "sets acceleration"},
		{"N12 G1 X5*97", 'G', 1, map[byte]float64{'X': 5}, ""},
		{"G1 X1 (inline comment) Y2", 'G', 1, map[byte]float64{'X': 1, 'Y': 2}, ""},
		{"T1", 'T', 1, nil, ""},
		{";LAYER_CHANGE", 0, 0, nil, "LAYER_CHANGE"},
		{"   ", 0, 0, nil, ""},
		{"G28 X Y", 'G', 28, map[byte]float64{}, ""},
		{"G1 X+3. Y-.5", 'G', 1, map[byte]float64{'X': 3, 'Y': -0.5}, ""},
	}
	for _, c := range cases {
		// Fix the checksum of the N line.
		in := c.in
		if strings.HasPrefix(in, "N12") {
			body := "N12 G1 X5"
			var cs byte
			for i := 0; i < len(body); i++ {
				cs ^= body[i]
			}
			in = body + "*" + strconv.Itoa(int(cs))
		}
		l := lex(t, in)
		if l.Letter != c.letter || (c.letter != 0 && l.Code != c.code) {
			t.Errorf("%q: command %c%d, want %c%d", c.in, l.Letter, l.Code, c.letter, c.code)
		}
		for k, v := range c.params {
			got, ok := l.Get(k)
			if !ok || math.Abs(got-v) > 1e-12 {
				t.Errorf("%q: %c = %v,%v want %v", c.in, k, got, ok, v)
			}
		}
		if string(l.Comment) != c.comment {
			t.Errorf("%q: comment %q want %q", c.in, l.Comment, c.comment)
		}
		if l.BadWord != nil {
			t.Errorf("%q: unexpected bad word %q", c.in, l.BadWord)
		}
	}
	l := lex(t, "G28 X Y")
	if !l.Has('X') || !l.Has('Y') || l.Has('Z') {
		t.Errorf("G28 X Y: presence wrong")
	}
	if _, ok := l.Get('X'); ok {
		t.Errorf("G28 X: Get should report no value")
	}
	if d := lex(t, "G1 X1.250 E.01910").Decimals('E'); d != 5 {
		t.Errorf("decimals %d want 5", d)
	}
}

func TestLexSpecial(t *testing.T) {
	l := lex(t, "SET_VELOCITY_LIMIT ACCEL=3000 ACCEL_TO_DECEL=1500")
	if l.Letter != 1 || string(l.Ext) != "SET_VELOCITY_LIMIT" || string(l.Args) != "ACCEL=3000 ACCEL_TO_DECEL=1500" {
		t.Errorf("extended: %c %q %q", l.Letter, l.Ext, l.Args)
	}
	l = lex(t, "M117 Printing layer 3 of 10")
	if l.Letter != 'M' || l.Code != 117 || string(l.Args) != "Printing layer 3 of 10" || l.BadWord != nil {
		t.Errorf("M117: %+v", l)
	}
	l = lex(t, "G29.1 X2")
	if l.Code != 29 || l.Sub != 1 {
		t.Errorf("G29.1: code %d sub %d", l.Code, l.Sub)
	}
	l = lex(t, "G1 X1.2.3 Y4")
	if l.BadWord == nil {
		t.Errorf("G1 X1.2.3: no bad word")
	}
	var ll Line
	ll.Num = 7
	err := LexLine([]byte("N3 G1 X5*12"), &ll)
	var le *LineError
	if !errors.As(err, &le) || le.Line != 7 || !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("checksum mismatch: %v", err)
	}
}

func TestParseNumber(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		dec := rng.Intn(8)
		v := (rng.Float64() - 0.5) * math.Pow(10, float64(rng.Intn(7)))
		s := strconv.FormatFloat(v, 'f', dec, 64)
		want, _ := strconv.ParseFloat(s, 64)
		got, d, ok := ParseNumber([]byte(s))
		if !ok || got != want {
			t.Fatalf("%q: got %v,%v want %v", s, got, ok, want)
		}
		if dec > 0 && d != dec {
			t.Fatalf("%q: decimals %d want %d", s, d, dec)
		}
	}
	for _, s := range []string{"", "-", ".", "1e5", "1x", "--1", "0x10", "1.2.3", "nan"} {
		if _, _, ok := ParseNumber([]byte(s)); ok {
			t.Errorf("%q accepted", s)
		}
	}
	// More than 15 significant digits goes through strconv.
	if v, _, ok := ParseNumber([]byte("123456789.123456789")); !ok || v != 123456789.123456789 {
		t.Errorf("long number: %v", v)
	}
}

// run executes a program and returns the machine and the moves.
func run(t *testing.T, prog string, opt Options) (*Machine, []Move) {
	t.Helper()
	sc := NewScanner(strings.NewReader(prog))
	m := NewMachine(opt)
	var moves []Move
	for sc.Scan() {
		op, err := m.Exec(sc.Line())
		if err != nil {
			t.Fatalf("%v", err)
		}
		if op == OpMove || op == OpHome {
			moves = append(moves, m.Move)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m, moves
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestMachineModes(t *testing.T) {
	m, mv := run(t, `G90
M82
G1 X10 Y10 Z0.2 E1 F1200
G91
G1 X5 E1
G90
M83
G1 X0 Y0 E0.5
G92 E0
M82
G1 E2
G92 X100
G1 X110
G20
G1 X1 F10
G21
`, Options{})
	want := []struct {
		to [3]float64
		de float64
	}{
		{[3]float64{10, 10, 0.2}, 1},
		{[3]float64{15, 10, 0.2}, 1}, // G91: relative XYZ and E
		{[3]float64{0, 0, 0.2}, 0.5}, // M83 relative E
		{[3]float64{0, 0, 0.2}, 2},   // M82 after G92 E0: absolute from 0
		{[3]float64{10, 0, 0.2}, 0},  // G92 X100 then X110: 10 mm physical
		// G20: X1 inch relative to the G92 origin (physical 0 = logical 100)
		{[3]float64{25.4 - 100, 0, 0.2}, 0},
	}
	if len(mv) != len(want) {
		t.Fatalf("%d moves want %d", len(mv), len(want))
	}
	for i, w := range want {
		for k := 0; k < 3; k++ {
			if !near(mv[i].To[k], w.to[k]) {
				t.Errorf("move %d: to %v want %v", i, mv[i].To, w.to)
				break
			}
		}
		if !near(mv[i].DE, w.de) {
			t.Errorf("move %d: DE %v want %v", i, mv[i].DE, w.de)
		}
	}
	if !near(m.FeedMM, 254) {
		t.Errorf("F10 in inches: %v mm/min want 254", m.FeedMM)
	}
	if m.Inches {
		t.Error("G21 did not switch back to mm")
	}
}

func TestMachineG90ResetsE(t *testing.T) {
	for _, reset := range []bool{false, true} {
		_, mv := run(t, "M83\nG90\nG1 X1 E1\nG1 X2 E1\n", Options{G90ResetsE: reset})
		// Relative: 1 then 1. Absolute: 1 then 0.
		want := 1.0
		if reset {
			want = 0
		}
		if !near(mv[1].DE, want) {
			t.Errorf("G90ResetsE=%v: second DE %v want %v", reset, mv[1].DE, want)
		}
	}
}

func TestMachineCommands(t *testing.T) {
	sc := NewScanner(strings.NewReader(`G4 P500
G4 S2
M220 S50
M221 S95
T1
M104 S200
M109 S200
M106 S255
M107
M201 X500
G28
M73 P10 R5
EXCLUDE_OBJECT_START NAME=part
G10
G11
`))
	m := NewMachine(Options{})
	want := []Op{OpDwell, OpDwell, OpSetting, OpSetting, OpTool, OpSetting, OpWait, OpSetting, OpSetting, OpSetting, OpHome, OpOther, OpOther, OpMove, OpMove}
	dwell := []float64{0.5, 2}
	i := 0
	for sc.Scan() {
		op, err := m.Exec(sc.Line())
		if err != nil {
			t.Fatal(err)
		}
		if op != want[i] {
			t.Errorf("line %d: %v want %v", i+1, op, want[i])
		}
		if op == OpDwell && !near(m.DwellS, dwell[i]) {
			t.Errorf("dwell %v want %v", m.DwellS, dwell[i])
		}
		if i == 13 && (!m.Move.Firmware || !near(m.Move.DE, -3)) {
			t.Errorf("G10: %+v", m.Move)
		}
		if i == 14 && !near(m.Move.DE, 3) {
			t.Errorf("G11: %+v", m.Move)
		}
		i++
	}
	if !near(m.FeedFactor, 0.5) || !near(m.FlowFactor, 0.95) || m.Tool != 1 {
		t.Errorf("factors %v %v tool %d", m.FeedFactor, m.FlowFactor, m.Tool)
	}
}

func TestArcs(t *testing.T) {
	// Quarter circles of radius 10 around the origin, I/J and R forms.
	cases := []struct {
		prog  string
		kind  MoveKind
		sweep float64
	}{
		{"G1 X10 Y0\nG3 X0 Y10 I-10 J0 E1\n", ArcCCW, math.Pi / 2},
		{"G1 X10 Y0\nG2 X0 Y10 I-10 J0 E1\n", ArcCW, 3 * math.Pi / 2},
		{"G1 X10 Y0\nG3 X0 Y10 R10 E1\n", ArcCCW, math.Pi / 2},
		{"G1 X10 Y0\nG3 X0 Y10 R-10 E1\n", ArcCCW, 3 * math.Pi / 2},
		{"G1 X10 Y0\nG2 X0 Y10 R10 E1\n", ArcCW, math.Pi / 2},
		{"G1 X10 Y0\nG3 X10 Y0 I-10 J0 E1\n", ArcCCW, 2 * math.Pi}, // full circle
		{"G1 X10 Y0 Z1\nG3 X0 Y10 Z2 I-10 J0 E1\n", ArcCCW, math.Pi / 2},
	}
	for _, c := range cases {
		_, mv := run(t, c.prog, Options{})
		a := mv[1]
		if a.Kind != c.kind || !near(a.Radius, 10) || math.Abs(a.Sweep-c.sweep) > 1e-9 {
			t.Errorf("%q: kind %v r %v sweep %v want %v", c.prog, a.Kind, a.Radius, a.Sweep, c.sweep)
		}
		if !near(a.XYLength(), 10*c.sweep) {
			t.Errorf("%q: XY length %v", c.prog, a.XYLength())
		}
		// Chords: count floor(length/1 mm), filament split evenly, last
		// chord ends on the target, all chord ends on the circle.
		n := 0
		var sumE float64
		var last [3]float64
		a.Chords(1, func(p, q [3]float64, de float64) {
			n++
			sumE += de
			last = q
			if r := math.Hypot(q[0]-a.Center[0], q[1]-a.Center[1]); math.Abs(r-10) > 1e-9 {
				t.Errorf("chord end off the circle: r=%v", r)
			}
		})
		if n != int(math.Floor(a.Length())) || !near(sumE, 1) || last != a.To {
			t.Errorf("%q: %d chords (length %v), E %v, last %v", c.prog, n, a.Length(), sumE, last)
		}
		mid := a.ArcPoint(0.5)
		if r := math.Hypot(mid[0]-a.Center[0], mid[1]-a.Center[1]); !near(r, 10) {
			t.Errorf("%q: midpoint radius %v", c.prog, r)
		}
	}
}

func TestMachineErrors(t *testing.T) {
	cases := []struct{ prog, want string }{
		{"G1 X10\nG1 X1.2.3\n", "line 2: G1: bad parameter"},
		{"G2 X1 Y1 E1\n", "line 1: G2: needs I/J or R"},
		{"G1 X0 Y0\nG3 X10 Y0 R2\n", "line 2: G3: radius R2 too small"},
		{"G1 F-5 X1\n", "line 1: G1: feed F-5 out of range"},
		{"G18\nG2 X1 Y1 I1 J0\n", "line 2: G2: arcs are supported in the XY plane"},
		{"M221 S0\n", "line 1: M221: factor S0% out of range"},
		{"G4 S-1\n", "line 1: G4: dwell -1 s out of range"},
		{"G1 X--1\n", "line 1: G1: bad parameter"},
		{"G1 Xabc\n", "line 1: G1: X without a value"},
		{"G1 E\n", "line 1: G1: E without a value"},
	}
	for _, c := range cases {
		sc := NewScanner(strings.NewReader(c.prog))
		m := NewMachine(Options{})
		var err error
		for sc.Scan() && err == nil {
			_, err = m.Exec(sc.Line())
		}
		if err == nil {
			err = sc.Err()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.prog, err, c.want)
		}
		if err != nil && !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: %v does not wrap ErrSyntax", c.prog, err)
		}
	}
	// Unknown commands with odd arguments are not errors.
	run(t, "M600 Xabc\nFOO_BAR x=1\n@pause\nM486 Spart A\"name\"\n", Options{})
}

func TestScannerLongLine(t *testing.T) {
	long := "; " + strings.Repeat("x", 300<<10) + "\nG1 X1\n"
	sc := NewScanner(strings.NewReader(long))
	n := 0
	for sc.Scan() {
		n++
	}
	if sc.Err() != nil || n != 2 {
		t.Fatalf("300 kB line: %d lines, %v", n, sc.Err())
	}
	tooLong := strings.Repeat("x", MaxLineBytes+10)
	sc = NewScanner(strings.NewReader("G1 X1\n" + tooLong))
	for sc.Scan() {
	}
	if err := sc.Err(); err == nil || !strings.Contains(err.Error(), "line 2: line longer than") {
		t.Fatalf("oversized line: %v", err)
	}
}

// genReader produces n G-code lines without holding them in memory.
type genReader struct {
	n, i int
	buf  []byte
}

func (g *genReader) Read(p []byte) (int, error) {
	for len(g.buf) < len(p) && g.i < g.n {
		g.buf = fmt.Appendf(g.buf, "G1 X%d.%03d Y%d.5 E.0%d F1800 ; c\n", g.i%200, g.i%1000, g.i%150, g.i%9+1)
		g.i++
	}
	if len(g.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	return n, nil
}

func TestStreamingMillionsOfLines(t *testing.T) {
	n := 2_000_000
	if testing.Short() {
		n = 200_000
	}
	sc := NewScanner(&genReader{n: n})
	m := NewMachine(Options{})
	lines, moves := 0, 0
	for sc.Scan() {
		lines++
		op, err := m.Exec(sc.Line())
		if err != nil {
			t.Fatal(err)
		}
		if op == OpMove {
			moves++
		}
	}
	if sc.Err() != nil || lines != n || moves != n {
		t.Fatalf("lines %d moves %d err %v", lines, moves, sc.Err())
	}
}

func TestMeta(t *testing.T) {
	var m Meta
	sc := NewScanner(strings.NewReader(`; generated by PrusaSlicer 2.6.1+MacOS-x64 on 2023-10-31
;LAYER_CHANGE
;LAYER:3
; layer 4, Z = 0.8
;TIME:3485
; estimated printing time (normal mode) = 1d 2h 38m 43s
; gcode_flavor = marlin2
; retract_before_travel = 1.5
`))
	for sc.Scan() {
		m.Observe(sc.Line())
	}
	if m.Slicer != SlicerPrusa || m.Flavor != "marlin2" || m.LayerMarkers != 3 {
		t.Errorf("meta %+v", m)
	}
	if m.EmbeddedS != 86400+2*3600+38*60+43 || m.EmbeddedSource != "estimated printing time (normal mode)" {
		t.Errorf("embedded %v %q", m.EmbeddedS, m.EmbeddedSource)
	}
	if v, ok := m.ConfigFloat("retract_before_travel"); !ok || v != 1.5 {
		t.Errorf("config %v %v", v, ok)
	}
	for in, want := range map[string]float64{"38m 43s": 2323, "3485": 3485, "1 hours 2 minutes": 3720, "5s": 5} {
		if got, ok := ParseDuration(in); !ok || got != want {
			t.Errorf("ParseDuration(%q) = %v %v", in, got, ok)
		}
	}
	if _, ok := ParseDuration("soon"); ok {
		t.Error("ParseDuration accepted garbage")
	}
}

// TestMetaOtherSlicers: the embedded estimates of Simplify3D (its header
// comment is indented: ";   Build time: …") and Bambu Studio ("; model
// printing time: …; total estimated time: …", the whole file's estimate).
func TestMetaOtherSlicers(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     float64
		source   string
	}{
		{"simplify3d", "; G-Code generated by Simplify3D(R) Version 4.1.2\n;   Build Summary\n;   Build time: 1 hours 2 minutes\n;   Filament length: 1000.0 mm (1.00 m)\nG1 X1\n", 3720, "Build time"},
		{"bambu", "; HEADER_BLOCK_START\n; BambuStudio 01.09.00.70\n; model printing time: 54m 25s; total estimated time: 1h 0m 37s\n; total layer number: 120\n; HEADER_BLOCK_END\nG1 X1\n", 3637, "total estimated time"},
	} {
		var m Meta
		sc := NewScanner(strings.NewReader(tc.in))
		for sc.Scan() {
			m.Observe(sc.Line())
		}
		if m.EmbeddedS != tc.want || m.EmbeddedSource != tc.source {
			t.Errorf("%s: embedded %v s from %q, want %v s from %q", tc.name, m.EmbeddedS, m.EmbeddedSource, tc.want, tc.source)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	const n = 200_000
	var sb strings.Builder
	w := bufio.NewWriter(&sb)
	g := &genReader{n: n}
	io.Copy(w, g)
	w.Flush()
	data := sb.String()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sc := NewScanner(strings.NewReader(data))
		m := NewMachine(Options{})
		for sc.Scan() {
			if _, err := m.Exec(sc.Line()); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// TestFastNumberMatchesParseNumber holds the word lexer's one-pass number
// path to ParseNumber on the whole token: same value, decimals, presence
// and bad-word outcome, for hand-picked and random tokens.
func TestFastNumberMatchesParseNumber(t *testing.T) {
	toks := []string{"1", "-1", "+1", "1.5", "-.5", ".5", "5.", "-", "+", ".", "-.", "1.2.3", "00012", "0.000",
		"1e5", "12345678901234567890", "1234567890123456", "123456789012345", "0.12345678901234567890",
		"-0", "1q", "1-2", "3.14159265358979", "99999999999999999999.5", "1__2"}
	rng := rand.New(rand.NewSource(7))
	const alphabet = "0123456789.-+e_"
	for k := 0; k < 20000; k++ {
		n := 1 + rng.Intn(24)
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.Intn(len(alphabet))]
		}
		toks = append(toks, string(b))
	}
	for _, tok := range toks {
		var l Line
		if err := LexLine([]byte("G1 X"+tok+" Y2"), &l); err != nil {
			t.Fatal(err)
		}
		// The X word ends at the first letter (which starts another word).
		word := tok
		if i := strings.IndexFunc(tok, func(r rune) bool { return r >= 'a' && r <= 'z' }); i >= 0 {
			word = tok[:i]
		}
		want, dec, ok := ParseNumber([]byte(word))
		if word == "" {
			want, dec, ok = 0, 0, true // "X" alone: present, no value
		}
		got, _ := l.Get('X')
		has := l.Has('X')
		if ok != has || ok && (math.Float64bits(got) != math.Float64bits(want) || l.Decimals('X') != dec) {
			t.Fatalf("%q: lexed %v (present %v, %d decimals), ParseNumber(%q) %v (%v, %d decimals)", tok, got, has, l.Decimals('X'), word, want, ok, dec)
		}
		if word == tok && ok != (len(l.BadWord) == 0) {
			t.Fatalf("%q: bad word %q, ParseNumber ok %v", tok, l.BadWord, ok)
		}
	}
}

// fastNumberRef is fastNumber as it was before the two-loop version (one
// loop with a seen-dot flag and a significant-digit count).
func fastNumberRef(b []byte) (v float64, decimals, n int, ok bool) {
	i := 0
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i++
	}
	var mant uint64
	digits, frac := 0, 0
	seenDot := false
	start := i
	for ; i < len(b); i++ {
		c := b[i]
		if c >= '0' && c <= '9' {
			if digits < 19 {
				mant = mant*10 + uint64(c-'0')
				if mant != 0 {
					digits++
				}
				if seenDot {
					frac++
				}
			} else if !seenDot {
				return 0, 0, 0, false
			}
			continue
		}
		if c == '.' && !seenDot {
			seenDot = true
			continue
		}
		break
	}
	if i == start || (seenDot && i == start+1) || digits > 15 || frac > 22 {
		return 0, 0, 0, false
	}
	v = float64(mant) / pow10[frac]
	if neg {
		v = -v
	}
	return v, frac, i, true
}

// TestFastNumberMatchesReference holds fastNumber to fastNumberRef on
// hand-picked and random byte strings (value bits, decimals, length, ok).
func TestFastNumberMatchesReference(t *testing.T) {
	toks := []string{"", "1", "-1", "+1", "1.5", "-.5", ".5", "5.", "-", "+", ".", "-.", "..", ".-", "1.2.3", "00012",
		"0.000", "000000000000000000000000001", "0.00000000000000000000001", "0.0000000000000000000001",
		"999999999999999", "1000000000000000", "0999999999999999", "99999999999999.9", "9999999999999.99",
		"12345678901234567890", "1.", "-5.e", "7 ", "7X"}
	rng := rand.New(rand.NewSource(11))
	const alphabet = "0000123456789..-+ eX"
	for k := 0; k < 200000; k++ {
		b := make([]byte, rng.Intn(28))
		for i := range b {
			b[i] = alphabet[rng.Intn(len(alphabet))]
		}
		toks = append(toks, string(b))
	}
	for _, tok := range toks {
		v, d, n, ok := fastNumber([]byte(tok))
		rv, rd, rn, rok := fastNumberRef([]byte(tok))
		if math.Float64bits(v) != math.Float64bits(rv) || d != rd || n != rn || ok != rok {
			t.Fatalf("%q: fastNumber %v %d %d %v, reference %v %d %d %v", tok, v, d, n, ok, rv, rd, rn, rok)
		}
	}
}

// TestLineReuse lexes random lines into one reused Line and checks every
// accessor against a fresh Line (reset leaves val and dec stale, guarded by
// the presence masks).
func TestLineReuse(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	words := []string{"X", "Y", "Z", "E", "F", "I", "J", "S", "P", "T", "x"}
	nums := []string{"", "1", "-2.5", "0.125", ".5", "5.", "1e3", "1.2.3", "-", "12345678901234567", "007"}
	var reused Line
	for k := 0; k < 20000; k++ {
		line := []string{"G1", "G0", "M104", "G92", "T1", "G28"}[rng.Intn(6)]
		for w := rng.Intn(6); w > 0; w-- {
			line += " " + words[rng.Intn(len(words))] + nums[rng.Intn(len(nums))]
		}
		if rng.Intn(4) == 0 {
			line += " ; c"
		}
		var fresh Line
		err1 := LexLine([]byte(line), &fresh)
		err2 := LexLine([]byte(line), &reused)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("%q: errors %v vs %v", line, err1, err2)
		}
		for c := byte('A'); c <= 'Z'; c++ {
			v1, ok1 := fresh.Get(c)
			v2, ok2 := reused.Get(c)
			if v1 != v2 || ok1 != ok2 || fresh.Has(c) != reused.Has(c) || fresh.Decimals(c) != reused.Decimals(c) {
				t.Fatalf("%q: letter %c: fresh %v %v %v %d, reused %v %v %v %d", line, c,
					v1, ok1, fresh.Has(c), fresh.Decimals(c), v2, ok2, reused.Has(c), reused.Decimals(c))
			}
		}
		if fresh.Letter != reused.Letter || fresh.Code != reused.Code || fresh.Sub != reused.Sub ||
			string(fresh.BadWord) != string(reused.BadWord) || string(fresh.Args) != string(reused.Args) ||
			string(fresh.Comment) != string(reused.Comment) || fresh.LineNo != reused.LineNo {
			t.Fatalf("%q: fields differ: %+v vs %+v", line, fresh, reused)
		}
	}
}
