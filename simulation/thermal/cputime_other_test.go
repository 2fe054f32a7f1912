//go:build !linux

package thermal

import "testing"

type cpuTimer struct{}

func startCPU() *cpuTimer           { return &cpuTimer{} }
func (c *cpuTimer) stop(*testing.B) {}
