package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"
	lpbfproc "fabcell/processes/lpbf"
	lpbflink "fabcell/robot/lpbf"
	"fabcell/safety"
	"fabcell/simulation/lpbfsim"
	"fabcell/simulation/thermal"
)

// The "lpbf" process executed on an LPBF machine (issue 11; paper §4.1.3):
// the planner's pixel order becomes scan vectors — maximal straight runs of
// consecutive pixels, exactly processes/lpbf.ScanVectors — that are checked
// move by move and sent to the machine in acknowledged chunks of
// lpbf.chunk_vectors vectors over MQTT (protocol: package robot/lpbf).
//
// Scan field frame: the square of lpbf.field_size_mm centred at (0, 0)
// that the safety gate checks (safety.Gate.CheckLaserVector). With
// lpbf.field_origin "model" (the default) vector coordinates are model
// coordinates (mm) as they are — the frame of the CLI artifacts — so the
// layers of a part stack; with "layer" they are model coordinates minus
// the centre of the layer's bounding box (the box of its pixel centres),
// which centres every layer on its own box.
//
// Checks (Check, without side effects on the shadow state): the move starts
// at the laser position and reaches a pixel not scanned yet (every pixel
// once); the thermal limits of LPBFLimits if the process session exposes
// its temperature field (planners.HeatSource for the temperature met on
// arrival, Field() for the hot area — processes/lpbf does both); and the
// gate's laser checks (power, both end points in the scan field) for the
// vector the move extends or starts.
//
// Steps. A vector is complete when a move does not continue it (a turn or a
// jump). A chunk is emitted by the move that completes its
// lpbf.chunk_vectors-th vector (or fills the MQTT payload budget) and
// contains that move; the pixel it reaches starts the next chunk's first
// vector. The move that covers the last pixel emits the rest. Chunk
// boundaries are thus a function of the moves alone, so replaying a step's
// moves from the journal rebuilds exactly the chunk that was in flight. The
// last chunk of a layer may carry one vector more than lpbf.chunk_vectors.
// The chunk id on the wire is the step's sequence number (0, 1, 2, … per
// job): the machine executes each id once, so a chunk resent after a
// broker outage or a controller crash is never scanned twice.
func init() { RegisterAdapter("lpbf", newLPBFAdapter) }

// LPBFLink is what the LPBF adapter needs from the machine link; the cell's
// device "lpbf" (*robot/lpbf.Link) implements it.
type LPBFLink interface {
	WaitOnline(ctx context.Context) (lpbflink.State, error)
	BeginLayer(ctx context.Context, b lpbflink.LayerBegin) (lpbflink.Ack, error)
	SendChunk(ctx context.Context, c lpbflink.Chunk) (lpbflink.Ack, error)
	EndLayer(ctx context.Context, e lpbflink.LayerEnd) (lpbflink.Ack, error)
	LastCompleted(ctx context.Context, job string) (chunk int64, known bool)
	State() (lpbflink.State, bool)
}

var _ LPBFLink = (*lpbflink.Link)(nil)

// LPBFLimits are the thermal limits the LPBF adapter refuses moves beyond
// (rule thermal_limit); zero disables a limit. Temperatures are those of
// the process's thermal model (package simulation/thermal), in units of
// lpbf.h_max.
type LPBFLimits struct {
	// MaxPreheat bounds T(v)/h_max of the pixel v a move reaches, before
	// the laser deposits its heat there: the temperature the laser meets
	// on arrival (the peak_preheat metric), in (0, 1].
	MaxPreheat float64
	// MaxHotAreaMM2 bounds the area of scanned pixels hotter than
	// lpbf.hot_threshold·h_max after the move (the hot_area_mm2 metric).
	MaxHotAreaMM2 float64
}

// lpbfLimits returns the thermal limits of a cell. The configuration has no
// keys for them yet (lpbf.max_preheat, lpbf.max_hot_area_mm2 are proposed
// to the config owner), so jobs built by the registry run without them;
// newLPBFAdapterWith takes them explicitly.
func lpbfLimits(config.Cell) LPBFLimits { return LPBFLimits{} }

// heatField is implemented by sessions that expose their temperature field
// and visit counts (processes/lpbf.Session).
type heatField interface {
	Field() *thermal.Field
	Visits(v int) int
}

// lpbfChunk is the payload of an LPBF step.
type lpbfChunk struct {
	// First is the layer index of the first vector.
	First   int
	Vectors []lpbflink.Vector
}

