// Package safety is the single gate every motion and process command passes
// before fabcell dispatches it, and the runtime monitor that pauses or
// aborts a job when the robot or the cell leaves a safe state.
//
// Every refusal is a *Violation naming the rule, the offending value, the
// limit and where it happened ("move 12 (node 3→7)"), so an operator can
// read why nothing was dispatched. The gate never corrects a motion
// silently: it either passes it unchanged or refuses it.
//
// Frames and units: positions are millimetres in the robot base frame,
// joints radians, speeds mm/s and rad/s, temperatures °C, laser power W.
package safety

import (
	"errors"
	"fmt"
	"math"

	"fabcell/config"

	"github.com/golang/geo/r3"
)

// Rule names a safety rule.
type Rule string

// The rules the gate and the monitor enforce.
const (
	RuleNonFinite     Rule = "non_finite"
	RuleWorkspace     Rule = "workspace"
	RuleKeepOut       Rule = "keep_out"
	RuleMinHeight     Rule = "min_tcp_height"
	RuleJointPosition Rule = "joint_position"
	RuleJointSpeed    Rule = "joint_speed"
	RuleJointAccel    Rule = "joint_accel"
	RuleJointJump     Rule = "joint_continuity"
	RuleTCPSpeed      Rule = "tcp_speed"
	RuleReach         Rule = "reachability"
	RuleArmCollision  Rule = "arm_collision"
	RuleHeadCollision Rule = "head_collision"
	RuleDisplacement  Rule = "fea_displacement"
	RuleNozzleTemp    Rule = "nozzle_temperature"
	RuleBedTemp       Rule = "bed_temperature"
	RuleLaserPower    Rule = "laser_power"
	RuleLaserField    Rule = "laser_field"
	RuleThermal       Rule = "thermal_limit"
	RuleTurn          Rule = "turning_angle"
	RuleContinuity    Rule = "continuity"
	RuleFiberPasses   Rule = "fiber_passes"
	RuleDoor          Rule = "door_interlock"
	RuleRobotMode     Rule = "robot_mode"
	RuleSafetyMode    Rule = "safety_mode"
	RuleRuntime       Rule = "runtime_state"
	RuleRemote        Rule = "remote_control"
	RuleWatchdog      Rule = "watchdog"
)

// ErrRefused is wrapped by every Violation (errors.Is(err, ErrRefused)).
var ErrRefused = errors.New("refused by safety gate")

// Violation is a refusal: which rule, where, the value and the limit.
type Violation struct {
	Rule  Rule
	Where string  // e.g. "move 12 (node 3→7)", "joint 2"
	Value float64 // the offending value (NaN when not numeric)
	Limit float64 // the limit it broke (NaN when not numeric)
	Unit  string
	// Detail adds context for non-numeric rules ("PROTECTIVE_STOP").
	Detail string
}

func (v *Violation) Error() string {
	s := "safety: " + string(v.Rule)
	if v.Where != "" {
		s += ": " + v.Where
	}
	if !math.IsNaN(v.Value) {
		s += fmt.Sprintf(": %.6g %s", v.Value, v.Unit)
		if !math.IsNaN(v.Limit) {
			s += fmt.Sprintf(" exceeds limit %.6g %s", v.Limit, v.Unit)
		}
	}
	if v.Detail != "" {
		s += " (" + v.Detail + ")"
	}
	return s
}

// Unwrap makes errors.Is(v, ErrRefused) true.
func (v *Violation) Unwrap() error { return ErrRefused }

func violation(rule Rule, where string, value, limit float64, unit, detail string) *Violation {
	return &Violation{Rule: rule, Where: where, Value: value, Limit: limit, Unit: unit, Detail: detail}
}

// Gate checks motions and process commands against the cell's limits.
// It is immutable after New and safe for concurrent use.
type Gate struct {
	cell config.Cell
	s    config.Safety
}

// New returns a gate for the cell configuration (which must be valid).
func New(cell config.Cell) *Gate { return &Gate{cell: cell, s: cell.Safety} }

// Limits returns the safety section the gate enforces.
func (g *Gate) Limits() config.Safety { return g.s }

// Motion is one commanded robot motion, described by what the gate needs.
type Motion struct {
	// Where labels the motion in refusals ("move 12 (node 3→7) approach").
	Where string
	// Linear is true for movel/movep (TCP straight line), false for movej.
	Linear bool
	// FromMM and ToMM are TCP positions in the base frame (mm).
	FromMM, ToMM r3.Vector
	// BedZMM is the TCP height above the bed at the lowest point of the
	// motion (NaN when unknown), checked against MinTCPHeightMM.
	BedZMM float64
	// QFrom and QTo are joint positions (rad); HasJoints tells they are set.
	QFrom, QTo [6]float64
	HasJoints  bool
	// TCPSpeedMMS is the commanded TCP speed of a linear motion.
	TCPSpeedMMS float64
	// JointSpeedRadS and JointAccelRadS2 are the commanded leading-joint
	// speed and acceleration of a joint motion (and the peak joint speed
	// implied by a linear motion, when the caller computed it).
	JointSpeedRadS  float64
	JointAccelRadS2 float64
}

