package lpbf_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"fabcell/robot/lpbf"
)

func TestTopics(t *testing.T) {
	tp, err := lpbf.NewTopics("plant/hall2", "cellA")
	if err != nil {
		t.Fatal(err)
	}
	got := []string{tp.LayerBegin(), tp.Vectors(), tp.LayerEnd(), tp.Ack(), tp.State(), tp.Events()}
	want := []string{"plant/hall2/cellA/lpbf/layer/begin", "plant/hall2/cellA/lpbf/vectors", "plant/hall2/cellA/lpbf/layer/end",
		"plant/hall2/cellA/lpbf/ack", "plant/hall2/cellA/lpbf/state", "plant/hall2/cellA/lpbf/events"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("topics %v", got)
	}
	for _, c := range [][2]string{{"", "c"}, {"a/+", "c"}, {"/a", "c"}, {"a/", "c"}, {"a", ""}, {"a", "c/d"}, {"a", "#"}} {
		if _, err := lpbf.NewTopics(c[0], c[1]); err == nil {
			t.Fatalf("prefix %q cell %q accepted", c[0], c[1])
		}
	}
}

func TestDecodeStrict(t *testing.T) {
	good := `{"req":"r","job":"j","layer":0,"chunk":3,"vectors":[{"x0":1,"y0":2,"x1":3,"y1":4,"power_w":100,"speed_mm_s":800}]}`
	var c lpbf.Chunk
	if err := lpbf.Decode([]byte(good), 0, &c); err != nil || c.ID != 3 || c.Vectors[0].Y1 != 4 {
		t.Fatalf("%+v %v", c, err)
	}
	for name, in := range map[string]string{
		"unknown field":        `{"job":"j","chunk":1,"vectors":[],"extra":1}`,
		"unknown vector field": `{"job":"j","chunk":1,"vectors":[{"x0":1,"z":2}]}`,
		"trailing":             good + `{}`,
		"not json":             `{"job":`,
		"wrong type":           `{"job":"j","chunk":"one"}`,
	} {
		if err := lpbf.Decode([]byte(in), 0, &lpbf.Chunk{}); !errors.Is(err, lpbf.ErrMalformed) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if err := lpbf.Decode([]byte(good), 50, &lpbf.Chunk{}); err == nil || !strings.Contains(err.Error(), "exceed the limit of 50") {
		t.Fatalf("size: %v", err)
	}
}

func TestValidate(t *testing.T) {
	v := lpbf.Vector{X0: 1, Y0: 1, X1: 2, Y1: 1, PowerW: 100, SpeedMMS: 800}
	chunks := []struct {
		name string
		c    lpbf.Chunk
		max  int
		ok   bool
	}{
		{"ok", lpbf.Chunk{Job: "a.b-c_1", ID: 0, Vectors: []lpbf.Vector{v}}, 0, true},
		{"no vectors", lpbf.Chunk{Job: "a", ID: 0}, 0, false},
		{"too many", lpbf.Chunk{Job: "a", ID: 0, Vectors: []lpbf.Vector{v, v}}, 1, false},
		{"negative id", lpbf.Chunk{Job: "a", ID: -1, Vectors: []lpbf.Vector{v}}, 0, false},
		{"negative layer", lpbf.Chunk{Job: "a", Layer: -1, Vectors: []lpbf.Vector{v}}, 0, false},
		{"bad job", lpbf.Chunk{Job: "a b", Vectors: []lpbf.Vector{v}}, 0, false},
		{"long job", lpbf.Chunk{Job: strings.Repeat("x", 65), Vectors: []lpbf.Vector{v}}, 0, false},
		{"inf", lpbf.Chunk{Job: "a", Vectors: []lpbf.Vector{v, {X0: math.Inf(1)}}}, 0, false},
		{"nan estimate", lpbf.Chunk{Job: "a", Vectors: []lpbf.Vector{v}, EstimateS: math.NaN()}, 0, false},
	}
	for _, c := range chunks {
		if err := c.c.Validate(c.max); (err == nil) != c.ok {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	var ve *lpbf.VectorError
	if err := (lpbf.Chunk{Job: "a", Vectors: []lpbf.Vector{v, {Y1: math.NaN()}}}).Validate(0); !errors.As(err, &ve) || ve.Index != 1 {
		t.Fatalf("vector error: %v", err)
	}
	b := lpbf.LayerBegin{V: lpbf.Version, Job: "j", Params: lpbf.LayerParams{ScanSpeedMMS: 1, JumpSpeedMMS: 1}}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*lpbf.LayerBegin){
		"version":    func(b *lpbf.LayerBegin) { b.V = 2 },
		"jump speed": func(b *lpbf.LayerBegin) { b.Params.JumpSpeedMMS = 0 },
		"nan z":      func(b *lpbf.LayerBegin) { b.ZMM = math.NaN() },
		"delay":      func(b *lpbf.LayerBegin) { b.Params.JumpDelayS = -1 },
		"pixels":     func(b *lpbf.LayerBegin) { b.Pixels = -1 },
		"job":        func(b *lpbf.LayerBegin) { b.Job = "" },
	} {
		bb := b
		mod(&bb)
		if err := bb.Validate(); !errors.Is(err, lpbf.ErrMalformed) {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestDigest(t *testing.T) {
	a := []lpbf.Vector{{X0: 1, Y0: 2, X1: 3, Y1: 4, PowerW: 100, SpeedMMS: 800}}
	b := []lpbf.Vector{{X0: 1, Y0: 2, X1: 3, Y1: 4, PowerW: 100, SpeedMMS: 800}}
	if lpbf.Digest(a) != lpbf.Digest(b) || len(lpbf.Digest(a)) != 32 {
		t.Fatal("equal vectors, different digests")
	}
	// A JSON round trip keeps the digest (float64 values survive exactly).
	data, _ := json.Marshal(a)
	var back []lpbf.Vector
	json.Unmarshal(data, &back)
	if lpbf.Digest(back) != lpbf.Digest(a) {
		t.Fatal("digest changed through JSON")
	}
	b[0].PowerW = 100.000001
	if lpbf.Digest(a) == lpbf.Digest(b) {
		t.Fatal("different power, same digest")
	}
	if lpbf.Digest(nil) == lpbf.Digest([]lpbf.Vector{{}}) {
		t.Fatal("empty and one zero vector share a digest")
	}
}

func TestRejectedErrorIs(t *testing.T) {
	for code, target := range map[string]error{lpbf.CodeField: lpbf.ErrFieldSize, lpbf.CodePower: lpbf.ErrPower, lpbf.CodeSpeed: lpbf.ErrSpeed,
		lpbf.CodeSequence: lpbf.ErrSequence, lpbf.CodeCount: lpbf.ErrSequence, lpbf.CodeInterrupted: lpbf.ErrInterrupted, lpbf.CodeMalformed: lpbf.ErrMalformed} {
		e := &lpbf.RejectedError{Kind: lpbf.KindChunk, Job: "j", Chunk: 4, Vector: 7, Code: code, Reason: "vector 7: why"}
		if !errors.Is(e, target) || !errors.Is(e, lpbf.ErrRejected) {
			t.Fatalf("%s does not match %v", code, target)
		}
		if code != lpbf.CodePower && errors.Is(e, lpbf.ErrPower) {
			t.Fatalf("%s matches ErrPower", code)
		}
		if !strings.Contains(e.Error(), "chunk 4 of job j") || !strings.Contains(e.Error(), "vector 7") {
			t.Fatal(e.Error())
		}
	}
}

// TestTiming checks the time model against hand-computed values: a 3-4-5
// triangle.
func TestTiming(t *testing.T) {
	tm := lpbf.Timing{JumpSpeedMMS: 1000, MarkDelayS: 0.001, JumpDelayS: 0.01}
	mark, jump := tm.Add([]lpbf.Vector{{X0: 0, Y0: 0, X1: 3, Y1: 0, SpeedMMS: 300}})
	if mark != 3.0/300+0.001 || jump != 0 {
		t.Fatalf("first vector: %v %v", mark, jump)
	}
	// from (3,0) jump to (3,4) = 4 mm, then mark 5 mm back to (0,0)
	mark, jump = tm.Add([]lpbf.Vector{{X0: 3, Y0: 4, X1: 0, Y1: 0, SpeedMMS: 500}})
	if math.Abs(mark-(5.0/500+0.001)) > 1e-15 || math.Abs(jump-(4.0/1000+0.01)) > 1e-15 {
		t.Fatalf("second vector: %v %v", mark, jump)
	}
	if !tm.HasPos || tm.X != 0 || tm.Y != 0 {
		t.Fatalf("position %+v", tm)
	}
	if lpbf.RoundMM(1.2750000000000001) != 1.275 || lpbf.RoundMM(-0.0000004) != 0 {
		t.Fatal("RoundMM")
	}
}
