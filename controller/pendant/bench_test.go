package pendant

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// BenchmarkDecodeCall: one start_job request as the pendant sends it.
func BenchmarkDecodeCall(b *testing.B) {
	req := methodCall("start_job", "femur")
	b.SetBytes(int64(len(req)))
	for b.Loop() {
		if _, err := DecodeCall(strings.NewReader(req)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeResponse: a status string answer.
func BenchmarkEncodeResponse(b *testing.B) {
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := EncodeResponse(&buf, "femur running 42% step 120, lead 8, nozzle 210.0°C, safety NORMAL"); err != nil {
			b.Fatal(err)
		}
	}
	io.Discard.Write(buf.Bytes())
}
