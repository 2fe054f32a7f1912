package lpbf

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Version is the protocol version carried by LayerBegin and State.
const Version = 1

// DefaultMaxPayloadBytes is the payload limit when none is configured (the
// default of mqtt.max_payload_bytes).
const DefaultMaxPayloadBytes = 4 << 20

// Message kinds, as carried in Ack.Kind.
const (
	KindLayerBegin = "layer/begin"
	KindChunk      = "vectors"
	KindLayerEnd   = "layer/end"
)

// Ack statuses.
const (
	StatusOK       = "ok"
	StatusRejected = "rejected"
)

// Rejection codes (Ack.Code, Event.Code).
const (
	// CodeField: a vector end point is outside the scan field.
	CodeField = "field"
	// CodePower: a vector's power is negative or above the machine's limit.
	CodePower = "power"
	// CodeSpeed: a vector's speed is not positive or above the machine's
	// limit.
	CodeSpeed = "speed"
	// CodeMalformed: not a valid message (JSON, unknown fields, non-finite
	// numbers, size, protocol version).
	CodeMalformed = "malformed"
	// CodeSequence: the chunk does not fit the job's chunk/layer sequence
	// (no open layer, a gap, a reused id with different vectors).
	CodeSequence = "sequence"
	// CodeCount: layer/end counts differ from what the machine executed.
	CodeCount = "count"
	// CodeInterrupted: the chunk was cut short by a machine restart mid-scan.
	CodeInterrupted = "interrupted"
	// CodeFault: a machine fault (e.g. injected by a test).
	CodeFault = "fault"
)

// Topics are the MQTT topics of one cell's LPBF machine.
type Topics struct {
	// Base is <prefix>/<cell>/lpbf.
	Base string
}

// NewTopics returns the topics under <prefix>/<cell>/lpbf. prefix may have
// several levels; neither may be empty or contain wildcards.
func NewTopics(prefix, cell string) (Topics, error) {
	if prefix == "" || strings.ContainsAny(prefix, "+#") || strings.HasPrefix(prefix, "/") || strings.HasSuffix(prefix, "/") {
		return Topics{}, fmt.Errorf("lpbf: topic prefix %q: must be non-empty, without + or #, not starting or ending with /", prefix)
	}
	if cell == "" || strings.ContainsAny(cell, "+#/") {
		return Topics{}, fmt.Errorf("lpbf: cell name %q: must be non-empty, without + # /", cell)
	}
	return Topics{Base: prefix + "/" + cell + "/lpbf"}, nil
}

// LayerBegin returns the layer/begin topic.
func (t Topics) LayerBegin() string { return t.Base + "/layer/begin" }

// Vectors returns the topic of vector chunks.
func (t Topics) Vectors() string { return t.Base + "/vectors" }

// LayerEnd returns the layer/end topic.
func (t Topics) LayerEnd() string { return t.Base + "/layer/end" }

// Ack returns the topic of the machine's acknowledgements.
func (t Topics) Ack() string { return t.Base + "/ack" }

// State returns the machine's retained state topic.
func (t Topics) State() string { return t.Base + "/state" }

// Events returns the machine's event topic.
func (t Topics) Events() string { return t.Base + "/events" }

// Vector is one scan vector in the scan field frame (package comment): the
// laser marks from (X0, Y0) to (X1, Y1) mm at PowerW and SpeedMMS. A
// zero-length vector marks one spot.
type Vector struct {
	X0       float64 `json:"x0"`
	Y0       float64 `json:"y0"`
	X1       float64 `json:"x1"`
	Y1       float64 `json:"y1"`
	PowerW   float64 `json:"power_w"`
	SpeedMMS float64 `json:"speed_mm_s"`
}

// LengthMM returns the vector's length.
func (v Vector) LengthMM() float64 { return math.Hypot(v.X1-v.X0, v.Y1-v.Y0) }

// LayerParams are the laser parameters of a layer. Per-vector power and
// speed travel with each vector; JumpSpeedMMS and the delays are what the
// machine's timing uses between and around vectors.
type LayerParams struct {
	PowerW       float64 `json:"power_w"`
	ScanSpeedMMS float64 `json:"scan_speed_mm_s"`
	JumpSpeedMMS float64 `json:"jump_speed_mm_s"`
	MarkDelayS   float64 `json:"mark_delay_s"`
	JumpDelayS   float64 `json:"jump_delay_s"`
	SpacingMM    float64 `json:"spacing_mm"`
	// FieldSizeMM is the scan field the controller planned for (the
	// machine enforces its own).
	FieldSizeMM float64 `json:"field_size_mm"`
}

// LayerBegin opens a layer of a job (topic layer/begin).
type LayerBegin struct {
	V           int     `json:"v"`
	Req         string  `json:"req"`
	Job         string  `json:"job"`
	Layer       int     `json:"layer"`
	ZMM         float64 `json:"z_mm"`
	ThicknessMM float64 `json:"thickness_mm"`
	// Pixels is the number of pixels (laser spots) of the layer.
	Pixels int `json:"pixels"`
	// VectorCount is the number of vectors if known in advance; 0 when the
	// vectors are streamed while the planner runs (fabcell's case) — the
	// count then arrives with layer/end.
	VectorCount int         `json:"vector_count"`
	Params      LayerParams `json:"params"`
}

