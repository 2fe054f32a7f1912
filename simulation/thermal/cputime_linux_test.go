package thermal

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// threadCPU returns the CPU time consumed by the calling OS thread (ns).
func threadCPU() int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// cpuTimer reports, next to the wall-clock ns/op, the CPU ns/op of the
// benchmark goroutine's thread: on this shared, oversubscribed machine
// that is the cost of the code, not of waiting for a core. Call start
// right after ResetTimer and stop at the end.
type cpuTimer struct{ t0 int64 }

func startCPU() *cpuTimer {
	runtime.LockOSThread()
	return &cpuTimer{t0: threadCPU()}
}

func (c *cpuTimer) stop(b *testing.B) {
	b.ReportMetric(float64(threadCPU()-c.t0)/float64(b.N), "cpu-ns/op")
	runtime.UnlockOSThread()
}