// CheckMotion checks workspace, keep-out zones, bed clearance, joint
// limits and continuity, and speed/acceleration limits. It returns nil or a
// *Violation.
func (g *Gate) CheckMotion(m Motion) error {
	for _, p := range []struct {
		n string
		v r3.Vector
	}{{"from", m.FromMM}, {"to", m.ToMM}} {
		if !finiteVec(p.v) {
			return violation(RuleNonFinite, m.Where, math.NaN(), math.NaN(), "", p.n+" position is not finite")
		}
	}
	for _, x := range []float64{m.TCPSpeedMMS, m.JointSpeedRadS, m.JointAccelRadS2} {
		if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
			return violation(RuleNonFinite, m.Where, math.NaN(), math.NaN(), "", fmt.Sprintf("speed/acceleration %v is not a finite non-negative number", x))
		}
	}
	ws := g.s.Workspace
	for _, p := range []r3.Vector{m.FromMM, m.ToMM} {
		if !ws.Contains(config.Vec3{p.X, p.Y, p.Z}) {
			axis, val, lim := outside(ws, p)
			return violation(RuleWorkspace, m.Where, val, lim, "mm", fmt.Sprintf("TCP %s = %.3f outside workspace [%.1f, %.1f]", axis, val, ws.MinMM[axisIndex(axis)], ws.MaxMM[axisIndex(axis)]))
		}
	}
	// Joint motions do not follow the straight segment, but the straight
	// segment between the two TCP positions is still the best cheap proxy
	// for keep-out zones; callers with joint samples check links as well.
	for i, b := range g.s.KeepOut {
		if segmentHitsBox(m.FromMM, m.ToMM, b) {
			return violation(RuleKeepOut, m.Where, math.NaN(), math.NaN(), "", fmt.Sprintf("TCP path enters keep_out[%d] %v..%v mm", i, b.MinMM, b.MaxMM))
		}
	}
	if !math.IsNaN(m.BedZMM) && m.BedZMM < g.s.MinTCPHeightMM {
		return &Violation{Rule: RuleMinHeight, Where: m.Where, Value: m.BedZMM, Limit: g.s.MinTCPHeightMM, Unit: "mm", Detail: "TCP below the bed"}
	}
	if m.HasJoints {
		for j := 0; j < 6; j++ {
			for _, q := range []float64{m.QFrom[j], m.QTo[j]} {
				if math.IsNaN(q) || math.IsInf(q, 0) {
					return violation(RuleNonFinite, m.Where, math.NaN(), math.NaN(), "", fmt.Sprintf("joint %d is not finite", j))
				}
				if q < g.s.JointMinRad[j] || q > g.s.JointMaxRad[j] {
					lim := g.s.JointMaxRad[j]
					if q < g.s.JointMinRad[j] {
						lim = g.s.JointMinRad[j]
					}
					return violation(RuleJointPosition, fmt.Sprintf("%s joint %d", m.Where, j), q, lim, "rad", "")
				}
			}
		}
	}
	if m.Linear && m.TCPSpeedMMS > g.s.MaxTCPSpeedMMS {
		return violation(RuleTCPSpeed, m.Where, m.TCPSpeedMMS, g.s.MaxTCPSpeedMMS, "mm/s", "")
	}
	if m.JointSpeedRadS > g.s.JointSpeedRadS {
		return violation(RuleJointSpeed, m.Where, m.JointSpeedRadS, g.s.JointSpeedRadS, "rad/s", "")
	}
	if m.JointAccelRadS2 > g.s.JointAccelRadS2 {
		return violation(RuleJointAccel, m.Where, m.JointAccelRadS2, g.s.JointAccelRadS2, "rad/s²", "")
	}
	return nil
}

// CheckJointContinuity refuses a linear motion whose joint solutions at
// consecutive samples differ by more than maxStepRad on any joint (an IK
// branch flip mid-move).
func CheckJointContinuity(where string, samples [][6]float64, maxStepRad float64) error {
	for i := 1; i < len(samples); i++ {
		for j := 0; j < 6; j++ {
			if d := math.Abs(samples[i][j] - samples[i-1][j]); d > maxStepRad {
				return violation(RuleJointJump, fmt.Sprintf("%s joint %d sample %d", where, j, i), d, maxStepRad, "rad", "IK branch change along the move")
			}
		}
	}
	return nil
}

// CheckDisplacement refuses a wire-frame step whose predicted gravity sag
// (FEA max translation of the partial structure after the step) exceeds
// the bound (default half the nozzle diameter, paper §4.2.1).
func (g *Gate) CheckDisplacement(where string, dispMM float64) error {
	if math.IsNaN(dispMM) || math.IsInf(dispMM, 0) || dispMM < 0 {
		return violation(RuleNonFinite, where, math.NaN(), math.NaN(), "", fmt.Sprintf("displacement %v mm is not a finite non-negative number", dispMM))
	}
	if dispMM > g.s.MaxDisplacementMM {
		return violation(RuleDisplacement, where, dispMM, g.s.MaxDisplacementMM, "mm", "predicted sag of the partial structure")
	}
	return nil
}

