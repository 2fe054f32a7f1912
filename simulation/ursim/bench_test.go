package ursim

import "testing"

// BenchmarkControlCycle measures one 2 ms control cycle while a program
// streams Cartesian moves (IK every cycle): the CPU budget the simulator
// needs out of each 2 ms.
func BenchmarkControlCycle(b *testing.B) {
	s, err := Start(Options{Manual: true, Ready: true, RTDEAddr: "-", DashboardAddr: "-", ScriptAddr: "-"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	x := s.State().TCPPose
	prog := "def p():\n  a = p[" + fmtQ(x) + "]\n  b = pose_trans(a, p[0.05, 0.05, 0, 0, 0, 0])\n  while True:\n    movel(b, a=1, v=0.1, r=0.01)\n    movel(a, a=1, v=0.1, r=0.01)\n  end\nend\n"
	if err := s.RunProgram(prog); err != nil {
		b.Fatal(err)
	}
	s.Step(10)
	b.ReportAllocs()
	b.ResetTimer()
	s.Step(b.N)
	b.StopTimer()
	if st := s.State(); st.SafetyMode != 1 {
		b.Fatalf("safety %v: %s", st.SafetyMode, st.ProtectiveWhy)
	}
}
