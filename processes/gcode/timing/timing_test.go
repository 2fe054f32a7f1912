package timing

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exact limits: no per-axis caps, given accelerations, no minimum speed.
func testLimits(a float64, j Junction) Limits {
	l := MarlinDefaults()
	l.MaxFeedMMS = [4]float64{1e6, 1e6, 1e6, 1e6}
	l.MaxAccelMMS2 = [4]float64{1e9, 1e9, 1e9, 1e9}
	l.PrintAccel, l.TravelAccel, l.RetractAccel = a, a, a
	l.MinPlannerSpeedMMS = 0
	l.Junction = j
	l.Lookahead = 16
	return l
}

func TestTrapezoidTime(t *testing.T) {
	cases := []struct {
		d, v0, vn, v1, a, want float64
	}{
		// rest to rest, cruise reached: 2·v/a + (d − v²/a)/v
		{100, 0, 50, 0, 1000, 2*0.05 + (100-2.5)/50},
		// triangle: 2·√(d/a)
		{1, 0, 100, 0, 1000, 2 * math.Sqrt(1.0/1000)},
		// cruise only
		{10, 20, 20, 20, 500, 0.5},
		// accelerate from 10 to 30, cruise, stay
		{100, 10, 30, 30, 100, 0.2 + (100-4)/30.0},
		// triangle between unequal ends: v_p² = a·d + (v0²+v1²)/2
		{2, 10, 1000, 20, 100, (math.Sqrt(100*2+(100+400)/2.0)-10)/100 + (math.Sqrt(100*2+(100+400)/2.0)-20)/100},
		{0, 0, 10, 0, 10, 0},
	}
	for _, c := range cases {
		if got := TrapezoidTime(c.d, c.v0, c.vn, c.v1, c.a); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("TrapezoidTime(%v, %v, %v, %v, %v) = %v want %v", c.d, c.v0, c.vn, c.v1, c.a, got, c.want)
		}
	}
}

func TestSingleMove(t *testing.T) {
	p := NewPlanner(testLimits(1000, JunctionDeviation))
	p.Move([4]float64{60, 80, 0, 0}, 50) // 100 mm at 50 mm/s
	p.Flush()
	if want := 2*0.05 + (100-2.5)/50; math.Abs(p.Time()-want) > 1e-9 {
		t.Errorf("single move %v want %v", p.Time(), want)
	}
	// Per-axis feed limit: a pure Z move is capped at M203 Z.
	l := testLimits(1000, JunctionDeviation)
	l.MaxFeedMMS[Z] = 5
	p = NewPlanner(l)
	p.Move([4]float64{0, 0, 10, 0}, 50)
	p.Flush()
	if want := 2*0.005 + (10-0.025)/5; math.Abs(p.Time()-want) > 1e-9 {
		t.Errorf("Z move %v want %v", p.Time(), want)
	}
	// Per-axis acceleration limit (M201): along X only, 100 mm/s².
	l = testLimits(1000, JunctionDeviation)
	l.MaxAccelMMS2[X] = 100
	p = NewPlanner(l)
	p.Move([4]float64{100, 0, 0, 0}, 50)
	p.Flush()
	if want := 2*0.5 + (100-25)/50.0; math.Abs(p.Time()-want) > 1e-9 {
		t.Errorf("accel-limited move %v want %v", p.Time(), want)
	}
	// Minimum feed (M205 S) lifts a crawl.
	l = testLimits(1e9, JunctionDeviation)
	l.MinFeedMMS = 10
	p = NewPlanner(l)
	p.Move([4]float64{10, 0, 0, 1}, 1)
	p.Flush()
	if math.Abs(p.Time()-1) > 1e-6 {
		t.Errorf("min feed: %v want 1", p.Time())
	}
}

func TestCollinearJunction(t *testing.T) {
	// Two collinear halves take as long as the whole. Under classic jerk
	// Marlin starts from the safe speed (the X jerk, 10 mm/s) and, like
	// junction deviation, plans the newest block to end at the minimum
	// planner speed (0 here).
	for _, j := range []Junction{JunctionDeviation, ClassicJerk} {
		p := NewPlanner(testLimits(1000, j))
		p.Move([4]float64{50, 0, 0, 0}, 50)
		p.Move([4]float64{50, 0, 0, 0}, 50)
		p.Flush()
		v0 := 0.0
		if j == ClassicJerk {
			v0 = 10
		}
		if want := TrapezoidTime(100, v0, 50, 0, 1000); math.Abs(p.Time()-want) > 1e-9 {
			t.Errorf("%v: collinear %v want %v", j, p.Time(), want)
		}
	}
}