// CheckNozzleTemp refuses extrusion when a nozzle is outside its window.
func (g *Gate) CheckNozzleTemp(where string, tool int, tempC float64) error {
	w := fmt.Sprintf("%s nozzle T%d", where, tool)
	switch {
	case math.IsNaN(tempC) || math.IsInf(tempC, 0):
		return violation(RuleNonFinite, w, math.NaN(), math.NaN(), "", "temperature reading is not finite")
	case tempC < g.s.NozzleTempMinC:
		return &Violation{Rule: RuleNozzleTemp, Where: w, Value: tempC, Limit: g.s.NozzleTempMinC, Unit: "°C", Detail: "below the extrusion window (cold extrusion)"}
	case tempC > g.s.NozzleTempMaxC:
		return violation(RuleNozzleTemp, w, tempC, g.s.NozzleTempMaxC, "°C", "")
	}
	return nil
}

// CheckNozzleTarget refuses a heater set-point outside the window (a
// set-point of 0 = heater off is always allowed).
func (g *Gate) CheckNozzleTarget(where string, tool int, targetC float64) error {
	if targetC == 0 {
		return nil
	}
	if math.IsNaN(targetC) || targetC < 0 || targetC > g.s.NozzleTempMaxC {
		return violation(RuleNozzleTemp, fmt.Sprintf("%s T%d set-point", where, tool), targetC, g.s.NozzleTempMaxC, "°C", "")
	}
	return nil
}

// CheckBedTemp refuses a bed set-point or reading above the limit.
func (g *Gate) CheckBedTemp(where string, tempC float64) error {
	if math.IsNaN(tempC) || math.IsInf(tempC, 0) {
		return violation(RuleNonFinite, where, math.NaN(), math.NaN(), "", "bed temperature is not finite")
	}
	if tempC > g.s.BedTempMaxC {
		return violation(RuleBedTemp, where, tempC, g.s.BedTempMaxC, "°C", "")
	}
	return nil
}

// CheckLaserVector refuses a scan vector with power above the limit or an
// end point outside the scan field (a square of fieldMM centred on the
// origin of the layer frame).
func (g *Gate) CheckLaserVector(where string, powerW, x0, y0, x1, y1, fieldMM float64) error {
	for _, v := range []float64{powerW, x0, y0, x1, y1} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return violation(RuleNonFinite, where, math.NaN(), math.NaN(), "", "scan vector has a non-finite value")
		}
	}
	if powerW < 0 || powerW > g.s.MaxLaserPowerW {
		return violation(RuleLaserPower, where, powerW, g.s.MaxLaserPowerW, "W", "")
	}
	half := fieldMM / 2
	for _, c := range []float64{x0, y0, x1, y1} {
		if math.Abs(c) > half {
			return violation(RuleLaserField, where, math.Abs(c), half, "mm", "scan vector leaves the scan field")
		}
	}
	return nil
}

func finiteVec(v r3.Vector) bool {
	return !(math.IsNaN(v.X) || math.IsNaN(v.Y) || math.IsNaN(v.Z) || math.IsInf(v.X, 0) || math.IsInf(v.Y, 0) || math.IsInf(v.Z, 0))
}

func outside(b config.Box, p r3.Vector) (axis string, val, lim float64) {
	c := [3]float64{p.X, p.Y, p.Z}
	for i, n := range []string{"x", "y", "z"} {
		if c[i] < b.MinMM[i] {
			return n, c[i], b.MinMM[i]
		}
		if c[i] > b.MaxMM[i] {
			return n, c[i], b.MaxMM[i]
		}
	}
	return "", 0, 0
}

func axisIndex(a string) int {
	switch a {
	case "y":
		return 1
	case "z":
		return 2
	}
	return 0
}

// segmentHitsBox reports whether segment ab intersects box b (slab test).
func segmentHitsBox(a, b r3.Vector, box config.Box) bool {
	t0, t1 := 0.0, 1.0
	pa := [3]float64{a.X, a.Y, a.Z}
	d := [3]float64{b.X - a.X, b.Y - a.Y, b.Z - a.Z}
	for i := 0; i < 3; i++ {
		if math.Abs(d[i]) < 1e-15 {
			if pa[i] < box.MinMM[i] || pa[i] > box.MaxMM[i] {
				return false
			}
			continue
		}
		inv := 1 / d[i]
		ta := (box.MinMM[i] - pa[i]) * inv
		tb := (box.MaxMM[i] - pa[i]) * inv
		if ta > tb {
			ta, tb = tb, ta
		}
		t0 = math.Max(t0, ta)
		t1 = math.Min(t1, tb)
		if t0 > t1 {
			return false
		}
	}
	return true
}