// chunkHeaderBytes bounds the JSON of a chunk without its vectors (job id ≤
// 64 characters, request id, numbers); maxVectorBytes bounds one vector's
// JSON (six float64 of at most 24 characters plus keys).
const (
	chunkHeaderBytes = 512
	maxVectorBytes   = 6*24 + 80
)

type openVector struct {
	from, to int
	pixels   int
	dc, dr   int32
}

type lpbfAdapter struct {
	env    *Env
	cfg    config.LPBFProcess
	g      *graph.Graph
	lat    *lpbfproc.Lattice
	sess   planners.Session
	heat   planners.HeatSource // nil when the session has no temperature
	field  heatField           // nil when the session has no field
	limits LPBFLimits
	layer  int
	cx, cy float64 // field origin in model coordinates (mm)
	// maxVectors and budgetBytes close a chunk (see the type comment).
	maxVectors, budgetBytes int

	begun       bool
	n           int // moves applied
	scanned     []bool
	open        openVector
	closed      []lpbflink.Vector
	closedBytes int
	moves       []planners.Move
	timing      lpbflink.Timing
	estimateS   float64
	preheat     []float64
	hotArea     []float64

	mu           sync.Mutex // guards the totals read by the executor
	vectorsTotal int
	chunksTotal  int

	ex *lpbfExecutor
}

var (
	_ Adapter  = (*lpbfAdapter)(nil)
	_ Executor = (*lpbfExecutor)(nil)
	_ Preparer = (*lpbfExecutor)(nil)
)

func newLPBFAdapter(ctx context.Context, env *Env) (Adapter, Executor, error) {
	d, err := env.IO.DeviceErr("lpbf")
	if err != nil {
		return nil, nil, fmt.Errorf("no LPBF machine connection (%v): the machine link runs over MQTT (mqtt.broker, mqtt.topic_prefix); run with --dry-run for the simulated machine", err)
	}
	link, ok := d.(LPBFLink)
	if !ok {
		return nil, nil, fmt.Errorf("cell device \"lpbf\" is a %T, not an LPBF machine link", d)
	}
	return newLPBFAdapterWith(env, link, lpbfLimits(env.Cell))
}

// newLPBFAdapterWith builds the adapter and executor of an LPBF job on link
// with thermal limits.
func newLPBFAdapterWith(env *Env, link LPBFLink, limits LPBFLimits) (*lpbfAdapter, *lpbfExecutor, error) {
	lat, err := lpbfproc.NewLattice(env.Graph)
	if err != nil {
		return nil, nil, err
	}
	sess, err := env.Process.NewSession(env.Graph)
	if err != nil {
		return nil, nil, err
	}
	if limits.MaxPreheat < 0 || limits.MaxHotAreaMM2 < 0 || math.IsNaN(limits.MaxPreheat) || math.IsNaN(limits.MaxHotAreaMM2) {
		return nil, nil, fmt.Errorf("lpbf: thermal limits %+v: want values >= 0 (0 = off)", limits)
	}
	cfg := env.Cell.LPBF
	lo, hi := env.Graph.Bounds()
	var cx, cy float64
	if cfg.FieldOrigin == "layer" {
		cx, cy = (lo.X+hi.X)/2, (lo.Y+hi.Y)/2
	}
	a := &lpbfAdapter{env: env, cfg: cfg, g: env.Graph, lat: lat, sess: sess, limits: limits,
		layer: layerOf(env.Job.Model), cx: cx, cy: cy,
		maxVectors: cfg.ChunkVectors, scanned: make([]bool, env.Graph.NumNodes()),
		timing: lpbflink.Timing{JumpSpeedMMS: cfg.JumpSpeedMMS, MarkDelayS: cfg.MarkDelayS, JumpDelayS: cfg.JumpDelayS}}
	a.heat, _ = sess.(planners.HeatSource)
	a.field, _ = sess.(heatField)
	maxPayload := env.Cell.MQTT.MaxPayloadBytes
	if maxPayload <= 0 {
		maxPayload = lpbflink.DefaultMaxPayloadBytes
	}
	// Room for the header and two more vectors (the last chunk may carry
	// one extra); below that the configured payload limit is too small.
	a.budgetBytes = maxPayload - chunkHeaderBytes - 2*maxVectorBytes
	if a.budgetBytes < maxVectorBytes {
		return nil, nil, fmt.Errorf("mqtt.max_payload_bytes %d is too small for LPBF chunks (need at least %d)", maxPayload, chunkHeaderBytes+3*maxVectorBytes)
	}
	ex := &lpbfExecutor{link: link, ad: a, job: env.Job.ID, layer: a.layer, lastChunk: -1,
		ackTimeout: time.Duration(env.Cell.Controller.AckTimeoutS * float64(time.Second))}
	if ex.ackTimeout <= 0 {
		ex.ackTimeout = time.Minute
	}
	ex.begin = lpbflink.LayerBegin{Job: env.Job.ID, Layer: a.layer, ZMM: lat.ZMM, ThicknessMM: cfg.LayerThicknessMM,
		Pixels: env.Graph.NumNodes(),
		Params: lpbflink.LayerParams{PowerW: cfg.PowerW, ScanSpeedMMS: cfg.ScanSpeedMMS, JumpSpeedMMS: cfg.JumpSpeedMMS,
			MarkDelayS: cfg.MarkDelayS, JumpDelayS: cfg.JumpDelayS, SpacingMM: lat.S, FieldSizeMM: cfg.FieldSizeMM}}
	a.ex = ex
	return a, ex, nil
}

