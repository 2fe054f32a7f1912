package mes

import (
	"testing"
)

// BenchmarkDecodeSubmit: strict decoding of a job submission.
func BenchmarkDecodeSubmit(b *testing.B) {
	p := []byte(submitJSON("femur", femurRef, `,"planner":"greedy","params":{"robot.print_speed_mm_s":6}`))
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		var m submitMsg
		if rej := decodeStrict(p, &m); rej != nil {
			b.Fatal(rej)
		}
	}
}

// BenchmarkCheckSpec: the whole pre-queue validation of a Femur job
// (process, planner, params, model resolved and loaded).
func BenchmarkCheckSpec(b *testing.B) {
	dir := modelDirB(b)
	cell := testCell(b, "bench")
	var m submitMsg
	if rej := decodeStrict([]byte(submitJSON("femur", femurRef, "")), &m); rej != nil {
		b.Fatal(rej)
	}
	for b.Loop() {
		if _, rej := checkSpec(cell, dir, m.JobSpec); rej != nil {
			b.Fatal(rej)
		}
	}
}
