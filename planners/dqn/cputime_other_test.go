//go:build !linux

package dqn

import "testing"

func cpuLoop(b *testing.B, f func()) {
	f()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		f()
	}
}
