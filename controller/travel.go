package controller

import (
	"context"
	"fmt"
	"math"

	"fabcell/planners"
	"fabcell/robot/ur/kin"
	"fabcell/safety"
	"fabcell/simulation/geom"

	"github.com/golang/geo/r3"
)

// The "travel" process (planners.TravelProcess) executed on the robot: the
// TCP follows the graph's nodes on the bed with the tool pointing down,
// without extruding. It is the cell's smoke test — it exercises planning,
// checking, the register command channel, the journal and the monitors
// with no process hardware — and the process the shop-floor tests use.
func init() { RegisterAdapter("travel", newTravelAdapter) }

type travelAdapter struct {
	env    *Env
	bed    geom.Pose // bed → base, mm
	model  *kin.Model
	q      [6]float64 // joints after the last applied move
	posMM  r3.Vector  // TCP after the last applied move (base frame)
	n      int
	length float64
	zMin   float64 // lowest model z (sits on the bed)
}

func newTravelAdapter(ctx context.Context, env *Env) (Adapter, Executor, error) {
	link, err := env.IO.Robot()
	if err != nil {
		return nil, nil, err
	}
	a := &travelAdapter{env: env, bed: PlaceOnBed(BedFrame(env.Cell.Robot), env.Graph), model: kin.UR5e().WithTCP(ToolOffset(env.Cell.Robot)), q: env.Cell.Robot.HomeJointsRad}
	a.posMM = a.model.FK(a.q).P.Mul(1000)
	lo, _ := env.Graph.Bounds()
	a.zMin = lo.Z
	ex := &RobotExecutor{Link: link, Home: env.Cell.Robot.HomeJointsRad}
	return a, ex, nil
}

// poseAt returns the TCP pose (base frame, m) above bed point p by dzMM.
func (a *travelAdapter) poseAt(p r3.Vector, dzMM float64) geom.Pose {
	b := a.bed.Apply(p.Add(r3.Vector{Z: dzMM}))
	return geom.Pose{R: a.bed.R.Mul(toolDown), P: b.Mul(0.001)}
}

// plan returns the commands of move m and the joints after it, checking
// reachability and the safety gate for every segment.
func (a *travelAdapter) plan(m planners.Move) ([]RobotCmd, [6]float64, r3.Vector, error) {
	r := a.env.Cell.Robot
	g := a.env.Graph
	where := fmt.Sprintf("move %d (node %d→%d %s)", a.n, m.From, m.To, m.Kind)
	type wp struct {
		p     r3.Vector
		dz    float64
		speed float64
		joint bool
	}
	var wps []wp
	to := g.Pos[m.To]
	switch {
	case a.n == 0:
		// approach the start node from above with a joint move, then descend
		from := g.Pos[m.From]
		wps = append(wps, wp{from, r.ApproachMM, r.TravelSpeedMMS, true}, wp{from, 0, r.TravelSpeedMMS, false})
	}
	if m.Kind == planners.Jump {
		from := g.Pos[m.From]
		wps = append(wps, wp{from, r.RetractMM, r.TravelSpeedMMS, false}, wp{to, r.RetractMM, r.TravelSpeedMMS, false}, wp{to, 0, r.TravelSpeedMMS, false})
	} else {
		speed := r.TravelSpeedMMS
		if m.Kind == planners.Print {
			speed = r.PrintSpeedMMS
		}
		wps = append(wps, wp{to, 0, speed, false})
	}
	q, pos := a.q, a.posMM
	var cmds []RobotCmd
	for i, w := range wps {
		pose := a.poseAt(w.p, w.dz)
		qn, err := a.model.IKNear(pose, q)
		if err != nil {
			return nil, q, pos, &safety.Violation{Rule: safety.RuleReach, Where: where, Value: math.NaN(), Limit: math.NaN(), Detail: err.Error()}
		}
		target := pose.P.Mul(1000)
		bedZ := math.Min(w.p.Z+w.dz, g.Pos[m.From].Z) - a.zMin
		mo := safety.Motion{Where: fmt.Sprintf("%s segment %d", where, i), Linear: !w.joint, FromMM: pos, ToMM: target,
			BedZMM: bedZ, QFrom: q, QTo: qn, HasJoints: true}
		if w.joint {
			mo.JointSpeedRadS, mo.JointAccelRadS2 = r.JointSpeedRadS, r.JointAccelRadS2
			cmds = append(cmds, RobotCmd{Kind: CmdMoveJ, Q: qn, Speed: r.JointSpeedRadS, Accel: r.JointAccelRadS2})
		} else {
			mo.TCPSpeedMMS = w.speed
			c := linearCmd(CmdMoveL, pose, w.speed, r.LinearAccelMMS2, 0)
			c.Q, c.HasQ = qn, true
			cmds = append(cmds, c)
		}
		if err := a.env.Gate.CheckMotion(mo); err != nil {
			return nil, q, pos, err
		}
		q, pos = qn, target
	}
	return cmds, q, pos, nil
}

func (a *travelAdapter) Check(m planners.Move) error {
	_, _, _, err := a.plan(m)
	return err
}

func (a *travelAdapter) Apply(m planners.Move) ([]Step, error) {
	cmds, q, pos, err := a.plan(m)
	if err != nil {
		return nil, err
	}
	a.length += pos.Sub(a.posMM).Norm()
	a.q, a.posMM = q, pos
	a.n++
	return []Step{{Moves: []planners.Move{m}, Label: fmt.Sprintf("%s %d→%d", m.Kind, m.From, m.To), Payload: cmds}}, nil
}

func (a *travelAdapter) Flush() ([]Step, error) { return nil, nil }

func (a *travelAdapter) Metrics() map[string]float64 {
	return map[string]float64{"moves_applied": float64(a.n), "tcp_path_mm": a.length}
}

func (a *travelAdapter) Series() map[string][]float64 { return nil }

// PlaceOnBed returns the model → base transform (mm) that puts the model's
// lowest point on the bed surface: bed · translate(0, 0, −z_min).
func PlaceOnBed(bed geom.Pose, g interface{ Bounds() (r3.Vector, r3.Vector) }) geom.Pose {
	lo, _ := g.Bounds()
	return bed.Mul(geom.Pose{R: geom.Identity(), P: r3.Vector{Z: -lo.Z}})
}
