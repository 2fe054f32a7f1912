//go:build !linux

package lpbf

import "time"

var start = time.Now()

func processCPU() time.Duration { return time.Since(start) }
