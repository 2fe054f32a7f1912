package controller

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"math"

	"fabcell/planners"
	"fabcell/planners/graph"
	"fabcell/simulation/ursim"

	"github.com/golang/geo/r3"
)

// TestDryRunTravelOnSimulator runs a real job through the whole pipeline
// against the UR5e simulator over TCP (RTDE + dashboard + secondary):
// every planned step is dispatched through the register channel and
// acknowledged exactly once, and the arm ends where the last move put it.
func TestDryRunTravelOnSimulator(t *testing.T) {
	cell := testCell(t)
	cell.Controller.TimeScale = 50
	cell.Robot.PrintSpeedMMS = 20
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	io, err := OpenCell(ctx, cell, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer io.Close()
	link, err := io.Robot()
	if err != nil {
		t.Fatal(err)
	}
	// Record every TCP position the robot reports during the job.
	sub := link.RTDE.Subscribe(4096)
	var tcps []r3.Vector
	collected, stopCollect := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(collected)
		for {
			select {
			case f, ok := <-sub.C():
				if !ok {
					return // the cell closed the RTDE client
				}
				if p, err := f.Vector6D("actual_TCP_pose"); err == nil {
					tcps = append(tcps, r3.Vector{X: p[0], Y: p[1], Z: p[2]}.Mul(1000))
				}
			case <-stopCollect:
				return
			}
		}
	}()
	m := NewManager(Options{Cell: cell, IO: io, AutoStart: true})
	defer m.Close()
	model, _ := filepath.Abs("../planners/graph/testdata/assembly_instances/four-frame.json")
	if _, _, err := m.Submit(JobSpec{ID: "smoke", Process: "travel", Model: model}); err != nil {
		t.Fatal(err)
	}
	info := waitEnded(t, ctx, m, "smoke")
	if info.State != Completed {
		t.Fatalf("state %s: %s", info.State, info.Reason)
	}
	close(stopCollect)
	<-collected
	sub.Close()
	g, err := graph.Load(model, graph.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	place := PlaceOnBed(BedFrame(cell.Robot), g)
	for v, p := range g.Pos {
		want := place.Apply(p)
		best := math.Inf(1)
		for _, q := range tcps {
			best = math.Min(best, q.Sub(want).Norm())
		}
		if best > 1.0 {
			t.Fatalf("TCP never came within 1 mm of node %d at %v (closest %.2f mm, %d samples)", v, want, best, len(tcps))
		}
	}
	rec, err := ReadJournal(filepath.Join(cell.Controller.JournalDir, "smoke.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	printed := map[int]int{}
	for _, mv := range rec.Acked {
		if mv.Kind == planners.Print {
			printed[mv.Edge]++
		}
	}
	if len(printed) != 4 || rec.InFlight != nil {
		t.Fatalf("printed %v in flight %v", printed, rec.InFlight)
	}
	for e, n := range printed {
		if n != 1 {
			t.Fatalf("edge %d acknowledged %d times", e, n)
		}
	}
	d, _ := io.Device("ursim")
	st := d.(*ursim.Sim).State()
	home := cell.Robot.HomeJointsRad
	for i := range home {
		if d := st.QRad[i] - home[i]; d > 1e-3 || d < -1e-3 {
			t.Fatalf("arm not home at the end: q=%v", st.QRad)
		}
	}
}
