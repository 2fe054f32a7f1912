package lsg

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"

	"github.com/golang/geo/r3"
)

const femur = "../lsgdqn/testdata/NodeFemur_wireframe.txt"

func loadFemur(t testing.TB) *graph.Graph {
	t.Helper()
	g, err := graph.Load(femur, graph.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func mustGraph(t testing.TB, pos []r3.Vector, edges []graph.Edge) *graph.Graph {
	t.Helper()
	g, err := graph.New(pos, edges, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// gridGraph is a w×h grid in the plane z = 0 with spacing 10 mm; diag adds
// one diagonal per cell (a triangulated grid).
func gridGraph(t testing.TB, w, h int, diag bool) *graph.Graph {
	var pos []r3.Vector
	var edges []graph.Edge
	id := func(i, j int) int { return j*w + i }
	for j := 0; j < h; j++ {
		for i := 0; i < w; i++ {
			pos = append(pos, r3.Vector{X: 10 * float64(i), Y: 10 * float64(j)})
		}
	}
	for j := 0; j < h; j++ {
		for i := 0; i < w; i++ {
			if i+1 < w {
				edges = append(edges, graph.Edge{A: id(i, j), B: id(i+1, j)})
			}
			if j+1 < h {
				edges = append(edges, graph.Edge{A: id(i, j), B: id(i, j+1)})
			}
			if diag && i+1 < w && j+1 < h {
				edges = append(edges, graph.Edge{A: id(i, j), B: id(i+1, j+1)})
			}
		}
	}
	return mustGraph(t, pos, edges)
}

func TestBuildPathGraphRings(t *testing.T) {
	// path 0-1-2-3-4-5-6 with unit spacing except the 2-3 edge (2 mm)
	xs := []float64{0, 1, 2, 4, 5, 6, 7}
	var pos []r3.Vector
	for _, x := range xs {
		pos = append(pos, r3.Vector{X: x})
	}
	var edges []graph.Edge
	for i := 0; i+1 < len(xs); i++ {
		edges = append(edges, graph.Edge{A: i, B: i + 1})
	}
	g := mustGraph(t, pos, edges)
	cases := []struct {
		ring, nmax int
		want       []int // sorted global nodes
		lmax       float64
		trunc      bool
	}{
		{1, 40, []int{2, 3, 4}, 2, false},
		{2, 40, []int{1, 2, 3, 4, 5}, 2, false},
		{3, 40, []int{0, 1, 2, 3, 4, 5, 6}, 2, false},
		{3, 4, []int{2, 3, 4, 5}, 2, true}, // BFS order 3, 2, 4, 1, 5 … keeps the first 4
	}
	for _, c := range cases {
		b, err := NewBuilder(g, Config{Ring: c.ring, NMax: c.nmax})
		if err != nil {
			t.Fatal(err)
		}
		l, err := b.Build(3, 2)
		if err != nil {
			t.Fatal(err)
		}
		got := slices.Sorted(slices.Values(l.Nodes))
		if c.trunc {
			// BFS from 3: 3, then 2, 4 (sorted neighbours), then 1, 5
			c.want = []int{1, 2, 3, 4}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("ring %d nmax %d: nodes %v, want %v", c.ring, c.nmax, got, c.want)
		}
		if l.Truncated != c.trunc {
			t.Errorf("ring %d nmax %d: truncated %v", c.ring, c.nmax, l.Truncated)
		}
		if l.LMaxMM != c.lmax {
			t.Errorf("lmax %v want %v", l.LMaxMM, c.lmax)
		}
		// every graph edge with both ends inside, none other
		want := 0
		for _, e := range g.Edges {
			if l.Local(e.A) >= 0 && l.Local(e.B) >= 0 {
				want++
				k := l.EdgeLocal(slices.Index(g.Edges, e))
				if k < 0 {
					t.Fatalf("edge %v missing", e)
				}
				ed := l.Edges[k]
				if l.Nodes[ed.I] != min(e.A, e.B) && l.Nodes[ed.I] != max(e.A, e.B) {
					t.Fatalf("edge %v mapped to %v", e, ed)
				}
				if math.Abs(ed.Len-g.LengthMM(int(ed.E))/c.lmax) > 1e-15 {
					t.Fatalf("edge len %v", ed.Len)
				}
			}
		}
		if len(l.Edges) != want {
			t.Errorf("%d edges, want %d", len(l.Edges), want)
		}
		for i, v := range l.Nodes {
			d := v - 3
			if d < 0 {
				d = -d
			}
			if int(l.Ring[i]) != d {
				t.Errorf("node %d ring %d want %d", v, l.Ring[i], d)
			}
		}
		// pins: centre at (0,0), pin 2 at (−1,0); the path is a line, so
		// every node has v = 0 and the order is by u (position along x)
		if l.Pin != 2 {
			t.Errorf("pin %d", l.Pin)
		}
		for i := 1; i < len(l.Nodes); i++ {
			if l.Nodes[i] < l.Nodes[i-1] {
				t.Errorf("line order %v", l.Nodes)
			}
		}
	}
}

func TestPinFallbackNearestNeighbour(t *testing.T) {
	g := gridGraph(t, 5, 5, true)
	b, _ := NewBuilder(g, Config{Ring: 2, NMax: 100})
	// no previous node → nearest neighbour of 12 (all unit-length axis
	// neighbours tie at 10 mm; the lowest index, 7, wins)
	l, _ := b.Build(12, -1)
	if l.Pin != 7 {
		t.Errorf("pin %d, want 7", l.Pin)
	}
	// previous node outside the LSG → nearest neighbour too
	l, _ = b.Build(12, 24+0*1)
	if l.Pin != 7 && l.Local(24) < 0 {
		t.Errorf("pin %d", l.Pin)
	}
	l, _ = b.Build(12, 12)
	if l.Pin != 7 {
		t.Errorf("pin for v_{c-1}=v_c: %d", l.Pin)
	}
	l, _ = b.Build(12, 18)
	if l.Pin != 18 {
		t.Errorf("pin %d, want 18", l.Pin)
	}
	c := l.Local(12)
	p := l.Local(18)
	if l.UV[c] != [2]float64{0, 0} || l.UV[p] != [2]float64{-1, 0} {
		t.Errorf("pins at %v, %v", l.UV[c], l.UV[p])
	}
}

// A planar triangulated grid has an exact conformal flattening: the
// similarity taking the pins to (−1,0) and (0,0).
func TestLSCMFlatGridIsSimilarity(t *testing.T) {
	g := gridGraph(t, 7, 6, true)
	checkFlat(t, g, g.Pos, EncodeLSCM)
	// quads only (no diagonals): faces come from chordless 4-cycles
	gq := gridGraph(t, 7, 6, false)
	checkFlat(t, gq, gq.Pos, EncodeLSCM)
}

func checkFlat(t *testing.T, g *graph.Graph, flat []r3.Vector, enc Encoding) {
	t.Helper()
	b, _ := NewBuilder(g, Config{Ring: 3, NMax: 200, Encoding: enc})
	l, err := b.Build(17, 16)
	if err != nil {
		t.Fatal(err)
	}
	if l.Method != EncodeLSCM || l.Faces == 0 {
		t.Fatalf("method %v faces %d", l.Method, l.Faces)
	}
	zc := complex(flat[17].X, flat[17].Y)
	zp := complex(flat[16].X, flat[16].Y)
	maxErr := 0.0
	for i, v := range l.Nodes {
		z := (complex(flat[v].X, flat[v].Y) - zc) / (zc - zp)
		w := complex(l.UV[i][0], l.UV[i][1])
		// allow the canonical mirror
		e := math.Min(absC(z-w), absC(complex(real(z), -imag(z))-w))
		maxErr = math.Max(maxErr, e)
	}
	t.Logf("max flattening error %g", maxErr)
	if maxErr > 1e-6 {
		t.Errorf("max flattening error %g", maxErr)
	}
}

func absC(z complex128) float64 { return math.Hypot(real(z), imag(z)) }

// Folding a flat triangulated grid along a line keeps it developable: LSCM
// must unfold it exactly (independent answer: the original planar grid).
func TestLSCMUnfoldsFoldedGrid(t *testing.T) {
	flat := gridGraph(t, 7, 6, true)
	pos := make([]r3.Vector, len(flat.Pos))
	ang := 70 * math.Pi / 180
	for i, p := range flat.Pos {
		if p.X <= 30 {
			pos[i] = p
			continue
		}
		d := p.X - 30
		pos[i] = r3.Vector{X: 30 + d*math.Cos(ang), Y: p.Y, Z: d * math.Sin(ang)}
	}
	g := mustGraph(t, pos, flat.Edges)
	checkFlat(t, g, flat.Pos, EncodeLSCM)
}

func TestTriangleFreeFallsBackToPlanar(t *testing.T) {
	// a star tree in 3-D: no cycles at all
	pos := []r3.Vector{{}, {X: 10}, {Y: 10}, {X: -10, Z: 3}, {Y: -10, Z: 5}, {X: 20}}
	edges := []graph.Edge{{A: 0, B: 1}, {A: 0, B: 2}, {A: 0, B: 3}, {A: 0, B: 4}, {A: 1, B: 5}}
	g := mustGraph(t, pos, edges)
	b, _ := NewBuilder(g, Config{Ring: 2, NMax: 10})
	l, err := b.Build(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if l.Method != EncodePlanar || l.Faces != 0 || l.Size() != 6 {
		t.Fatalf("method %v faces %d size %d", l.Method, l.Faces, l.Size())
	}
	if l.UV[l.Local(0)] != [2]float64{0, 0} || l.UV[l.Local(1)] != [2]float64{-1, 0} {
		t.Fatalf("pins %v %v", l.UV[l.Local(0)], l.UV[l.Local(1)])
	}
	// node 5 continues the pin line on the other side: u = −2... no: 5 is
	// at x = 20, pin 1 at x = 10, centre at 0 → u(5) = −2, v(5) = 0
	if uv := l.UV[l.Local(5)]; math.Abs(uv[0]+2) > 1e-9 || math.Abs(uv[1]) > 1e-9 {
		t.Errorf("node 5 at %v", uv)
	}
	for _, p := range l.UV {
		if math.IsNaN(p[0]) || math.IsNaN(p[1]) {
			t.Fatal("NaN in UV")
		}
	}
}

func TestIsolatedCentre(t *testing.T) {
	pos := []r3.Vector{{}, {X: 1}, {X: 2}}
	g := mustGraph(t, pos, []graph.Edge{{A: 1, B: 2}})
	b, _ := NewBuilder(g, Config{Ring: 3, NMax: 10})
	l, err := b.Build(0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if l.Size() != 1 || len(l.Edges) != 0 || l.Pin != -1 || l.LMaxMM != 1 {
		t.Fatalf("isolated: %+v", l)
	}
	if _, err := b.Build(5, -1); err == nil {
		t.Fatal("out-of-range centre accepted")
	}
}

// similarity applies x ↦ s·R·x + t (R may be a reflection when det = −1).
func similarity(pos []r3.Vector, rot [3][3]float64, s float64, tr r3.Vector) []r3.Vector {
	out := make([]r3.Vector, len(pos))
	for i, p := range pos {
		v := [3]float64{p.X, p.Y, p.Z}
		var w [3]float64
		for a := 0; a < 3; a++ {
			for b := 0; b < 3; b++ {
				w[a] += rot[a][b] * v[b]
			}
		}
		out[i] = r3.Vector{X: s*w[0] + tr.X, Y: s*w[1] + tr.Y, Z: s*w[2] + tr.Z}
	}
	return out
}

func randomRotation(rng *rand.Rand) [3][3]float64 {
	// random unit quaternion
	q := [4]float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
	n := math.Sqrt(q[0]*q[0] + q[1]*q[1] + q[2]*q[2] + q[3]*q[3])
	w, x, y, z := q[0]/n, q[1]/n, q[2]/n, q[3]/n
	return [3][3]float64{
		{1 - 2*(y*y+z*z), 2 * (x*y - z*w), 2 * (x*z + y*w)},
		{2 * (x*y + z*w), 1 - 2*(x*x+z*z), 2 * (y*z - x*w)},
		{2 * (x*z - y*w), 2 * (y*z + x*w), 1 - 2*(x*x+y*y)},
	}
}

func rotZ(a float64) [3][3]float64 {
	c, s := math.Cos(a), math.Sin(a)
	return [3][3]float64{{c, -s, 0}, {s, c, 0}, {0, 0, 1}}
}

// stateOf plans `moves` random prints on the travel process over g from
// start, builds the LSG and returns it with its root state.
func stateOf(t *testing.T, g *graph.Graph, start int, prints int, seed uint64, cfg Config) (*LSG, []float64, Layout) {
	t.Helper()
	proc := &planners.TravelProcess{Cfg: config.Defaults(), TurnWeight: 0.1}
	s, err := proc.NewSession(g)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Begin(start); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	var cand []planners.Move
	for i := 0; i < prints; i++ {
		cand = s.Candidates(cand[:0])
		if len(cand) == 0 {
			break
		}
		s.Apply(cand[rng.IntN(len(cand))])
	}
	b, err := NewBuilder(g, cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := b.BuildAt(s)
	if err != nil {
		t.Fatal(err)
	}
	ex, _ := NewExplorer(s, ExplorerConfig{Horizon: cfg.Ring, Discount: Discount{}})
	ex.Reset()
	if err := ex.Bind(l); err != nil {
		t.Fatal(err)
	}
	lo := Layout{N: cfg.NMax}
	buf := make([]float64, lo.Len())
	ex.FillRoot(lo, buf)
	return l, buf, lo
}

// TestEncodingInvariance: a rotated, translated and uniformly scaled copy
// of a real wire-frame gives the same encoded state matrix [A, A†, A‡] and
// the same (u, v) rows; a rotation about the vertical axis keeps the
// height row too; a mirror image gives the same matrix as well.
func TestEncodingInvariance(t *testing.T) {
	g := loadFemur(t)
	rng := rand.New(rand.NewPCG(3, 3))
	type xf struct {
		name   string
		rot    [3][3]float64
		s      float64
		tr     r3.Vector
		sameDZ bool
	}
	xfs := []xf{
		{"rotate+translate+scale", randomRotation(rng), 2.7, r3.Vector{X: 100, Y: -40, Z: 7}, false},
		{"rotate-z+scale", rotZ(1.1), 0.3, r3.Vector{X: -5, Y: 3, Z: 1}, true},
		{"mirror", [3][3]float64{{-1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, 1, r3.Vector{}, true},
	}
	for _, ring := range []int{2, 3, 4} {
		cfg := Config{Ring: ring, NMax: 40 * ring}
		for _, start := range []int{0, 57, 130, 200} {
			l0, s0, lo := stateOf(t, g, start, 5, uint64(start), cfg)
			nodes0 := slices.Clone(l0.Nodes)
			dz0 := slices.Clone(l0.DZ)
			for _, x := range xfs {
				g2 := mustGraph(t, similarity(g.Pos, x.rot, x.s, x.tr), g.Edges)
				l1, s1, _ := stateOf(t, g2, start, 5, uint64(start), cfg)
				if !slices.Equal(nodes0, l1.Nodes) {
					t.Errorf("ring %d start %d %s: node order differs\n%v\n%v", ring, start, x.name, nodes0, l1.Nodes)
					continue
				}
				for c := 0; c < Channels; c++ {
					for i := 0; i < lo.N; i++ {
						for j := 0; j < lo.N; j++ {
							a, b := s0[lo.Index(c, i, j)], s1[lo.Index(c, i, j)]
							if math.Abs(a-b) > 1e-12 {
								t.Fatalf("ring %d start %d %s: S[%d][%d][%d] = %v vs %v", ring, start, x.name, c, i, j, a, b)
							}
						}
					}
					for i := range l1.Nodes {
						for _, row := range []int{RowU, RowV} {
							a, b := s0[lo.Index(c, lo.N+row, i)], s1[lo.Index(c, lo.N+row, i)]
							if math.Abs(a-b) > 1e-6 {
								t.Fatalf("ring %d start %d %s: row %d col %d: %v vs %v", ring, start, x.name, row, i, a, b)
							}
						}
						if x.sameDZ && math.Abs(dz0[i]-l1.DZ[i]) > 1e-12 {
							t.Fatalf("%s: dz differs", x.name)
						}
					}
				}
			}
		}
	}
}

func TestEncodingUsesLSCMOnFemur(t *testing.T) {
	g := loadFemur(t)
	b, _ := NewBuilder(g, Config{Ring: 3, NMax: 120})
	for v := 0; v < g.NumNodes(); v += 17 {
		l, err := b.Build(v, -1)
		if err != nil {
			t.Fatal(err)
		}
		if l.Method != EncodeLSCM || l.Faces == 0 {
			t.Errorf("node %d: method %v faces %d", v, l.Method, l.Faces)
		}
		c := l.CenterLocal()
		if l.UV[c] != [2]float64{0, 0} {
			t.Errorf("centre at %v", l.UV[c])
		}
		for i := 1; i < l.Size(); i++ {
			a, b := l.UV[i-1], l.UV[i]
			if b[1] < a[1]-1e-6 {
				t.Fatalf("node %d: not sorted by v: %v then %v", v, a, b)
			}
		}
	}
}

func TestDiscountTable(t *testing.T) {
	// spec §7: D(1..6) = 1.000, 0.561, 0.162, 0.102, 0.100, 0.100
	want := []float64{1.000, 0.561, 0.162, 0.102, 0.100, 0.100}
	d, err := ParseDiscount("gaussian", 0.865, 0.98)
	if err != nil {
		t.Fatal(err)
	}
	for k, w := range want {
		if got := d.At(k + 1); math.Abs(got-w) > 5e-4 {
			t.Errorf("gaussian D(%d) = %.4f, want %.3f", k+1, got, w)
		}
	}
	inv, _ := ParseDiscount("inverse-square", 0, 0)
	for k, w := range []float64{1, 0.25, 1.0 / 9, 0.0625, 0.0625, 0.0625} {
		if got := inv.At(k + 1); math.Abs(got-w) > 1e-15 {
			t.Errorf("inverse-square D(%d) = %v, want %v", k+1, got, w)
		}
	}
	exp, _ := ParseDiscount("exponential", 0, 0.9)
	for k := 1; k <= 6; k++ {
		if got, w := exp.At(k), math.Pow(0.9, float64(k-1)); math.Abs(got-w) > 1e-15 {
			t.Errorf("exponential D(%d) = %v, want %v", k, got, w)
		}
	}
	if _, err := ParseDiscount("cosine", 0, 0); err == nil {
		t.Error("unknown discount accepted")
	}
}