// Chunk is one acknowledged unit of scan vectors (topic vectors).
type Chunk struct {
	Req   string `json:"req"`
	Job   string `json:"job"`
	Layer int    `json:"layer"`
	// ID is the chunk id: 0, 1, 2, … per job (package comment).
	ID      int64    `json:"chunk"`
	Vectors []Vector `json:"vectors"`
	// EstimateS is the controller's estimate of the execution time
	// (informational; it also extends the controller's ack timeout).
	EstimateS float64 `json:"estimate_s,omitempty"`
}

// LayerEnd closes a layer (topic layer/end).
type LayerEnd struct {
	Req   string `json:"req"`
	Job   string `json:"job"`
	Layer int    `json:"layer"`
	// Chunks and Vectors are the totals of the layer.
	Chunks  int `json:"chunks"`
	Vectors int `json:"vectors"`
}

// Ack is the machine's answer to a LayerBegin, Chunk or LayerEnd.
type Ack struct {
	Kind  string `json:"kind"`
	Req   string `json:"req"`
	Job   string `json:"job"`
	Layer int    `json:"layer"`
	// Chunk is the chunk id for Kind "vectors", −1 otherwise.
	Chunk  int64  `json:"chunk"`
	Status string `json:"status"`
	// Code, Reason and Vector explain a rejection; Vector is the index of
	// the offending vector in the chunk (−1 when no vector is at fault).
	Code   string `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
	Vector int    `json:"vector"`
	// Duplicate is true when the message repeated one already executed.
	Duplicate bool `json:"duplicate,omitempty"`
	// ExecS is the machine's execution time of the chunk (mark + jump
	// time, the machine's time base); WallS the wall time it took. Both 0
	// for duplicates and non-chunk messages.
	ExecS float64 `json:"exec_s"`
	WallS float64 `json:"wall_s"`
	// LastChunk is the job's last completed chunk after this message (−1:
	// none).
	LastChunk int64     `json:"last_chunk"`
	At        time.Time `json:"at"`
}

// JobState is the machine's record of one job.
type JobState struct {
	// LastChunk is the last completed chunk id (−1: none).
	LastChunk int64 `json:"last_chunk"`
	// Layer is the job's latest layer; LayerOpen tells whether it is open.
	Layer     int  `json:"layer"`
	LayerOpen bool `json:"layer_open"`
	// Interrupted is a chunk id cut short by a machine restart (−1: none).
	Interrupted int64 `json:"interrupted"`
}

// State is the machine's retained status (topic state).
type State struct {
	V      int    `json:"v"`
	Online bool   `json:"online"`
	Will   bool   `json:"will,omitempty"` // published by the broker as the Last Will
	Boot   string `json:"boot"`           // random id of the machine process
	// Conn counts the machine's connections since Boot; Boot+Conn is the
	// connection epoch the controller resends on.
	Conn    int64  `json:"conn"`
	LaserOn bool   `json:"laser_on"`
	Job     string `json:"job,omitempty"` // job of the open layer
	// Layer is the open layer (−1: none).
	Layer       int                 `json:"layer"`
	Jobs        map[string]JobState `json:"jobs,omitempty"`
	FieldSizeMM float64             `json:"field_size_mm,omitempty"`
	MaxPowerW   float64             `json:"max_power_w,omitempty"`
	At          time.Time           `json:"at"`
}

// Epoch identifies one machine connection (Boot and Conn).
func (s State) Epoch() string { return fmt.Sprintf("%s/%d", s.Boot, s.Conn) }

// Event is a machine event (topic events).
type Event struct {
	Kind    string    `json:"kind"` // "rejected", "fault", "layer_abandoned", "interrupted", "overflow"
	Job     string    `json:"job,omitempty"`
	Layer   int       `json:"layer"`
	Chunk   int64     `json:"chunk"`
	Code    string    `json:"code,omitempty"`
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("lpbf: malformed message")

// Decode parses a controller → machine message strictly: one JSON object
// of at most maxBytes bytes, no unknown fields, nothing after it.
func Decode(data []byte, maxBytes int, v any) error {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxPayloadBytes
	}
	if len(data) > maxBytes {
		return fmt.Errorf("%w: %d bytes exceed the limit of %d", ErrMalformed, len(data), maxBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: data after the JSON object", ErrMalformed)
	}
	return nil
}

func finite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// ValidJob reports whether id is a usable job id (1–64 letters, digits,
// '-', '_', '.'), the rule of fabcell's job ids.
func ValidJob(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// Validate checks a LayerBegin's own fields (not the machine's limits).
func (b LayerBegin) Validate() error {
	p := b.Params
	switch {
	case b.V != Version:
		return fmt.Errorf("%w: protocol version %d, want %d", ErrMalformed, b.V, Version)
	case !ValidJob(b.Job):
		return fmt.Errorf("%w: job id %q", ErrMalformed, b.Job)
	case b.Layer < 0:
		return fmt.Errorf("%w: layer %d < 0", ErrMalformed, b.Layer)
	case !finite(b.ZMM, b.ThicknessMM, p.PowerW, p.ScanSpeedMMS, p.JumpSpeedMMS, p.MarkDelayS, p.JumpDelayS, p.SpacingMM, p.FieldSizeMM):
		return fmt.Errorf("%w: layer/begin has a non-finite number", ErrMalformed)
	case b.ThicknessMM < 0 || b.Pixels < 0 || b.VectorCount < 0:
		return fmt.Errorf("%w: negative thickness, pixel or vector count", ErrMalformed)
	case !(p.JumpSpeedMMS > 0) || !(p.ScanSpeedMMS > 0):
		return fmt.Errorf("%w: jump speed %v and scan speed %v mm/s must be > 0", ErrMalformed, p.JumpSpeedMMS, p.ScanSpeedMMS)
	case p.MarkDelayS < 0 || p.JumpDelayS < 0 || p.PowerW < 0:
		return fmt.Errorf("%w: negative delay or power", ErrMalformed)
	}
	return nil
}

// Validate checks a LayerEnd's own fields.
func (e LayerEnd) Validate() error {
	switch {
	case !ValidJob(e.Job):
		return fmt.Errorf("%w: job id %q", ErrMalformed, e.Job)
	case e.Layer < 0 || e.Chunks < 0 || e.Vectors < 0:
		return fmt.Errorf("%w: negative layer, chunk or vector count", ErrMalformed)
	}
	return nil
}

// Validate checks a chunk's own fields: a valid job, a chunk id ≥ 0, 1 to
// maxVectors vectors (0 = no bound), every number finite. Field and power
// limits are the machine's business (package simulation/lpbfsim).
func (c Chunk) Validate(maxVectors int) error {
	switch {
	case !ValidJob(c.Job):
		return fmt.Errorf("%w: job id %q", ErrMalformed, c.Job)
	case c.Layer < 0:
		return fmt.Errorf("%w: layer %d < 0", ErrMalformed, c.Layer)
	case c.ID < 0:
		return fmt.Errorf("%w: chunk id %d < 0", ErrMalformed, c.ID)
	case len(c.Vectors) == 0:
		return fmt.Errorf("%w: chunk %d has no vectors", ErrMalformed, c.ID)
	case maxVectors > 0 && len(c.Vectors) > maxVectors:
		return fmt.Errorf("%w: chunk %d has %d vectors, limit %d", ErrMalformed, c.ID, len(c.Vectors), maxVectors)
	case !finite(c.EstimateS) || c.EstimateS < 0:
		return fmt.Errorf("%w: estimate %v s", ErrMalformed, c.EstimateS)
	}
	for i, v := range c.Vectors {
		if !finite(v.X0, v.Y0, v.X1, v.Y1, v.PowerW, v.SpeedMMS) {
			return &VectorError{Index: i, Code: CodeMalformed, Msg: "non-finite number"}
		}
	}
	return nil
}

// VectorError names the vector a check failed on.
type VectorError struct {
	Index int
	Code  string
	Msg   string
}

func (e *VectorError) Error() string { return fmt.Sprintf("vector %d: %s", e.Index, e.Msg) }

// Digest returns a digest of a chunk's vectors (SHA-256 of their float64
// bits, first 16 bytes in hex): equal for equal vectors, so a redelivered
// chunk can be told from a different chunk under the same id.
func Digest(vs []Vector) string {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(len(vs)))
	h.Write(b[:])
	for _, v := range vs {
		for _, x := range [...]float64{v.X0, v.Y0, v.X1, v.Y1, v.PowerW, v.SpeedMMS} {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
			h.Write(b[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// RoundMM rounds a coordinate to 1 nm (1e-6 mm), the wire resolution: it
// keeps JSON short and makes the value sent exactly the value checked.
func RoundMM(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// Timing is the machine's time model of a vector sequence (the same
// formula as fabcell's estimate, processes/lpbf EstimateTime):
//
//	t = Σ (length/speed + mark delay) + Σ_between (jump distance/jump speed + jump delay)
//
// A Timing carries the laser position between calls so that the jump into
// the first vector of the next chunk is counted.
type Timing struct {
	JumpSpeedMMS, MarkDelayS, JumpDelayS float64
	// HasPos tells whether X, Y hold the laser position (end of the last
	// vector); the first vector of a layer starts without a jump.
	HasPos bool
	X, Y   float64
}

// Add returns the time of vs (s), starting from the current position, and
// moves the position to the end of the last vector.
func (t *Timing) Add(vs []Vector) (markS, jumpS float64) {
	for _, v := range vs {
		if t.HasPos {
			d := math.Hypot(v.X0-t.X, v.Y0-t.Y)
			jumpS += d/t.JumpSpeedMMS + t.JumpDelayS
		}
		markS += v.LengthMM()/v.SpeedMMS + t.MarkDelayS
		t.HasPos, t.X, t.Y = true, v.X1, v.Y1
	}
	return markS, jumpS
}