// layerOf returns the layer index of a model reference "file.cli#N" (0 for
// single-layer models).
func layerOf(model string) int {
	if i := strings.LastIndexByte(model, '#'); i > 0 {
		if n, err := strconv.Atoi(model[i+1:]); err == nil && n >= 0 {
			return n
		}
	}
	return 0
}

// fieldPoint returns pixel v's centre in the scan field frame (mm, rounded
// to the wire resolution).
func (a *lpbfAdapter) fieldPoint(v int) (x, y float64) {
	p := a.g.Pos[v]
	return lpbflink.RoundMM(p.X - a.cx), lpbflink.RoundMM(p.Y - a.cy)
}

func (a *lpbfAdapter) wireVector(from, to int) lpbflink.Vector {
	x0, y0 := a.fieldPoint(from)
	x1, y1 := a.fieldPoint(to)
	return lpbflink.Vector{X0: x0, Y0: y0, X1: x1, Y1: y1, PowerW: a.cfg.PowerW, SpeedMMS: a.cfg.ScanSpeedMMS}
}

// ensureBegun starts the shadow session at the first move's origin. It is
// idempotent: Check may call it before Apply does.
func (a *lpbfAdapter) ensureBegun(from int) error {
	if a.begun {
		return nil
	}
	if from < 0 || from >= len(a.scanned) {
		return fmt.Errorf("lpbf: first move starts at pixel %d, the layer has %d", from, len(a.scanned))
	}
	if err := a.sess.Begin(from); err != nil {
		return err
	}
	a.begun = true
	a.scanned[from] = true
	a.open = openVector{from: from, to: from, pixels: 1}
	return nil
}

// extends reports whether a move to pixel to continues the open vector
// (same rule as processes/lpbf.ScanVectors) and the direction it takes.
func (a *lpbfAdapter) extends(to int) (dc, dr int32, ok bool) {
	dc, dr, adj := a.lat.Adjacent(a.open.to, to)
	if !adj {
		return 0, 0, false
	}
	if a.open.pixels == 1 {
		return dc, dr, true
	}
	return dc, dr, dc == a.open.dc && dr == a.open.dr
}

func (a *lpbfAdapter) where(m planners.Move) string {
	return fmt.Sprintf("move %d (pixel %d→%d %s)", a.n, m.From, m.To, m.Kind)
}

// validate checks the move against the shadow state: it starts at the
// laser position and reaches a pixel not scanned yet.
func (a *lpbfAdapter) validate(m planners.Move) error {
	if m.To < 0 || m.To >= len(a.scanned) {
		return fmt.Errorf("lpbf: %s: pixel %d does not exist (the layer has %d)", a.where(m), m.To, len(a.scanned))
	}
	if err := a.ensureBegun(m.From); err != nil {
		return err
	}
	if cur := a.sess.Current(); m.From != cur {
		return fmt.Errorf("lpbf: %s does not start at the laser position, pixel %d", a.where(m), cur)
	}
	if a.scanned[m.To] {
		return fmt.Errorf("lpbf: %s reaches pixel %d, which was already scanned (every pixel is scanned once)", a.where(m), m.To)
	}
	return nil
}

