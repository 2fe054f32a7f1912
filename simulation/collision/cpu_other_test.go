//go:build !linux

package collision

func processCPUns() int64 { return 0 }
