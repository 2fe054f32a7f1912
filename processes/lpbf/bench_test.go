package lpbf

import (
	"fmt"
	"testing"

	"fabcell/config"
	"fabcell/planners"
)

// benchSession returns a session on the layer with the first half of the
// zig-zag order applied (a realistic thermal state), and the rest.
func benchSession(b *testing.B, path string) (*Session, []int) {
	p := testProcess(b, nil)
	g := load(b, p, path)
	s := session(b, p, g)
	order := (&Zigzag{}).Order(s.lat)
	if err := s.Begin(order[0]); err != nil {
		b.Fatal(err)
	}
	half := len(order) / 2
	for _, v := range order[1:half] {
		s.Apply(s.MoveTo(v))
	}
	return s, order[half:]
}

// BenchmarkApplyUndo is the planners' look-ahead step on the session: Apply
// a scan move (tracker + one thermal step + unvisited list) and Undo it.
// CPU ns/op must not grow with the layer (12.8k → 68k pixels).
func BenchmarkApplyUndo(b *testing.B) {
	for _, path := range []string{hookPNG, bracket20k, miniCooperCLI + "#0"} {
		b.Run(fmt.Sprintf("pixels=%s", sizeName(path)), func(b *testing.B) {
			s, _ := benchSession(b, path)
			var c []planners.Move
			b.ResetTimer()
			c0 := processCPU()
			for b.Loop() {
				c = s.Candidates(c[:0])
				if len(c) == 0 {
					c = append(c, s.Jump()...)
				}
				s.Apply(c[0])
				s.Undo()
			}
			b.ReportMetric(float64((processCPU()-c0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

func sizeName(path string) string {
	switch path {
	case hookPNG:
		return "12825"
	case bracket20k:
		return "19906"
	}
	return "68235"
}

var sinkR float64

// BenchmarkReward is Eq. 13 on the candidates of the current node: O(1).
func BenchmarkReward(b *testing.B) {
	s, _ := benchSession(b, bracketPNG)
	c := s.Candidates(nil)
	if len(c) == 0 {
		c = s.Jump()
	}
	b.ResetTimer()
	for b.Loop() {
		for _, m := range c {
			sinkR += s.Reward(m)
		}
	}
}

// BenchmarkJump is the dead-end rule: one pass over the unvisited pixels
// (half of the 15k bracket here).
func BenchmarkJump(b *testing.B) {
	s, _ := benchSession(b, bracketPNG)
	b.ResetTimer()
	c0 := processCPU()
	for b.Loop() {
		sinkR += float64(s.Jump()[0].To)
	}
	b.ReportMetric(float64((processCPU()-c0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkEvaluate is the shared evaluator on a full 15k-pixel order.
func BenchmarkEvaluate(b *testing.B) {
	p := testProcess(b, nil)
	g := load(b, p, bracketPNG)
	lat, _ := NewLattice(g)
	order := (&Zigzag{}).Order(lat)
	c := config.Defaults().LPBF
	b.ResetTimer()
	c0 := processCPU()
	for b.Loop() {
		if _, err := Evaluate(c, g, order); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((processCPU()-c0).Seconds()/float64(b.N), "cpu-s/op")
}