// hotAreaMM2 returns the area of scanned pixels hotter than the threshold
// (cost O(active set of the field)).
func (a *lpbfAdapter) hotAreaMM2() float64 {
	f := a.field.Field()
	thr := a.cfg.HotThreshold * f.Params().HMax
	n := 0
	for _, v := range f.Active() {
		if f.Temp(int(v)) > thr && a.field.Visits(int(v)) > 0 {
			n++
		}
	}
	return float64(n) * a.lat.S * a.lat.S
}

// Check implements Adapter: pixel rules, thermal limits, laser gate. The
// hot-area check applies the move to the shadow session and undoes it
// (Session.Undo restores the state exactly).
func (a *lpbfAdapter) Check(m planners.Move) error {
	if err := a.validate(m); err != nil {
		return err
	}
	where := a.where(m)
	if lim := a.limits.MaxPreheat; lim > 0 && a.heat != nil {
		if t := a.heat.NodeHeat(m.To); t > lim {
			return &safety.Violation{Rule: safety.RuleThermal, Where: where, Value: t, Limit: lim, Unit: "×h_max",
				Detail: "temperature the laser meets at the pixel"}
		}
	}
	if lim := a.limits.MaxHotAreaMM2; lim > 0 && a.field != nil {
		a.sess.Apply(m)
		area := a.hotAreaMM2()
		a.sess.Undo()
		if area > lim {
			return &safety.Violation{Rule: safety.RuleThermal, Where: where, Value: area, Limit: lim, Unit: "mm²",
				Detail: fmt.Sprintf("area of scanned pixels above %.3g×h_max after the move", a.cfg.HotThreshold)}
		}
	}
	from := m.To
	if _, _, ok := a.extends(m.To); ok {
		from = a.open.from
	}
	v := a.wireVector(from, m.To)
	a.mu.Lock()
	idx := a.vectorsTotal + len(a.closed)
	a.mu.Unlock()
	return a.env.Gate.CheckLaserVector(fmt.Sprintf("%s scan vector %d", where, idx), v.PowerW, v.X0, v.Y0, v.X1, v.Y1, a.cfg.FieldSizeMM)
}

// closeOpen ends the open vector and adds it to the pending chunk.
func (a *lpbfAdapter) closeOpen() {
	v := a.wireVector(a.open.from, a.open.to)
	a.closed = append(a.closed, v)
	b, _ := json.Marshal(v)
	a.closedBytes += len(b) + 1
}

// emit turns the pending vectors and moves into a step.
func (a *lpbfAdapter) emit() Step {
	a.mu.Lock()
	first := a.vectorsTotal
	a.vectorsTotal += len(a.closed)
	a.chunksTotal++
	a.mu.Unlock()
	markS, jumpS := a.timing.Add(a.closed)
	a.estimateS += markS + jumpS
	n := len(a.closed)
	s := Step{
		Moves:    a.moves,
		Label:    fmt.Sprintf("scan vectors %d–%d", first, first+n-1),
		Payload:  &lpbfChunk{First: first, Vectors: a.closed},
		Estimate: time.Duration((markS + jumpS) * float64(time.Second)),
	}
	a.moves, a.closed, a.closedBytes = nil, nil, 0
	return s
}

// Apply implements Adapter (see the type comment for chunk boundaries).
func (a *lpbfAdapter) Apply(m planners.Move) ([]Step, error) {
	if err := a.validate(m); err != nil {
		return nil, err
	}
	if a.heat != nil {
		a.preheat = append(a.preheat, a.heat.NodeHeat(m.To))
	}
	a.sess.Apply(m)
	if a.field != nil {
		a.hotArea = append(a.hotArea, a.hotAreaMM2())
	}
	a.scanned[m.To] = true
	a.n++
	a.moves = append(a.moves, m)
	if dc, dr, ok := a.extends(m.To); ok {
		a.open.to, a.open.dc, a.open.dr = m.To, dc, dr
		a.open.pixels++
	} else {
		a.closeOpen()
		a.open = openVector{from: m.To, to: m.To, pixels: 1}
	}
	if a.sess.Done() {
		a.closeOpen()
		return []Step{a.emit()}, nil
	}
	if len(a.closed) >= a.maxVectors || a.closedBytes >= a.budgetBytes {
		return []Step{a.emit()}, nil
	}
	return nil, nil
}

