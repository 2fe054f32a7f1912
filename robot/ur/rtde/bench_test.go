package rtde_test

import (
	"context"
	"testing"
	"time"

	"fabcell/robot/ur/rtde"
	"fabcell/simulation/ursim"
)

// BenchmarkRTDEReceive500Hz streams from the simulator (real-time pacing,
// real TCP) at 500 Hz; one op is one 2 ms package. The 60 s measurement of
// the README is
//
//	go test -run '^$' -bench RTDEReceive500Hz -benchtime 30000x ./robot/ur/rtde/
//
// Metrics: arrival-period jitter |Δt − 2 ms| p50/p99/max in µs and the
// packages missing from the controller timestamps.
func BenchmarkRTDEReceive500Hz(b *testing.B) {
	sim := startSim(b, ursim.Options{Ready: true})
	d := time.Duration(b.N) * 2 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	b.ResetTimer()
	rep, err := rtde.MeasureJitter(ctx, sim.RTDEAddr(), 500, d)
	b.StopTimer()
	if err != nil {
		if b.N < 10 {
			return // too short to measure
		}
		b.Fatal(err)
	}
	b.ReportMetric(float64(rep.JitterP50.Microseconds()), "p50-jitter-µs")
	b.ReportMetric(float64(rep.JitterP99.Microseconds()), "p99-jitter-µs")
	b.ReportMetric(float64(rep.JitterMax.Microseconds()), "max-jitter-µs")
	b.ReportMetric(float64(rep.Dropped), "dropped")
	b.ReportMetric(float64(rep.Packages), "packages")
	if b.N >= 10000 {
		b.Log(rep)
	}
}
