//go:build linux

package collision

import "syscall"

// processCPUns returns the process's user+system CPU time in ns. On a
// shared machine the benchmarks also report CPU time per op, which load
// from other processes distorts far less than wall time.
func processCPUns() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
