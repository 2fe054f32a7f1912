package layerprog_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"
	"fabcell/processes/ccf"
	"fabcell/processes/ccf/layerprog"

	"github.com/golang/geo/r3"
)

// lattice is a named planar graph built here.
type lattice struct {
	name  string
	xy    [][2]float64
	edges [][2]int
}

func (l *lattice) node(x, y float64) int {
	for i, p := range l.xy {
		if math.Abs(p[0]-x) < 1e-9 && math.Abs(p[1]-y) < 1e-9 {
			return i
		}
	}
	l.xy = append(l.xy, [2]float64{x, y})
	return len(l.xy) - 1
}

func (l *lattice) edge(a, b int) {
	for _, e := range l.edges {
		if e == [2]int{a, b} || e == [2]int{b, a} {
			return
		}
	}
	l.edges = append(l.edges, [2]int{a, b})
}

// gridWithHoles: an nx×ny grid of 10 mm cells without the cells in holes
// (cell (i,j) removed when hole(i,j)); the edges of removed cells that no
// kept cell uses are dropped.
func gridWithHoles(name string, nx, ny int, cellMM float64, hole func(i, j int) bool) lattice {
	l := lattice{name: name}
	for j := 0; j < ny; j++ {
		for i := 0; i < nx; i++ {
			if hole(i, j) {
				continue
			}
			x, y := float64(i)*cellMM, float64(j)*cellMM
			a, b, c, d := l.node(x, y), l.node(x+cellMM, y), l.node(x+cellMM, y+cellMM), l.node(x, y+cellMM)
			l.edge(a, b)
			l.edge(b, c)
			l.edge(c, d)
			l.edge(d, a)
		}
	}
	return l
}

// rings: concentric rings of n nodes joined by spokes; the innermost
// ring encloses a hole.
func rings(n int, radii []float64) lattice {
	l := lattice{name: "rings"}
	id := func(r, k int) int { return r*n + k }
	for _, R := range radii {
		for k := 0; k < n; k++ {
			a := 2 * math.Pi * float64(k) / float64(n)
			l.xy = append(l.xy, [2]float64{100 + R*math.Cos(a), 100 + R*math.Sin(a)})
		}
	}
	for r := range radii {
		for k := 0; k < n; k++ {
			l.edges = append(l.edges, [2]int{id(r, k), id(r, (k+1)%n)})
			if r+1 < len(radii) {
				l.edges = append(l.edges, [2]int{id(r, k), id(r+1, k)})
			}
		}
	}
	return l
}

// randomPlanar: a jittered grid with a random diagonal in some cells.
func randomPlanar(seed uint64, nx, ny int) lattice {
	rng := rand.New(rand.NewPCG(seed, 7))
	l := lattice{name: "random"}
	id := func(i, j int) int { return j*(nx+1) + i }
	for j := 0; j <= ny; j++ {
		for i := 0; i <= nx; i++ {
			jx, jy := (rng.Float64()-0.5)*4, (rng.Float64()-0.5)*4
			if i == 0 || i == nx {
				jx = 0
			}
			if j == 0 || j == ny {
				jy = 0
			}
			l.xy = append(l.xy, [2]float64{10*float64(i) + jx, 10*float64(j) + jy})
		}
	}
	for j := 0; j <= ny; j++ {
		for i := 0; i <= nx; i++ {
			if i < nx {
				l.edges = append(l.edges, [2]int{id(i, j), id(i+1, j)})
			}
			if j < ny {
				l.edges = append(l.edges, [2]int{id(i, j), id(i, j+1)})
			}
			if i < nx && j < ny && rng.Float64() < 0.5 {
				if rng.IntN(2) == 0 {
					l.edges = append(l.edges, [2]int{id(i, j), id(i+1, j+1)})
				} else {
					l.edges = append(l.edges, [2]int{id(i+1, j), id(i, j+1)})
				}
			}
		}
	}
	return l
}