// Flush implements Adapter. Coverage normally ends in Apply (the move that
// covers the last pixel emits the last chunk); Flush handles a plan that
// stops early and a one-pixel layer, which has no move.
func (a *lpbfAdapter) Flush() ([]Step, error) {
	switch {
	case !a.begun && len(a.scanned) == 1:
		if err := a.ensureBegun(0); err != nil {
			return nil, err
		}
		v := a.wireVector(0, 0)
		if err := a.env.Gate.CheckLaserVector("pixel 0 scan vector 0", v.PowerW, v.X0, v.Y0, v.X1, v.Y1, a.cfg.FieldSizeMM); err != nil {
			return nil, err
		}
		a.closeOpen()
		return []Step{a.emit()}, nil
	case !a.begun || a.sess.Done():
		return nil, nil
	}
	a.closeOpen()
	a.open = openVector{from: a.open.to, to: a.open.to} // nothing open any more
	if len(a.closed) == 0 {
		return nil, nil
	}
	return []Step{a.emit()}, nil
}

// Metrics implements Adapter: the process metrics of the scanned order
// (the shared evaluator of processes/lpbf) plus the chunk totals and the
// machine's reported execution time.
func (a *lpbfAdapter) Metrics() map[string]float64 {
	m := map[string]float64{}
	if a.begun {
		m = a.sess.Metrics()
	}
	a.mu.Lock()
	m["lpbf_chunks"] = float64(a.chunksTotal)
	m["lpbf_vectors"] = float64(a.vectorsTotal)
	a.mu.Unlock()
	m["lpbf_estimate_s"] = a.estimateS
	if a.ex != nil {
		a.ex.mu.Lock()
		m["lpbf_chunks_acked"] = float64(a.ex.acked)
		m["lpbf_duplicate_acks"] = float64(a.ex.duplicates)
		m["lpbf_machine_exec_s"] = a.ex.execS
		a.ex.mu.Unlock()
	}
	return m
}

// Series implements Adapter: per applied move, the temperature the laser
// met at the pixel (units of h_max) and the hot area after the move.
func (a *lpbfAdapter) Series() map[string][]float64 {
	out := map[string][]float64{}
	if len(a.preheat) > 0 {
		out["preheat"] = a.preheat
	}
	if len(a.hotArea) > 0 {
		out["hot_area_mm2"] = a.hotArea
	}
	return out
}

func (a *lpbfAdapter) totals() (chunks, vectors int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.chunksTotal, a.vectorsTotal
}

// lpbfExecutor sends chunks to the machine through the link.
type lpbfExecutor struct {
	link       LPBFLink
	ad         *lpbfAdapter
	job        string
	layer      int
	begin      lpbflink.LayerBegin
	ackTimeout time.Duration

	mu         sync.Mutex
	acked      int
	duplicates int
	execS      float64
	lastChunk  int64
}

// Begin implements Executor: waits (up to controller.ack_timeout_s) for
// the machine to be online and opens the layer (a resumed job re-opens
// it; the machine keeps what it executed).
func (e *lpbfExecutor) Begin(ctx context.Context) error {
	octx, cancel := context.WithTimeout(ctx, e.ackTimeout)
	defer cancel()
	if _, err := e.link.WaitOnline(octx); err != nil {
		return fmt.Errorf("LPBF machine: %w", err)
	}
	if _, err := e.link.BeginLayer(ctx, e.begin); err != nil {
		return fmt.Errorf("LPBF layer/begin: %w", err)
	}
	return nil
}

// Prepare implements Preparer: the chunk id (= step sequence number) and
// the layer go into the journal with the dispatched step.
func (e *lpbfExecutor) Prepare(_ context.Context, s *Step) error {
	if s.HW == nil {
		s.HW = map[string]int64{}
	}
	s.HW["chunk"] = int64(s.Seq)
	s.HW["layer"] = int64(e.layer)
	return nil
}

// Do implements Executor: sends the chunk and returns after the machine
// acknowledged it (a rejection fails the step with the machine's reason).
func (e *lpbfExecutor) Do(ctx context.Context, s Step) error {
	p, ok := s.Payload.(*lpbfChunk)
	if !ok || len(p.Vectors) == 0 {
		return fmt.Errorf("lpbf: step %d carries no scan vectors", s.Seq)
	}
	a, err := e.link.SendChunk(ctx, lpbflink.Chunk{Job: e.job, Layer: e.layer, ID: int64(s.Seq), Vectors: p.Vectors, EstimateS: s.Estimate.Seconds()})
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.acked++
	if a.Duplicate {
		e.duplicates++
	}
	e.execS += a.ExecS
	e.lastChunk = int64(s.Seq)
	return nil
}

