package lpbf

import (
	"time"

	"golang.org/x/sys/unix"
)

// processCPU returns the CPU time (user + system) of the whole process:
// the machine is shared and oversubscribed, so wall time is not a fair
// measure of the code.
func processCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