// twoLegs is the analytic time of two long legs meeting at speed vj.
func twoLegs(d, v, a, vj float64) float64 {
	return TrapezoidTime(d, 0, v, vj, a) + TrapezoidTime(d, vj, v, 0, a)
}

func TestRightAngleJunction(t *testing.T) {
	const a, v, d = 1000.0, 50.0, 20.0
	// Junction deviation: v² = a·JD·sin(θ/2)/(1−sin(θ/2)), θ = 90°.
	l := testLimits(a, JunctionDeviation)
	l.JunctionDevMM = 0.05
	p := NewPlanner(l)
	p.Move([4]float64{d, 0, 0, 0}, v)
	p.Move([4]float64{0, d, 0, 0}, v)
	p.Flush()
	s := math.Sin(math.Pi / 4)
	vj := math.Sqrt(a * 0.05 * s / (1 - s))
	if want := twoLegs(d, v, a, vj); math.Abs(p.Time()-want) > 1e-9 {
		t.Errorf("JD corner %v want %v (vj %.3f)", p.Time(), want, vj)
	}
	// Classic jerk 10 mm/s per axis: the X axis stops and Y starts, so the
	// junction is at the jerk, 10 mm/s.
	l = testLimits(a, ClassicJerk)
	l.JerkMMS = [4]float64{10, 10, 10, 10}
	p = NewPlanner(l)
	p.Move([4]float64{d, 0, 0, 0}, v)
	p.Move([4]float64{0, d, 0, 0}, v)
	p.Flush()
	// The first block starts at its safe speed (10 mm/s, the jerk) and
	// the last ends at the minimum planner speed (0 here).
	want := TrapezoidTime(d, 10, v, 10, a) + TrapezoidTime(d, 10, v, 0, a)
	if math.Abs(p.Time()-want) > 1e-9 {
		t.Errorf("jerk corner %v want %v", p.Time(), want)
	}
	// A reversal: Marlin counts an axis reversal as max(v_exit, −v_entry)
	// (not the sum), so the junction is also 10 mm/s.
	p = NewPlanner(l)
	p.Move([4]float64{d, 0, 0, 0}, v)
	p.Move([4]float64{-d, 0, 0, 0}, v)
	p.Flush()
	if math.Abs(p.Time()-want) > 1e-9 {
		t.Errorf("jerk reversal %v want %v", p.Time(), want)
	}
}

func TestLookaheadLimitsSpeed(t *testing.T) {
	// 2000 collinear 0.05 mm segments at 100 mm/s, a = 1000: stopping from
	// 100 mm/s needs 5 mm; 16 blocks hold 0.8 mm, so the planner cannot
	// cruise at 100 — Marlin's buffer starvation. With a long look-ahead
	// the time approaches the single-move time.
	const a, v, seg, n = 1000.0, 100.0, 0.05, 2000
	single := TrapezoidTime(seg*n, 0, v, 0, a)
	run := func(look int) float64 {
		l := testLimits(a, JunctionDeviation)
		l.Lookahead = look
		p := NewPlanner(l)
		for i := 0; i < n; i++ {
			p.Move([4]float64{seg, 0, 0, 0}, v)
		}
		p.Flush()
		return p.Time()
	}
	t16, tLong := run(16), run(400)
	vmax := math.Sqrt(2 * a * 15 * seg) // can stop within the 15 blocks ahead
	if !(t16 > tLong*1.5) {
		t.Errorf("look-ahead 16: %v s, 400: %v s; expected starvation", t16, tLong)
	}
	if math.Abs(tLong-single) > 1e-6 {
		t.Errorf("look-ahead 400: %v want %v", tLong, single)
	}
	if est := seg * n / vmax; math.Abs(t16-est)/est > 0.05 {
		t.Errorf("look-ahead 16: %v, expected about %v (cruise at %.1f mm/s)", t16, est, vmax)
	}
}