// SafePoint implements Executor: Do returns only after the machine
// acknowledged the chunk, which it does after the scan with the laser off,
// so between steps nothing is in flight and the laser is off.
func (e *lpbfExecutor) SafePoint(context.Context) error { return nil }

// Completed implements Executor: the in-flight chunk completed if the
// machine's last completed chunk of the job (retained state) is at least
// its id; unknown while the machine stays offline (then the runner sends
// it again and the machine deduplicates).
func (e *lpbfExecutor) Completed(ctx context.Context, je JournalEntry) (done, known bool, err error) {
	id, ok := je.HW["chunk"]
	if !ok {
		id = int64(je.Seq)
	}
	cctx, cancel := context.WithTimeout(ctx, e.ackTimeout)
	defer cancel()
	last, known := e.link.LastCompleted(cctx, e.job)
	if !known {
		return false, false, nil
	}
	return last >= id, true, nil
}

// End implements Executor: closes the layer with its totals, which the
// machine checks against what it executed.
func (e *lpbfExecutor) End(ctx context.Context) error {
	chunks, vectors := e.ad.totals()
	if _, err := e.link.EndLayer(ctx, lpbflink.LayerEnd{Job: e.job, Layer: e.layer, Chunks: chunks, Vectors: vectors}); err != nil {
		return fmt.Errorf("LPBF layer/end: %w", err)
	}
	return nil
}

// Status implements Executor: the LPBF machine has no robot to monitor.
func (e *lpbfExecutor) Status() (safety.RobotStatus, bool) { return safety.RobotStatus{}, false }

// Telemetry implements Executor.
func (e *lpbfExecutor) Telemetry() map[string]float64 {
	e.mu.Lock()
	t := map[string]float64{"lpbf_chunks_acked": float64(e.acked), "lpbf_machine_exec_s": e.execS, "lpbf_last_chunk": float64(e.lastChunk)}
	e.mu.Unlock()
	if st, ok := e.link.State(); ok {
		t["lpbf_machine_online"] = b2f(st.Online)
		t["lpbf_laser_on"] = b2f(st.LaserOn)
	}
	return t
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Close implements Executor; the link belongs to the cell's CellIO.
func (e *lpbfExecutor) Close() error { return nil }

// OpenLPBF connects the cell's LPBF machine link over MQTT (mqtt.broker, or
// the embedded broker at mqtt.embedded_addr; topics under
// <mqtt.topic_prefix>/<cell>/lpbf/). In a dry run it first starts the
// simulated machine (package simulation/lpbfsim) on the same broker, with
// the cell's field size, power limit and controller.time_scale, keeping its
// record of executed chunks in <controller.journal_dir>/lpbfsim-<cell>.json
// so a restarted dry run resumes consistently. The caller registers the
// link as device "lpbf" and calls closer on shutdown.
func OpenLPBF(ctx context.Context, cell config.Cell, dryRun bool, log *slog.Logger) (*lpbflink.Link, func() error, error) {
	if log == nil {
		log = slog.Default()
	}
	opts, err := lpbflink.OptionsFromConfig(cell)
	if err != nil {
		return nil, nil, err
	}
	opts.Log = log
	var sim *lpbfsim.Machine
	if dryRun {
		sim, err = lpbfsim.Start(ctx, lpbfsim.Options{
			BrokerURL: opts.BrokerURL, Prefix: opts.Prefix, Cell: opts.Cell,
			Username: opts.Username, Password: opts.Password, TLS: opts.TLS,
			FieldSizeMM: cell.LPBF.FieldSizeMM, MaxPowerW: cell.LPBF.MaxPowerW,
			MaxPayloadBytes: opts.MaxPayloadBytes, TimeScale: cell.Controller.TimeScale,
			StateFile: filepath.Join(cell.Controller.JournalDir, "lpbfsim-"+cell.Name+".json"),
			// A simulated scan cut short by killing the dry run left no
			// molten powder: it may run again.
			RescanInterrupted: true,
			Log:               log,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("start the simulated LPBF machine: %w", err)
		}
	}
	link, err := lpbflink.Dial(ctx, opts)
	if err != nil {
		if sim != nil {
			sim.Close()
		}
		return nil, nil, err
	}
	closer := func() error {
		err := link.Close()
		if sim != nil {
			err = errors.Join(err, sim.Close())
		}
		return err
	}
	return link, closer, nil
}
