package wireframe

import (
	"testing"

	"github.com/golang/geo/r3"

	"fabcell/planners"
	"fabcell/planners/graph"
	"fabcell/robot/ur/script"
	"fabcell/simulation/geom"
)

// followLine replays a straight TCP motion the way the UR controller (and
// fabcell's simulator) executes movel/movep: position linear, rotation
// about the fixed axis of R1·R0ᵀ, IK nearest the previous cycle's joints,
// here every 1 mm / 0.5°. It reports the first pose without a solution.
func followLine(t *testing.T, mo *Motions, q0 [6]float64, from, to geom.Pose) (int, error) {
	t.Helper()
	m := mo.arm.m
	dp := to.P.Sub(from.P)
	drot := to.R.Mul(from.R.T()).RotVec()
	n := max(1, int(dp.Norm()*1e3), int(drot.Norm()/(0.5*3.141592653589793/180)))
	q := q0
	for i := 1; i <= n; i++ {
		u := float64(i) / float64(n)
		x := geom.Pose{R: geom.FromRotVec(drot.Mul(u)).Mul(from.R), P: from.P.Add(dp.Mul(u))}
		var err error
		if q, err = m.IKNear(x, q); err != nil {
			return i, err
		}
	}
	return n, nil
}

// TestTransitionAvoidsUnreachableLine prints two struts on either side of
// the robot base (bed frame 400 mm in front of the base): the straight
// line between them passes the cylinder about the base axis that no UR5e
// wrist can enter, so a movel there would stop the robot (protective stop
// "tool path not reachable"). The transition must instead use motions the
// arm can follow; every straight motion produced is verified by an
// independent replay of the controller's interpolation.
func TestTransitionAvoidsUnreachableLine(t *testing.T) {
	cfg := defaults()
	p := newProc(t, cfg)
	pos := []r3.Vector{{X: -100, Y: 100}, {X: -90, Y: 100}, {X: -700, Y: 100}, {X: -690, Y: 100}}
	g := mustGraph(t, pos, []graph.Edge{{A: 0, B: 1}, {A: 2, B: 3}}, []bool{true, true, true, true})
	mo, err := p.NewMotions(g)
	if err != nil {
		t.Fatal(err)
	}
	steps := mo.Start()
	first, err := mo.Next(planners.Move{From: 0, To: 1, Kind: planners.Print, Edge: 0})
	if err != nil {
		t.Fatal(err)
	}
	steps = append(steps, first...)
	// the straight line from here to above the second strut is infeasible
	ret := steps[len(steps)-1]
	target := mo.arm.pose(pos[2].Add(r3.Vector{Z: cfg.Robot.ApproachMM}), mo.axis, mo.yaw)
	if _, err := followLine(t, mo, ret.Joints, ret.TCP, target); err == nil {
		t.Fatal("test geometry: the straight transition is feasible; the test would prove nothing")
	}
	if _, f, _ := mo.linearPath(target); f == armOK {
		t.Fatal("linearPath accepts a line through the base-axis cylinder")
	}
	s := mo.Session()
	jumps := s.Jump()
	if len(jumps) == 0 {
		t.Fatal("no jump to the second strut")
	}
	var rest []Step
	for _, m := range jumps {
		st, err := mo.Next(m)
		if err != nil {
			t.Fatal(err)
		}
		rest = append(rest, st...)
	}
	jump := jumps[len(jumps)-1]
	if jump.To != 2 && jump.To != 3 {
		t.Fatalf("jumps %+v", jumps)
	}
	other := planners.Move{From: jump.To, To: 5 - jump.To, Kind: planners.Print, Edge: 1}
	more, err := mo.Next(other)
	if err != nil {
		t.Fatal(err)
	}
	rest = append(rest, more...)
	fin, err := mo.Finish()
	if err != nil {
		t.Fatal(err)
	}
	steps = append(append(steps, rest...), fin...)
	var prev *Step
	joint := 0
	for i := range steps {
		st := &steps[i]
		if st.Kind > StepMoveP {
			continue
		}
		if st.Collides {
			t.Fatalf("step %d (%s %s) collides", i, st.Kind, st.Note)
		}
		if st.Kind == StepMoveJ {
			joint++
		} else if prev != nil {
			if k, err := followLine(t, mo, prev.Joints, prev.TCP, st.TCP); err != nil {
				t.Fatalf("step %d (%s %s): the controller cannot follow the line (sample %d): %v", i, st.Kind, st.Note, k, err)
			}
		}
		prev = st
	}
	if mo.JointMoves() == 0 || joint < 3 {
		t.Fatalf("transition used no joint move (%d joint moves, %d fallbacks)", joint, mo.JointMoves())
	}
}

// TestChainLeavesStateAlone: chain plans straight motions through
// waypoints without emitting them — the generator's pose is unchanged
// afterwards, every returned line is one the controller can follow, and
// a chain through the base-axis cylinder is refused.
func TestChainLeavesStateAlone(t *testing.T) {
	cfg := defaults()
	p := newProc(t, cfg)
	pos := []r3.Vector{{X: -100, Y: 100}, {X: -90, Y: 100}}
	g := mustGraph(t, pos, []graph.Edge{{A: 0, B: 1}}, []bool{true, true})
	mo, err := p.NewMotions(g)
	if err != nil {
		t.Fatal(err)
	}
	mo.Start()
	if _, err := mo.Next(planners.Move{From: 0, To: 1, Kind: planners.Print, Edge: 0}); err != nil {
		t.Fatal(err)
	}
	q, tcp, tip, axis, yaw := mo.q, mo.tcp, mo.tip, mo.axis, mo.yaw
	// turn on the spot to a tilted axis, then move 40 mm up and over
	tilted := -1
	for i, ax := range p.axes {
		if ax.Z < 0.9 && ax.Z > 0.8 {
			tilted = i
			break
		}
	}
	if tilted < 0 {
		t.Fatal("no tilted head axis sampled")
	}
	up := tip.Add(r3.Vector{X: 20, Z: 40})
	steps, ok := mo.chain(0, []waypoint{{tip, tilted, yaw}, {up, tilted, yaw}}, script.Motion{Speed: mo.cfg.travelV, Accel: mo.cfg.linA}, "test")
	if !ok || len(steps) != 2 {
		t.Fatalf("chain refused (%v, %d steps)", ok, len(steps))
	}
	if mo.q != q || mo.tcp != tcp || mo.tip != tip || mo.axis != axis || mo.yaw != yaw {
		t.Fatal("chain changed the generator's state")
	}
	prevQ, prevTCP := q, tcp
	for i, st := range steps {
		if st.Kind != StepMoveL || st.Collides {
			t.Fatalf("step %d: %s collides=%v", i, st.Kind, st.Collides)
		}
		if _, err := followLine(t, mo, prevQ, prevTCP, st.TCP); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		prevQ, prevTCP = st.Joints, st.TCP
	}
	// behind the robot, straight through the base axis: refused
	far := r3.Vector{X: -700, Y: 100, Z: tip.Z}
	if _, ok := mo.chain(0, []waypoint{{far, axis, yaw}}, script.Motion{Speed: mo.cfg.travelV, Accel: mo.cfg.linA}, "test"); ok {
		t.Fatal("chain through the base-axis cylinder accepted")
	}
	if mo.q != q || mo.tcp != tcp || mo.tip != tip {
		t.Fatal("a refused chain changed the generator's state")
	}
}