func TestDwellAndMarks(t *testing.T) {
	p := NewPlanner(testLimits(1000, JunctionDeviation))
	p.Move([4]float64{60, 80, 0, 0}, 50)
	m1 := p.Mark()
	p.Dwell(2.5)
	m2 := p.Mark()
	p.Move([4]float64{60, 80, 0, 0}, 50)
	p.Flush()
	single := 2*0.05 + (100-2.5)/50
	if t1, ok := p.MarkTime(m1); !ok || math.Abs(t1-single) > 1e-9 {
		t.Errorf("mark 1: %v %v want %v", t1, ok, single)
	}
	if t2, _ := p.MarkTime(m2); math.Abs(t2-single-2.5) > 1e-9 {
		t.Errorf("mark 2: %v", t2)
	}
	if math.Abs(p.Time()-2*single-2.5) > 1e-9 {
		t.Errorf("total %v", p.Time())
	}
}

func TestEstimatorCommands(t *testing.T) {
	prog := `M201 X1000 Y1000 Z100 E5000
M203 X100 Y100 Z10 E50
M204 P1000 R1000 T1000
M205 X10 Y10 Z0.4 E5
G1 X100 F6000
G4 P1500
M220 S50
G1 X0 F6000
M221 S200
G1 E5 F3000
`
	r, err := EstimateReader(context.Background(), strings.NewReader(prog), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if r.Junction != ClassicJerk {
		t.Errorf("M205 X/Y should select classic jerk, got %v", r.Junction)
	}
	// Classic jerk (M205 X/Y): move 1, 100 mm at 100 mm/s, starts at the
	// X jerk (10 mm/s) and stops for G4 (0.05 mm/s); move 2 at 50 mm/s
	// (M220 50 %) starts at 10 mm/s and meets the E move at 5 mm/s (the X
	// stop limits the factor to 0.4, the E start to 0.2 of 25 mm/s); the E
	// move feeds 5 mm × M221 200 % = 10 mm at F3000 × 50 % = 25 mm/s and
	// stops at 0.05 mm/s.
	want := TrapezoidTime(100, 10, 100, 0.05, 1000) + 1.5 + TrapezoidTime(100, 10, 50, 5, 1000) + TrapezoidTime(10, 5, 25, 0.05, 1000)
	if math.Abs(r.Seconds-want) > 1e-3 {
		t.Errorf("estimate %v want %v", r.Seconds, want)
	}
	if r.DwellS != 1.5 {
		t.Errorf("dwell %v", r.DwellS)
	}
	if r.Limits.MaxFeedMMS != [4]float64{100, 100, 10, 50} || r.Limits.PrintAccel != 1000 {
		t.Errorf("limits %+v", r.Limits)
	}
}

// TestSlicerEstimates is the acceptance check: on every sample file with a
// slicer estimate from PrusaSlicer's planner, ours is within 5 %; the M73
// curve agrees within 3 percentage points.
func TestSlicerEstimates(t *testing.T) {
	files, _ := filepath.Glob("../testdata/*prusaslicer*.gcode")
	if len(files) == 0 {
		t.Fatal("no test data")
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := EstimateReader(context.Background(), fh, DefaultConfig())
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		if r.Meta.EmbeddedS == 0 {
			t.Fatalf("%s: no embedded estimate found", f)
		}
		rel := r.Seconds/r.Meta.EmbeddedS - 1
		t.Logf("%s: %.1f s, slicer %.0f s (%+.2f %%), %s", filepath.Base(f), r.Seconds, r.Meta.EmbeddedS, rel*100, r.Junction)
		if math.Abs(rel) > 0.05 {
			t.Errorf("%s: %.1f s vs slicer %.0f s: %+.1f %%", f, r.Seconds, r.Meta.EmbeddedS, rel*100)
		}
		if mx, mean, _, ok := r.ProgressError(); ok {
			t.Logf("   M73: %d points, max |ΔP| %.2f, mean %.2f", len(r.Progress), mx, mean)
			if mx > 3 {
				t.Errorf("%s: M73 progress off by %.2f points", f, mx)
			}
		}
	}
}

func BenchmarkEstimate(b *testing.B) {
	data, err := os.ReadFile("../testdata/benchy_prusaslicer-2.6.1_marlin2.gcode")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	lines := strings.Count(string(data), "\n")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := EstimateReader(context.Background(), strings.NewReader(string(data)), DefaultConfig()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
