package controller

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"
	lpbfproc "fabcell/processes/lpbf"
	lpbflink "fabcell/robot/lpbf"
	"fabcell/robot/lpbf/brokertest"
	"fabcell/safety"
	"fabcell/simulation/lpbfsim"
	"fabcell/simulation/thermal"

	"go.uber.org/goleak"
)

// The LPBF tests use a real layer (CLI layer 0 of s_Cylinder_ex.cli, 2382
// pixels in two islands, from the commonlayer test data), real MQTT
// brokers on loopback (the embedded mochi broker and, when installed,
// Debian's mosquitto) and the simulated machine of simulation/lpbfsim.
const lpbfModel = "../planners/graph/commonlayer/testdata/s_Cylinder_ex.cli#0"

func lpbfModelPath(t testing.TB) string {
	t.Helper()
	p, _ := filepath.Abs(lpbfModel)
	if _, err := os.Stat(strings.TrimSuffix(p, "#0")); err != nil {
		t.Fatalf("LPBF test layer: %v", err)
	}
	return p
}

func lpbfQuiet() *slog.Logger {
	if os.Getenv("LPBF_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// lpbfLeakCheck verifies, after every cleanup of t (brokers, machines,
// links), that no goroutine started during the test is left.
func lpbfLeakCheck(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// invertedT writes a black-on-white PNG mask (pitch 0.05 mm): a 20×40
// pixel stem on top of an 80×10 pixel bar, so the first pixel (top left of
// the stem) lies near the middle and the bar's ends far out.
func invertedT(t *testing.T) string {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 80, 50))
	for y := 0; y < 50; y++ {
		for x := 0; x < 80; x++ {
			c := color.Gray{Y: 255}
			if y >= 40 || (x >= 30 && x < 50) {
				c = color.Gray{Y: 0}
			}
			img.SetGray(x, y, c)
		}
	}
	p := filepath.Join(t.TempDir(), "inverted_t.png")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return p
}

// --- brokers ---------------------------------------------------------------

// The brokers are shared with the LPBF link and machine tests.
type lpbfBroker = brokertest.Broker

var (
	startLPBFMochi = brokertest.StartMochi
	eachLPBFBroker = brokertest.Each
)

// --- cell, machine, link ---------------------------------------------------

func lpbfCell(t testing.TB, brokerURL string) config.Cell {
	c := config.Defaults()
	dir := t.TempDir()
	c.Name = "lpbfcell"
	c.Controller.JournalDir = filepath.Join(dir, "journal")
	c.Controller.ReportDir = filepath.Join(dir, "reports")
	c.Controller.LookaheadDepth = 64
	c.Controller.AckTimeoutS = 20
	c.Planner.Name = "greedy"
	c.LPBF.ChunkVectors = 16
	c.MQTT.Broker = brokerURL
	c.MQTT.ReconnectMaxS = 1
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func lpbfMachine(t testing.TB, cell config.Cell, mod func(*lpbfsim.Options)) *lpbfsim.Machine {
	t.Helper()
	o := lpbfsim.Options{BrokerURL: cell.MQTT.Broker, Prefix: cell.MQTT.TopicPrefix, Cell: cell.Name,
		FieldSizeMM: cell.LPBF.FieldSizeMM, MaxPowerW: cell.LPBF.MaxPowerW, TimeScale: 1000,
		ReconnectMax: 100 * time.Millisecond, RecordVectors: true, Log: lpbfQuiet()}
	if mod != nil {
		mod(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := lpbfsim.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// lpbfIO connects the controller side (OpenLPBF, not a dry run: the test
// owns the machine) and registers it as device "lpbf".
func lpbfIO(t testing.TB, cell config.Cell) (*CellIO, *lpbflink.Link) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	link, closer, err := OpenLPBF(ctx, cell, false, lpbfQuiet())
	if err != nil {
		t.Fatal(err)
	}
	cio := NewCellIO(false)
	cio.Set("lpbf", link, closer)
	t.Cleanup(func() { cio.Close() })
	return cio, link
}

func waitJob(t testing.TB, m *Manager, id string) JobInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	return waitEnded(t, ctx, m, id)
}

// --- independent checks ------------------------------------------------------

type layerGeom struct {
	g      *graph.Graph
	lat    *lpbfproc.Lattice
	cx, cy float64
}

func loadLayer(t *testing.T, cell config.Cell) layerGeom {
	t.Helper()
	proc, err := lpbfproc.New(cell)
	if err != nil {
		t.Fatal(err)
	}
	g, err := proc.Load(lpbfModelPath(t))
	if err != nil {
		t.Fatal(err)
	}
	lat, err := lpbfproc.NewLattice(g)
	if err != nil {
		t.Fatal(err)
	}
	l := layerGeom{g: g, lat: lat}
	if cell.LPBF.FieldOrigin == "layer" {
		lo, hi := g.Bounds()
		l.cx, l.cy = (lo.X+hi.X)/2, (lo.Y+hi.Y)/2
	}
	return l
}

// pixelsOf walks a scan vector pixel by pixel (it is axis-parallel, pixel
// centres one pitch apart) and returns the nodes it marks.
func (l layerGeom) pixelsOf(t *testing.T, v lpbflink.Vector) []int {
	t.Helper()
	s := l.lat.S
	dx, dy := v.X1-v.X0, v.Y1-v.Y0
	n := int(math.Round(math.Max(math.Abs(dx), math.Abs(dy))/s)) + 1
	if math.Abs(dx) > 1e-6 && math.Abs(dy) > 1e-6 {
		t.Fatalf("vector %+v is not axis-parallel", v)
	}
	out := make([]int, 0, n)
	for i := 0; i < n; i++ {
		f := 0.0
		if n > 1 {
			f = float64(i) / float64(n-1)
		}
		x, y := v.X0+f*dx+l.cx, v.Y0+f*dy+l.cy
		node, ok := l.lat.NodeAt(x, y)
		if !ok {
			t.Fatalf("vector %+v marks (%g, %g) mm, which is no pixel of the layer", v, x, y)
		}
		out = append(out, node)
	}
	return out
}

// checkScannedOnce asserts that the machine executed chunk ids 0..n-1 of
// job exactly once each and that its vectors mark every pixel exactly
// once; it returns the executed vectors in order.
func checkScannedOnce(t *testing.T, l layerGeom, recs []lpbfsim.Record, job string) []lpbflink.Vector {
	t.Helper()
	var all []lpbflink.Vector
	for i, r := range recs {
		if r.Job != job || r.Chunk != int64(i) {
			t.Fatalf("execution %d is chunk %d of job %s (want chunk %d of %s): a chunk was lost or scanned twice", i, r.Chunk, r.Job, i, job)
		}
		all = append(all, r.Vectors...)
	}
	count := make([]int, l.g.NumNodes())
	for _, v := range all {
		for _, p := range l.pixelsOf(t, v) {
			count[p]++
		}
	}
	for p, c := range count {
		if c != 1 {
			t.Fatalf("pixel %d scanned %d times", p, c)
		}
	}
	return all
}

// ackedOrder reads the journal and returns the laser's pixel order.
func ackedOrder(t *testing.T, cell config.Cell, job string) []int {
	t.Helper()
	rec, err := ReadJournal(filepath.Join(cell.Controller.JournalDir, job+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if rec.InFlight != nil {
		t.Fatalf("journal ends with step %d in flight", rec.InFlight.Seq)
	}
	return planners.PathOf(rec.Acked)
}

// --- end-to-end tests ------------------------------------------------------

// TestLPBFLayerThroughPipeline runs a whole layer through the Manager, the
// adapter, the MQTT link and the simulated machine: every chunk is acked
// exactly once, every pixel scanned once, the vectors are exactly the
// process's scan vectors (processes/lpbf.ScanVectors of the acknowledged
// order) and the machine's execution time equals the process's timing
// estimate.
func TestLPBFLayerThroughPipeline(t *testing.T) {
	lpbfLeakCheck(t)
	eachLPBFBroker(t, func(t *testing.T, b lpbfBroker) {
		cell := lpbfCell(t, b.URL())
		mach := lpbfMachine(t, cell, nil)
		cio, link := lpbfIO(t, cell)
		m := NewManager(Options{Cell: cell, IO: cio, AutoStart: true, Log: lpbfQuiet()})
		defer m.Close()
		if _, _, err := m.Submit(JobSpec{ID: "cyl", Process: "lpbf", Model: lpbfModelPath(t)}); err != nil {
			t.Fatal(err)
		}
		info := waitJob(t, m, "cyl")
		if info.State != Completed {
			t.Fatalf("state %s: %s", info.State, info.Reason)
		}
		l := loadLayer(t, cell)
		recs := mach.Records()
		got := checkScannedOnce(t, l, recs, "cyl")
		for i, r := range recs {
			if r.N > cell.LPBF.ChunkVectors+1 || (i < len(recs)-1 && r.N != cell.LPBF.ChunkVectors) {
				t.Fatalf("chunk %d has %d vectors (chunk_vectors %d)", i, r.N, cell.LPBF.ChunkVectors)
			}
		}
		// The vectors are the process's scan vectors of the journaled order.
		order := ackedOrder(t, cell, "cyl")
		want := lpbfproc.ScanVectors(l.lat, order)
		if len(want) != len(got) {
			t.Fatalf("machine got %d vectors, the process makes %d", len(got), len(want))
		}
		for i, v := range want {
			a, b := l.g.Pos[v.From], l.g.Pos[v.To]
			w := lpbflink.Vector{X0: lpbflink.RoundMM(a.X - l.cx), Y0: lpbflink.RoundMM(a.Y - l.cy), X1: lpbflink.RoundMM(b.X - l.cx), Y1: lpbflink.RoundMM(b.Y - l.cy),
				PowerW: cell.LPBF.PowerW, SpeedMMS: cell.LPBF.ScanSpeedMMS}
			if got[i] != w {
				t.Fatalf("vector %d: machine %+v, process %+v", i, got[i], w)
			}
		}
		// Machine time (its own model over the wire vectors) = the process
		// estimate (over the graph), up to the 1 nm wire rounding.
		est := lpbfproc.EstimateTime(cell.LPBF, l.g, want)
		sum := 0.0
		for _, r := range recs {
			sum += r.ExecS
		}
		if math.Abs(sum-est.TotalS) > 1e-6*est.TotalS {
			t.Fatalf("machine time %.9f s, estimate %.9f s", sum, est.TotalS)
		}
		if info.Metrics["lpbf_chunks"] != float64(len(recs)) || info.Metrics["lpbf_chunks_acked"] != float64(len(recs)) ||
			info.Metrics["lpbf_vectors"] != float64(len(got)) || math.Abs(info.Metrics["lpbf_machine_exec_s"]-sum) > 1e-9 || info.Metrics["unvisited"] != 0 {
			t.Fatalf("metrics %v", info.Metrics)
		}
		if math.Abs(info.Metrics["lpbf_estimate_s"]-est.TotalS) > 1e-6*est.TotalS {
			t.Fatalf("adapter estimate %v s, process %v s", info.Metrics["lpbf_estimate_s"], est.TotalS)
		}
		// The layer is closed on the machine, and the link saw no resend.
		st := mach.State()
		if js := st.Jobs["cyl"]; js.LastChunk != int64(len(recs)-1) || js.LayerOpen || st.Layer != -1 {
			t.Fatalf("machine state %+v", st)
		}
		if s := link.Stats(); s.Resends != 0 || s.Duplicates != 0 {
			t.Fatalf("link stats %+v", s)
		}
	})
}

// TestLPBFFieldRefusedBeforeDispatch: the gate refuses a vector outside
// the scan field before it is sent.
func TestLPBFFieldRefusedBeforeDispatch(t *testing.T) {
	lpbfLeakCheck(t)
	b := startLPBFMochi(t)
	for _, tc := range []struct {
		name    string
		model   string
		fieldMM float64
		some    bool // some chunks go out before the refusal
	}{
		// The cylinder layer is 9.85 mm wide; its first pixel is on the edge.
		{"first vector", lpbfModelPath(t), 4, false},
		// The inverted T is 4 mm wide; its stem, scanned first row by row
		// (zigzag), ±0.5 mm. With a look-ahead of one move the checker
		// reaches the bar only after most stem chunks were dispatched.
		{"mid layer", invertedT(t), 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cell := lpbfCell(t, b.URL())
			cell.LPBF.FieldSizeMM = tc.fieldMM
			cell.LPBF.FieldOrigin = "layer" // the field is sized to the layer's own box
			cell.Planner.Name = "zigzag"
			cell.Controller.LookaheadDepth = 1
			cell.LPBF.ChunkVectors = 4
			mach := lpbfMachine(t, cell, func(o *lpbfsim.Options) { o.FieldSizeMM = 250; o.ClientID = "m-" + tc.name[:3] })
			cio, _ := lpbfIO(t, cell)
			m := NewManager(Options{Cell: cell, IO: cio, AutoStart: true, Log: lpbfQuiet()})
			defer m.Close()
			m.Submit(JobSpec{ID: "big", Process: "lpbf", Model: tc.model})
			info := waitJob(t, m, "big")
			if info.State != Failed || !strings.Contains(info.Reason, "refused") || !strings.Contains(info.Reason, "laser_field") || !strings.Contains(info.Reason, "scan vector") {
				t.Fatalf("state %s reason %q", info.State, info.Reason)
			}
			recs := mach.Records()
			// The stem is 40 rows = 10 chunks of 4 vectors.
			if tc.some && (len(recs) < 5 || len(recs) > 10) || !tc.some && len(recs) != 0 {
				t.Fatalf("%d chunks executed before the refusal", len(recs))
			}
			half := tc.fieldMM / 2
			for _, r := range recs {
				for _, v := range r.Vectors {
					if math.Abs(v.X0) > half || math.Abs(v.Y0) > half || math.Abs(v.X1) > half || math.Abs(v.Y1) > half {
						t.Fatalf("vector %+v outside ±%g mm reached the machine", v, half)
					}
				}
			}
			if !tc.some && mach.Stats().Received != 1 { // layer/begin only
				t.Fatalf("machine received %d messages", mach.Stats().Received)
			}
		})
	}
}

// TestLPBFMachineRejectsPower: a controller configured for a stronger
// laser than the machine has passes its own gate; the machine refuses the
// first chunk and the job fails with the machine's reason.
func TestLPBFMachineRejectsPower(t *testing.T) {
	lpbfLeakCheck(t)
	b := startLPBFMochi(t)
	cell := lpbfCell(t, b.URL())
	cell.LPBF.PowerW = 300 // gate: lpbf.max_power_w = safety.max_laser_power_w = 400
	mach := lpbfMachine(t, cell, func(o *lpbfsim.Options) { o.MaxPowerW = 250 })
	cio, _ := lpbfIO(t, cell)
	m := NewManager(Options{Cell: cell, IO: cio, AutoStart: true, Log: lpbfQuiet()})
	defer m.Close()
	m.Submit(JobSpec{ID: "hot", Process: "lpbf", Model: lpbfModelPath(t)})
	info := waitJob(t, m, "hot")
	if info.State != Failed || !strings.Contains(info.Reason, "step 0") || !strings.Contains(info.Reason, "[power]") ||
		!strings.Contains(info.Reason, "vector 0: power 300 W outside the machine's range [0, 250] W") {
		t.Fatalf("state %s reason %q", info.State, info.Reason)
	}
	if n := len(mach.Records()); n != 0 {
		t.Fatalf("%d chunks executed", n)
	}
	rec, err := ReadJournal(filepath.Join(cell.Controller.JournalDir, "hot.jsonl"))
	if err != nil || rec.AckedSteps != 0 || rec.InFlight == nil || rec.InFlight.HW["chunk"] != 0 {
		t.Fatalf("journal %+v %v", rec, err)
	}
}

// TestLPBFBrokerRestartMidLayer: the broker restarts (losing sessions and
// retained messages) while a layer is being scanned; no chunk is lost or
// scanned twice.
func TestLPBFBrokerRestartMidLayer(t *testing.T) {
	lpbfLeakCheck(t)
	eachLPBFBroker(t, func(t *testing.T, b lpbfBroker) {
		cell := lpbfCell(t, b.URL())
		mach := lpbfMachine(t, cell, func(o *lpbfsim.Options) { o.TimeScale = 10 })
		cio, link := lpbfIO(t, cell)
		m := NewManager(Options{Cell: cell, IO: cio, AutoStart: true, Log: lpbfQuiet()})
		defer m.Close()
		m.Submit(JobSpec{ID: "outage", Process: "lpbf", Model: lpbfModelPath(t)})
		waitFor(t, func() bool { i, _ := m.Job("outage"); return i.StepsDone >= 2 })
		b.Restart(t)
		waitFor(t, func() bool { i, _ := m.Job("outage"); return i.StepsDone >= 5 })
		b.Stop() // a longer outage, with a chunk on its way
		time.Sleep(300 * time.Millisecond)
		b.Restart(t)
		info := waitJob(t, m, "outage")
		if info.State != Completed {
			t.Fatalf("state %s: %s", info.State, info.Reason)
		}
		checkScannedOnce(t, loadLayer(t, cell), mach.Records(), "outage")
		if s := link.Stats(); s.Reconnects < 2 {
			t.Fatalf("link stats %+v: the outages were not seen", s)
		}
	})
}

// TestLPBFControllerKilledMidLayer: the controller stops with a chunk in
// flight; a new controller (new Manager, new link with the same client id)
// resumes from the journal and the machine's state, and no chunk is
// scanned twice — (a) the machine scanned the chunk but its ack was lost
// with the controller, (b) the chunk waited at the broker for the offline
// machine.
func TestLPBFControllerKilledMidLayer(t *testing.T) {
	lpbfLeakCheck(t)
	for _, tc := range []string{"scanned, ack lost", "queued for offline machine"} {
		t.Run(tc, func(t *testing.T) {
			b := startLPBFMochi(t)
			cell := lpbfCell(t, b.URL())
			mach := lpbfMachine(t, cell, nil)
			const inFlight = 3
			if tc == "scanned, ack lost" {
				mach.HoldAcksFrom("crash", inFlight)
			} else {
				mach.GoOfflineAtChunk("crash", inFlight)
			}
			cio1, link1 := lpbfIO(t, cell)
			m1 := NewManager(Options{Cell: cell, IO: cio1, AutoStart: true, Log: lpbfQuiet(), StopGrace: -1}) // Close: a crash
			m1.Submit(JobSpec{ID: "crash", Process: "lpbf", Model: lpbfModelPath(t)})
			if tc == "scanned, ack lost" {
				waitFor(t, func() bool { return len(mach.Records()) == inFlight+1 })
			} else {
				waitFor(t, func() bool {
					i, _ := m1.Job("crash")
					s, ok := link1.State()
					return i.StepsDone == inFlight && ok && !s.Online
				})
			}
			time.Sleep(20 * time.Millisecond)
			m1.Close()
			cio1.Close()
			i1, _ := m1.Job("crash")
			if i1.State != Aborted || i1.StepsDone != inFlight {
				t.Fatalf("first controller: %s after %d steps (%s)", i1.State, i1.StepsDone, i1.Reason)
			}
			rec, err := ReadJournal(filepath.Join(cell.Controller.JournalDir, "crash.jsonl"))
			if err != nil || rec.InFlight == nil || rec.InFlight.Seq != inFlight {
				t.Fatalf("journal: in flight %+v, %v", rec.InFlight, err)
			}
			mach.ReleaseAcks()
			mach.GoOnline()

			cio2, _ := lpbfIO(t, cell)
			m2 := NewManager(Options{Cell: cell, IO: cio2, AutoStart: true, Log: lpbfQuiet()})
			defer m2.Close()
			m2.Submit(JobSpec{ID: "crash", Process: "lpbf", Model: lpbfModelPath(t)})
			info := waitJob(t, m2, "crash")
			if info.State != Completed || !info.Resumed {
				t.Fatalf("second controller: %s resumed=%v: %s", info.State, info.Resumed, info.Reason)
			}
			checkScannedOnce(t, loadLayer(t, cell), mach.Records(), "crash")
			// Every journaled step was acknowledged once, in order.
			f, err := os.Open(filepath.Join(cell.Controller.JournalDir, "crash.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			acks := map[int]int{}
			confirmed := false
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 1<<24)
			for sc.Scan() {
				var e JournalEntry
				if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
					t.Fatal(err)
				}
				if e.Kind == "acked" {
					acks[e.Seq]++
					confirmed = confirmed || (e.Seq == inFlight && strings.Contains(e.Note, "confirmed by hardware"))
				}
			}
			for s := 0; s < len(mach.Records()); s++ {
				if acks[s] != 1 {
					t.Fatalf("step %d acknowledged %d times", s, acks[s])
				}
			}
			if tc == "scanned, ack lost" && !confirmed {
				t.Fatalf("the scanned in-flight chunk %d was not confirmed from the machine's state", inFlight)
			}
		})
	}
}

// TestLPBFDryRunOpen: OpenLPBF in a dry run starts the simulated machine
// itself; a job completes and the machine's record lands in the journal
// directory.
func TestLPBFDryRunOpen(t *testing.T) {
	lpbfLeakCheck(t)
	b := startLPBFMochi(t)
	cell := lpbfCell(t, b.URL())
	cell.Controller.TimeScale = 1000
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	link, closer, err := OpenLPBF(ctx, cell, true, lpbfQuiet())
	if err != nil {
		t.Fatal(err)
	}
	cio := NewCellIO(true)
	cio.Set("lpbf", link, closer)
	defer cio.Close()
	m := NewManager(Options{Cell: cell, IO: cio, AutoStart: true, Log: lpbfQuiet()})
	defer m.Close()
	m.Submit(JobSpec{ID: "dry", Process: "lpbf", Model: lpbfModelPath(t)})
	info := waitJob(t, m, "dry")
	if info.State != Completed {
		t.Fatalf("%s: %s", info.State, info.Reason)
	}
	if n, ok := link.LastCompleted(ctx, "dry"); !ok || float64(n+1) != info.Metrics["lpbf_chunks"] {
		t.Fatalf("machine last chunk %d %v, chunks %v", n, ok, info.Metrics["lpbf_chunks"])
	}
	if _, err := os.Stat(filepath.Join(cell.Controller.JournalDir, "lpbfsim-lpbfcell.json")); err != nil {
		t.Fatal(err)
	}
	// Without a device the adapter names what is missing.
	m2 := NewManager(Options{Cell: cell, AutoStart: true, Log: lpbfQuiet()})
	defer m2.Close()
	m2.Submit(JobSpec{ID: "nodev", Process: "lpbf", Model: lpbfModelPath(t)})
	if info := waitJob(t, m2, "nodev"); info.State != Failed || !strings.Contains(info.Reason, "no LPBF machine connection") {
		t.Fatalf("%s: %s", info.State, info.Reason)
	}
}

// --- adapter unit tests ------------------------------------------------------

// nullLink satisfies LPBFLink for adapter unit tests (nothing is sent).
type nullLink struct{}

func (nullLink) WaitOnline(context.Context) (lpbflink.State, error) { return lpbflink.State{}, nil }
func (nullLink) BeginLayer(context.Context, lpbflink.LayerBegin) (lpbflink.Ack, error) {
	return lpbflink.Ack{}, nil
}
func (nullLink) SendChunk(context.Context, lpbflink.Chunk) (lpbflink.Ack, error) {
	return lpbflink.Ack{}, nil
}
func (nullLink) EndLayer(context.Context, lpbflink.LayerEnd) (lpbflink.Ack, error) {
	return lpbflink.Ack{}, nil
}
func (nullLink) LastCompleted(context.Context, string) (int64, bool) { return -1, true }
func (nullLink) State() (lpbflink.State, bool)                       { return lpbflink.State{}, false }

// plannedLayer plans the test layer with planner name and returns the env
// and the moves.
func plannedLayer(t testing.TB, cell config.Cell, planner string) (*Env, []planners.Move) {
	t.Helper()
	proc, err := lpbfproc.New(cell)
	if err != nil {
		t.Fatal(err)
	}
	g, err := proc.Load(lpbfModelPath(t))
	if err != nil {
		t.Fatal(err)
	}
	s, err := proc.NewSession(g)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := planners.NewPlanner(planner, planners.Options{Config: cell.Planner, Process: proc})
	if err != nil {
		t.Fatal(err)
	}
	moves, err := planners.Run(context.Background(), pl, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Job: JobSpec{ID: "u", Process: "lpbf", Model: lpbfModel}, Cell: cell, Gate: safety.New(cell), Graph: g, Process: proc}
	return env, moves
}

// sameSteps compares steps by content (moves, label, estimate, vectors).
func sameSteps(a, b []Step) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		pa, pb := a[i].Payload.(*lpbfChunk), b[i].Payload.(*lpbfChunk)
		if fmt.Sprint(a[i].Moves) != fmt.Sprint(b[i].Moves) || a[i].Label != b[i].Label || a[i].Estimate != b[i].Estimate ||
			pa.First != pb.First || fmt.Sprint(pa.Vectors) != fmt.Sprint(pb.Vectors) {
			return false
		}
	}
	return true
}

func applyAll(t *testing.T, a *lpbfAdapter, moves []planners.Move, check bool) []Step {
	t.Helper()
	var steps []Step
	for i, mv := range moves {
		if check {
			if err := a.Check(mv); err != nil {
				t.Fatalf("move %d: %v", i, err)
			}
			if err := a.Check(mv); err != nil { // twice: no side effects
				t.Fatalf("move %d again: %v", i, err)
			}
		}
		ss, err := a.Apply(mv)
		if err != nil {
			t.Fatalf("move %d: %v", i, err)
		}
		steps = append(steps, ss...)
	}
	ss, err := a.Flush()
	if err != nil {
		t.Fatal(err)
	}
	return append(steps, ss...)
}

// TestLPBFChunksReplayExactly checks the property crash recovery relies
// on: the moves of steps 0..k, applied to a fresh adapter, emit exactly
// steps 0..k, the k-th by the last move; chunks concatenate to the
// process's scan vectors; Check has no side effects.
func TestLPBFChunksReplayExactly(t *testing.T) {
	cell := lpbfCell(t, "tcp://127.0.0.1:1")
	for _, planner := range []string{"greedy", "zigzag", "chessboard"} {
		env, moves := plannedLayer(t, cell, planner)
		lat, _ := lpbfproc.NewLattice(env.Graph)
		want := lpbfproc.ScanVectors(lat, planners.PathOf(moves))
		for _, tc := range []struct {
			chunk, payload int
		}{{1, 0}, {2, 0}, {7, 0}, {100000, 0}, {100000, 2000}} {
			c := cell
			c.LPBF.ChunkVectors = tc.chunk
			if tc.payload > 0 {
				c.MQTT.MaxPayloadBytes = tc.payload
			}
			e := *env
			e.Cell = c
			a, _, err := newLPBFAdapterWith(&e, nullLink{}, LPBFLimits{})
			if err != nil {
				t.Fatal(err)
			}
			// Limits that never refuse, so Check also applies and undoes
			// every move on the shadow session.
			checked, _, _ := newLPBFAdapterWith(&e, nullLink{}, LPBFLimits{MaxPreheat: 1, MaxHotAreaMM2: 1e9})
			steps := applyAll(t, a, moves, false)
			steps2 := applyAll(t, checked, moves, true)
			if !sameSteps(steps, steps2) {
				t.Fatalf("%s chunk %d: Check changed the steps", planner, tc.chunk)
			}
			var got []lpbflink.Vector
			nm := 0
			for i, s := range steps {
				p := s.Payload.(*lpbfChunk)
				if len(p.Vectors) > tc.chunk+1 || len(p.Vectors) == 0 || len(s.Moves) == 0 || p.First != len(got) {
					t.Fatalf("%s chunk %d: step %d has %d vectors, %d moves", planner, tc.chunk, i, len(p.Vectors), len(s.Moves))
				}
				if tc.payload > 0 {
					data, _ := json.Marshal(lpbflink.Chunk{Req: strings.Repeat("r", 40), Job: strings.Repeat("j", 64), ID: 1 << 40, Vectors: p.Vectors, EstimateS: 1.0 / 3})
					if len(data) > tc.payload {
						t.Fatalf("chunk of %d bytes exceeds the %d byte payload limit", len(data), tc.payload)
					}
				}
				got = append(got, p.Vectors...)
				nm += len(s.Moves)
			}
			if nm != len(moves) || len(got) != len(want) {
				t.Fatalf("%s chunk %d: %d moves in steps (%d planned), %d vectors (%d)", planner, tc.chunk, nm, len(moves), len(got), len(want))
			}
			for i, v := range want {
				if w := a.wireVector(v.From, v.To); got[i] != w {
					t.Fatalf("%s: vector %d %+v, want %+v", planner, i, got[i], w)
				}
			}
			// Replay the moves of steps 0..k (k sampled): exactly steps 0..k.
			for _, k := range []int{0, len(steps) / 2, len(steps) - 1} {
				r, _, _ := newLPBFAdapterWith(&e, nullLink{}, LPBFLimits{})
				var prefix []planners.Move
				for _, s := range steps[:k+1] {
					prefix = append(prefix, s.Moves...)
				}
				var re []Step
				for i, mv := range prefix {
					ss, err := r.Apply(mv)
					if err != nil {
						t.Fatal(err)
					}
					if len(ss) > 0 && i != len(prefix)-1 && len(re)+len(ss) == k+1 {
						t.Fatalf("step %d emitted before its last move", k)
					}
					re = append(re, ss...)
				}
				if !sameSteps(re, steps[:k+1]) {
					t.Fatalf("%s chunk %d: replaying steps 0..%d gives %d different steps", planner, tc.chunk, k, len(re))
				}
			}
		}
	}
}

// TestLPBFThermalLimits checks the thermal refusals against an independent
// replay of the order through a fresh temperature field (preheat) and a
// brute-force count over every pixel (hot area).
func TestLPBFThermalLimits(t *testing.T) {
	cell := lpbfCell(t, "tcp://127.0.0.1:1")
	env, moves := plannedLayer(t, cell, "greedy")
	tp, err := thermal.FromConfig(cell.LPBF)
	if err != nil {
		t.Fatal(err)
	}
	f, err := thermal.New(env.Graph, tp)
	if err != nil {
		t.Fatal(err)
	}
	order := planners.PathOf(moves)
	n := env.Graph.NumNodes()
	pre := make([]float64, len(moves)) // T(v_k+1)/Hmax before the step
	hot := make([]float64, len(moves)) // hot area after the step
	visited := make([]bool, n)
	f.Step(order[0])
	visited[order[0]] = true
	s2 := env.Graph.SpacingMM * env.Graph.SpacingMM
	for k := range moves {
		v := order[k+1]
		pre[k] = f.Temp(v) / tp.HMax
		f.Step(v)
		visited[v] = true
		c := 0
		for u := 0; u < n; u++ {
			if visited[u] && f.Temp(u) > cell.LPBF.HotThreshold*tp.HMax {
				c++
			}
		}
		hot[k] = float64(c) * s2
	}
	firstAbove := func(xs []float64, lim float64) int {
		for i, x := range xs {
			if x > lim {
				return i
			}
		}
		return -1
	}
	cases := []struct {
		name   string
		limits LPBFLimits
		series []float64
		lim    float64
	}{
		{"preheat", LPBFLimits{MaxPreheat: 0.9}, pre, 0.9},
		{"hot area", LPBFLimits{MaxHotAreaMM2: 0.03}, hot, 0.03},
	}
	for _, c := range cases {
		want := firstAbove(c.series, c.lim)
		if want < 0 {
			t.Fatalf("%s: limit %v never reached in this plan; pick a lower one", c.name, c.lim)
		}
		a, _, err := newLPBFAdapterWith(env, nullLink{}, c.limits)
		if err != nil {
			t.Fatal(err)
		}
		for k, mv := range moves {
			err := a.Check(mv)
			if k < want {
				if err != nil {
					t.Fatalf("%s: move %d refused: %v", c.name, k, err)
				}
				if _, err := a.Apply(mv); err != nil {
					t.Fatal(err)
				}
				continue
			}
			var v *safety.Violation
			if !errors.As(err, &v) || v.Rule != safety.RuleThermal || math.Abs(v.Value-c.series[k]) > 1e-9 || v.Limit != c.lim {
				t.Fatalf("%s: move %d: %v (want thermal_limit %v > %v)", c.name, k, err, c.series[k], c.lim)
			}
			break
		}
		// Series of an unlimited run match the independent replay.
		a, _, _ = newLPBFAdapterWith(env, nullLink{}, LPBFLimits{})
		applyAll(t, a, moves, false)
		ser := a.Series()
		for k := range moves {
			if math.Abs(ser["preheat"][k]-pre[k]) > 1e-9 || math.Abs(ser["hot_area_mm2"][k]-hot[k]) > 1e-9 {
				t.Fatalf("series at move %d: %v %v, replay %v %v", k, ser["preheat"][k], ser["hot_area_mm2"][k], pre[k], hot[k])
			}
		}
	}
	if _, _, err := newLPBFAdapterWith(env, nullLink{}, LPBFLimits{MaxPreheat: math.NaN()}); err == nil {
		t.Fatal("NaN limit accepted")
	}
}

// TestLPBFCheckRules: moves that break the pixel rules are refused with a
// clear message and change nothing.
func TestLPBFCheckRules(t *testing.T) {
	cell := lpbfCell(t, "tcp://127.0.0.1:1")
	env, moves := plannedLayer(t, cell, "zigzag")
	a, _, _ := newLPBFAdapterWith(env, nullLink{}, LPBFLimits{})
	for _, mv := range moves[:10] {
		if _, err := a.Apply(mv); err != nil {
			t.Fatal(err)
		}
	}
	next := moves[10]
	for _, c := range []struct {
		mv   planners.Move
		text string
	}{
		{planners.Move{From: next.From, To: moves[3].To, Kind: planners.Jump, Edge: -1}, "already scanned"},
		{planners.Move{From: moves[2].To, To: next.To, Kind: planners.Print}, "does not start at the laser position"},
		{planners.Move{From: next.From, To: env.Graph.NumNodes(), Kind: planners.Jump, Edge: -1}, "does not exist"},
	} {
		if err := a.Check(c.mv); err == nil || !strings.Contains(err.Error(), c.text) {
			t.Fatalf("%+v: %v", c.mv, err)
		}
		if _, err := a.Apply(c.mv); err == nil {
			t.Fatalf("%+v applied", c.mv)
		}
	}
	if err := a.Check(next); err != nil {
		t.Fatalf("valid move after refusals: %v", err)
	}
	if got := layerOf("x/y.cli#12"); got != 12 || layerOf("a.png") != 0 || layerOf("a#b") != 0 {
		t.Fatal("layerOf")
	}
}

// BenchmarkLPBFAdapter measures Check + Apply per move (pixel rules, laser
// gate, chunking) on the 2382-pixel test layer, without and with the
// thermal limits (the hot-area check applies and undoes the move).
func BenchmarkLPBFAdapter(b *testing.B) {
	cell := lpbfCell(b, "tcp://127.0.0.1:1")
	env, moves := plannedLayer(b, cell, "greedy")
	for _, bc := range []struct {
		name   string
		limits LPBFLimits
	}{{"no-thermal-limits", LPBFLimits{}}, {"thermal-limits", LPBFLimits{MaxPreheat: 1, MaxHotAreaMM2: 1e9}}} {
		b.Run(bc.name, func(b *testing.B) {
			steps := 0
			for i := 0; i < b.N; i++ {
				a, _, err := newLPBFAdapterWith(env, nullLink{}, bc.limits)
				if err != nil {
					b.Fatal(err)
				}
				for _, mv := range moves {
					if err := a.Check(mv); err != nil {
						b.Fatal(err)
					}
					ss, err := a.Apply(mv)
					if err != nil {
						b.Fatal(err)
					}
					steps += len(ss)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(moves)), "ns/move")
			_ = steps
		})
	}
}

// BenchmarkLPBFLayerPipeline runs whole layers through Manager → adapter →
// MQTT (embedded broker) → simulated machine with the scan time scaled
// away (time scale 1e6): the controller's own cost per layer, planning
// included. Layers: the 2382-pixel cylinder and layer 99 of the frustrum
// (44644 pixels).
func BenchmarkLPBFLayerPipeline(b *testing.B) {
	for _, layer := range []struct{ name, model string }{
		{"cylinder-2382px", lpbfModel},
		{"frustrum99-44644px", "../planners/graph/commonlayer/testdata/frustrum_ASCII.cli#99"},
	} {
		b.Run(layer.name, func(b *testing.B) {
			model, _ := filepath.Abs(layer.model)
			br := startLPBFMochi(b)
			cell := lpbfCell(b, br.URL())
			cell.Planner.Name = "zigzag"
			cell.LPBF.ChunkVectors = 500
			lpbfMachine(b, cell, func(o *lpbfsim.Options) { o.TimeScale = 1e6; o.RecordVectors = false })
			cio, _ := lpbfIO(b, cell)
			var chunks, vectors, scanS float64
			for i := 0; i < b.N; i++ {
				m := NewManager(Options{Cell: cell, IO: cio, AutoStart: true, Log: lpbfQuiet()})
				id := fmt.Sprintf("bench%d", i)
				m.Submit(JobSpec{ID: id, Process: "lpbf", Model: model})
				info := waitJob(b, m, id)
				m.Close()
				if info.State != Completed {
					b.Fatalf("%s: %s", info.State, info.Reason)
				}
				chunks, vectors, scanS = info.Metrics["lpbf_chunks"], info.Metrics["lpbf_vectors"], info.Metrics["lpbf_machine_exec_s"]
			}
			b.ReportMetric(chunks, "chunks")
			b.ReportMetric(vectors, "vectors")
			b.ReportMetric(scanS, "scan_s")
		})
	}
}