func (l lattice) graph(t *testing.T) *graph.Graph {
	t.Helper()
	pos := make([]r3.Vector, len(l.xy))
	for i, p := range l.xy {
		pos[i] = r3.Vector{X: p[0], Y: p[1]}
	}
	es := make([]graph.Edge, len(l.edges))
	for i, e := range l.edges {
		es[i] = graph.Edge{A: e[0], B: e[1]}
	}
	g, err := graph.New(pos, es, nil)
	if err != nil {
		t.Fatalf("%s: %v", l.name, err)
	}
	g.Name, g.Kind = l.name, graph.Planar
	return g
}

// planPart plans an euler stroke on g and returns the part to print.
func planPart(t *testing.T, cfg config.Cell, g *graph.Graph) (part, error) {
	t.Helper()
	proc, err := ccf.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := proc.Session(g)
	if err != nil {
		return part{}, err
	}
	pl, err := planners.NewPlanner("euler", planners.Options{Config: cfg.Planner, Process: proc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := planners.Run(context.Background(), pl, s, nil); err != nil {
		return part{}, err
	}
	reg, err := s.Region()
	if err != nil {
		return part{}, err
	}
	st, err := s.Stroke()
	if err != nil {
		return part{}, err
	}
	return part{region: reg, stroke: st, c: cfg.CCF}, nil
}

func checkCCF() config.CCFProcess {
	c := config.Defaults().CCF
	c.Layers = 3
	c.FiberEvery = 2
	c.FiberOffsetXYMM = config.Vec3{30, -8, 0}
	c.FiberCutGcode = "M280 P0 S90\nG4 P200\nM280 P0 S0"
	return c
}

func lattices() []lattice {
	return []lattice{
		gridWithHoles("grid-holes", 8, 6, 10, func(i, j int) bool {
			return (i >= 1 && i <= 2 && j >= 1 && j <= 2) || (i >= 5 && i <= 6 && j >= 3 && j <= 4)
		}),
		rings(24, []float64{30, 42, 54}),
		// a 4×4 block with a 12-cell arm 4 mm wide
		armLattice("long-arm", 12, 4),
		randomPlanar(3, 7, 5),
		// a 40 mm bore meeting a corner notch at one node: before the fix
		// Build refused the part ("perimeter 1: offset 0.225 mm: loops 0
		// and 1 run into each other"); now hole and outline are one
		// pinched loop (Region.MergeTouching)
		gridWithHoles("pinched-bore", 8, 8, 10, func(i, j int) bool {
			return (i <= 1 && j <= 1) || (i >= 2 && i <= 5 && j >= 2 && j <= 5)
		}),
		// a 1.5 mm arm: narrower than two perimeters, no room for infill.
		// Before the fix the infill offset of the outline came back with NaN
		// points and no error, and the whole part got no infill at all.
		armLattice("thin-arm", 6, 1.5),
	}
}

// TestCheckerOnLattices runs the independent checker on the G-code of
// lattices nobody planned before and on the RL3DP models.
func TestCheckerOnLattices(t *testing.T) {
	cfg := config.Defaults()
	cfg.CCF = checkCCF()
	type tc struct {
		name string
		g    func(t *testing.T) *graph.Graph
	}
	var cases []tc
	for _, l := range lattices() {
		cases = append(cases, tc{l.name, l.graph})
	}
	models := []string{"Bearing", "Shell"}
	if !testing.Short() {
		models = append(models, "Gear")
	}
	for _, m := range models {
		cases = append(cases, tc{m, func(t *testing.T) *graph.Graph {
			proc, _ := ccf.New(cfg)
			g, err := proc.Load("../testdata/Node" + m + "_CCF.txt")
			if err != nil {
				t.Fatal(err)
			}
			return g
		}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pt, err := planPart(t, cfg, c.g(t))
			if err != nil {
				t.Fatal(err)
			}
			rep, _, err := writeAndCheck(t, c.name, pt)
			if err != nil {
				t.Fatal(err)
			}
			// the URScript of the same program: every pose IK-checked
			prog, _ := layerprog.Build(pt.region, pt.stroke, layerprog.SettingsFromConfig(cfg.CCF))
			var ur bytes.Buffer
			if st, err := layerprog.WriteURScript(&ur, prog, cfg, layerprog.URScriptMeta{Job: c.name}); err != nil || st.Poses == 0 {
				t.Errorf("urscript: %v", err)
			}
			for _, e := range rep.errs {
				t.Error(e)
			}
			if len(rep.errs) > 0 {
				t.Logf("violations per kind: %v", rep.counts)
			}
		})
	}
}

// TestIdleNozzleClearance: with a z offset between the nozzles, the idle
// one hangs lower than the active one. Before the fix the writers emitted
// such programs (the checker found the idle T0 0.5 mm under the fibre and
// 0.1 mm inside the matrix, T1 below the bed); now both writers refuse
// them with a one-line error, and with the same xy offset and no z offset
// the checker finds no collision.
func TestIdleNozzleClearance(t *testing.T) {
	l := lattices()[0]
	for _, oz := range []float64{0.5, -0.5, 0} {
		cfg := config.Defaults()
		cfg.CCF = checkCCF()
		cfg.CCF.FiberOffsetXYMM = config.Vec3{20, -5, oz}
		pt, err := planPart(t, cfg, l.graph(t))
		if err != nil {
			t.Fatal(err)
		}
		rep, text, err := writeAndCheck(t, l.name, pt)
		if oz == 0 {
			if err != nil || rep.counts["collision"]+rep.counts["below-bed"] > 0 {
				t.Errorf("oz 0: %v %v", err, rep.errs)
			}
			continue
		}
		var ce *layerprog.ClearanceError
		if !errors.As(err, &ce) || text != "" || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "idle") {
			t.Errorf("oz %v: want a ClearanceError and nothing written, got %v (%d bytes)", oz, err, len(text))
			if rep != nil {
				t.Logf("checker: %v", rep.counts)
			}
			continue
		}
		prog, _ := layerprog.Build(pt.region, pt.stroke, layerprog.SettingsFromConfig(cfg.CCF))
		var ur bytes.Buffer
		if _, err := layerprog.WriteURScript(&ur, prog, cfg, layerprog.URScriptMeta{Job: "x"}); !errors.As(err, &ce) || ur.Len() != 0 {
			t.Errorf("oz %v: URScript: %v", oz, err)
		}
		t.Logf("oz %v: %v", oz, err)
	}
}

// TestTravelsOverAirRetract: a matrix travel that leaves the part (over
// the rings' bore, past the arm's corner) retracts even when it is
// shorter than ccf.retract_min_travel_mm. Before the fix, with 20 mm the
// checker found 2 unretracted travels over air on the rings and 1 on the
// long arm.
func TestTravelsOverAirRetract(t *testing.T) {
	cfg := config.Defaults()
	cfg.CCF = checkCCF()
	cfg.CCF.RetractMinTravelMM = 20
	for _, l := range lattices()[1:3] {
		pt, err := planPart(t, cfg, l.graph(t))
		if err != nil {
			t.Fatal(err)
		}
		rep, _, err := writeAndCheck(t, l.name, pt)
		if err != nil {
			t.Fatal(err)
		}
		if n := rep.counts["unretracted-over-air"]; n > 0 {
			t.Errorf("%s: %d unretracted travels over air: %v", l.name, n, rep.errs)
		}
	}
}

// TestCheckerCatchesMutations: the checker is only worth something if it
// fails on wrong programs. Each mutation of a correct program (or of the
// part it is checked against) must raise the named violation.
func TestCheckerCatchesMutations(t *testing.T) {
	cfg := config.Defaults()
	cfg.CCF = checkCCF()
	pt, err := planPart(t, cfg, lattices()[0].graph(t))
	if err != nil {
		t.Fatal(err)
	}
	rep, text, err := writeAndCheck(t, "grid", pt)
	if err != nil || len(rep.errs) > 0 {
		t.Fatalf("clean program: %v %v", err, rep.errs)
	}
	firstLine := func(s, prefix string) string {
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		t.Fatalf("no line %q", prefix)
		return ""
	}
	// the 5th T1 extruding move, to drop from the stroke
	t1 := text[strings.Index(text, "\nT1\n"):]
	var fib []string
	for _, l := range strings.Split(t1, "\n") {
		if strings.HasPrefix(l, "G1 X") {
			fib = append(fib, l)
		}
	}
	offPart := pt
	offPart.c.FiberOffsetXYMM = config.Vec3{0, 0, 0}
	widePart := pt
	widePart.c.MatrixLineWidthMM *= 1.1
	for _, m := range []struct {
		name, want string
		text       string
		pt         part
	}{
		{"absolute E", "e-mode", strings.Replace(text, "\nM83\n", "\nM82\n", 1), pt},
		{"no T1 heat wait", "heat", strings.Replace(text, "M109 T1 S", "M104 T1 S", 1), pt},
		{"T1 left hot", "heat", strings.Replace(text, "M104 T1 S0\n", "", 1), pt},
		{"no cut", "fibre-drag", strings.Replace(text, "M400\n"+cfg.CCF.FiberCutLines()[0]+"\n", "", 1), pt},
		{"fibre move dropped", "fibre-path", strings.Replace(text, "\n"+fib[4]+"\n", "\n", 1), pt},
		{"offset not applied", "fibre-path", text, offPart},
		{"E per mm", "e-per-mm", text, widePart},
		{"no retraction before T1", "idle-t0-unretracted", func() string {
			i := strings.Index(text, "\nT1\n")
			j := strings.LastIndex(text[:i], "\nG1 E-")
			return text[:j] + text[j+len(firstLine(text[j+1:], "G1 E-"))+1:]
		}(), pt},
	} {
		rep := checkGCode(m.text, m.pt)
		if rep.counts[m.want] == 0 {
			t.Errorf("%s: no %q violation (got %v)", m.name, m.want, rep.counts)
		}
	}
}

// TestBadLatticesRefused: bad graphs stop with a one-line error naming
// the problem before anything is written.
func TestBadLatticesRefused(t *testing.T) {
	cfg := config.Defaults()
	cfg.CCF = checkCCF()
	for _, c := range []struct {
		l    lattice
		want string
	}{
		{lattice{name: "empty"}, "no nodes"},
		{lattice{name: "disconnected", xy: [][2]float64{{0, 0}, {10, 0}, {10, 10}, {50, 50}, {60, 50}, {60, 60}},
			edges: [][2]int{{0, 1}, {1, 2}, {2, 0}, {3, 4}, {4, 5}, {5, 3}}}, "disconnected"},
		{lattice{name: "nan", xy: [][2]float64{{0, 0}, {10, 0}, {math.NaN(), 10}}, edges: [][2]int{{0, 1}, {1, 2}, {2, 0}}}, "non-finite"},
		{lattice{name: "zero-length", xy: [][2]float64{{0, 0}, {10, 0}, {10, 10}, {10, 10}}, edges: [][2]int{{0, 1}, {1, 2}, {2, 0}, {2, 3}}}, "coincide"},
		{lattice{name: "two-edges", xy: [][2]float64{{0, 0}, {10, 0}, {10, 10}}, edges: [][2]int{{0, 1}, {1, 2}}}, "enclose no area"},
	} {
		pos := make([]r3.Vector, len(c.l.xy))
		for i, p := range c.l.xy {
			pos[i] = r3.Vector{X: p[0], Y: p[1]}
		}
		es := make([]graph.Edge, len(c.l.edges))
		for i, e := range c.l.edges {
			es[i] = graph.Edge{A: e[0], B: e[1]}
		}
		g, err := graph.New(pos, es, nil)
		if err == nil {
			g.Name, g.Kind = c.l.name, graph.Planar
			_, err = planPart(t, cfg, g)
		}
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want a one-line error about %q, got %v", c.l.name, c.want, err)
		}
	}
}

// armLattice is a 4×4 block of 10 mm cells with an arm of cells 10 mm long
// and widthMM wide sticking out of its right side at y = 20.
func armLattice(name string, cells int, widthMM float64) lattice {
	l := gridWithHoles(name, 4, 4, 10, func(i, j int) bool { return false })
	for k := 0; k < cells; k++ {
		x := 40 + 10*float64(k)
		a, b, c, d := l.node(x, 20), l.node(x+10, 20), l.node(x+10, 20+widthMM), l.node(x, 20+widthMM)
		l.edge(a, b)
		l.edge(b, c)
		l.edge(c, d)
		l.edge(d, a)
	}
	return l
}
