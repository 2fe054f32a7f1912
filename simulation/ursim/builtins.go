package ursim

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/golang/geo/r3"

	"fabcell/robot/ur/rtde"
	"fabcell/simulation/geom"
)

// Built-in URScript functions the simulator implements (spec §2 "URScript
// motion" and the I/O, register and pose functions of the URScript
// manual). A parameter name ending in '?' is optional. Calls to any other
// function are compile errors, so unsupported script is never silently
// ignored.

type builtin struct {
	params []string
	fn     func(th *thread, p pos, args []value) (value, error)
}

var builtins map[string]*builtin

func init() {
	builtins = map[string]*builtin{
		// motion
		"movej":   {[]string{"q", "a?", "v?", "t?", "r?"}, bMoveJ},
		"movel":   {[]string{"pose", "a?", "v?", "t?", "r?"}, bMoveL(false)},
		"movep":   {[]string{"pose", "a?", "v?", "r?"}, bMoveL(true)},
		"servoj":  {[]string{"q", "a?", "v?", "t?", "lookahead_time?", "gain?"}, bServoJ},
		"speedj":  {[]string{"qd", "a", "t?"}, bSpeed(false)},
		"speedl":  {[]string{"xd", "a", "t?", "aRot?"}, bSpeed(true)},
		"stopj":   {[]string{"a"}, bStop},
		"stopl":   {[]string{"a", "aRot?"}, bStop},
		"sleep":   {[]string{"t"}, bSleep},
		"sync":    {nil, bSync},
		"set_tcp": {[]string{"pose"}, bSetTCP},
		"set_payload": {[]string{"m", "cog?", "inertia?"}, func(th *thread, p pos, a []value) (value, error) {
			m, err := argNum(a[0], "m", 0)
			if err != nil || m < 0 || m > 50 {
				return nil, fmt.Errorf("payload mass %v kg invalid", a[0])
			}
			th.c.payloadKG = m
			if a[1] != nil {
				cog, err := argVec(a[1], 3, "cog")
				if err != nil {
					return nil, err
				}
				copy(th.c.payloadCOG[:], cog)
			}
			return nil, nil
		}},
		"set_gravity": {[]string{"d"}, func(th *thread, p pos, a []value) (value, error) {
			_, err := argVec(a[0], 3, "d")
			return nil, err
		}},
		// messages
		"textmsg": {[]string{"s1", "s2?"}, func(th *thread, p pos, a []value) (value, error) {
			th.c.emit(evText, p.line, p.col, "%s%s", formatValue(a[0]), formatValue(a[1]))
			return nil, nil
		}},
		"popup": {[]string{"s", "title?", "warning?", "error?", "blocking?"}, bPopup},
		// digital and analog I/O
		"set_standard_digital_out":     {[]string{"n", "b"}, bSetDO(&ioStd)},
		"set_configurable_digital_out": {[]string{"n", "b"}, bSetDO(&ioConf)},
		"set_tool_digital_out":         {[]string{"n", "b"}, bSetDO(&ioTool)},
		"set_digital_out":              {[]string{"n", "b"}, bSetDO(&ioStd)},
		"get_standard_digital_out":     {[]string{"n"}, bGetDIO(&ioStd, true)},
		"get_configurable_digital_out": {[]string{"n"}, bGetDIO(&ioConf, true)},
		"get_tool_digital_out":         {[]string{"n"}, bGetDIO(&ioTool, true)},
		"get_standard_digital_in":      {[]string{"n"}, bGetDIO(&ioStd, false)},
		"get_configurable_digital_in":  {[]string{"n"}, bGetDIO(&ioConf, false)},
		"get_tool_digital_in":          {[]string{"n"}, bGetDIO(&ioTool, false)},
		"set_standard_analog_out":      {[]string{"n", "f"}, bSetAO},
		"set_analog_out":               {[]string{"n", "f"}, bSetAO},
		"set_analog_outputdomain": {[]string{"port", "domain"}, func(th *thread, p pos, a []value) (value, error) {
			n, err := argIndex(a[0], "port", 2)
			if err != nil {
				return nil, err
			}
			d, err := argIndex(a[1], "domain", 2)
			if err != nil {
				return nil, err
			}
			th.c.analogDomain[n] = uint8(d)
			return nil, nil
		}},
		"get_standard_analog_in": {[]string{"n"}, func(th *thread, p pos, a []value) (value, error) {
			_, err := argIndex(a[0], "n", 2)
			return 0.0, err
		}},
		"set_tool_voltage": {[]string{"voltage"}, func(th *thread, p pos, a []value) (value, error) {
			v, err := argInt(a[0], "voltage")
			if err != nil || (v != 0 && v != 12 && v != 24) {
				return nil, fmt.Errorf("tool voltage must be 0, 12 or 24, got %v", a[0])
			}
			th.c.toolVoltage = int32(v)
			return nil, nil
		}},
		// RTDE registers
		"read_input_integer_register":   {[]string{"address"}, bReadReg("in", "int")},
		"read_input_float_register":     {[]string{"address"}, bReadReg("in", "float")},
		"read_input_boolean_register":   {[]string{"address"}, bReadReg("in", "bool")},
		"read_output_integer_register":  {[]string{"address"}, bReadReg("out", "int")},
		"read_output_float_register":    {[]string{"address"}, bReadReg("out", "float")},
		"read_output_boolean_register":  {[]string{"address"}, bReadReg("out", "bool")},
		"write_output_integer_register": {[]string{"address", "value"}, bWriteReg("int")},
		"write_output_float_register":   {[]string{"address", "value"}, bWriteReg("float")},
		"write_output_boolean_register": {[]string{"address", "value"}, bWriteReg("bool")},
		"rtde_set_watchdog":             {[]string{"variable_name", "min_frequency", "action?"}, bWatchdog},
		"get_actual_joint_positions":    {nil, func(th *thread, _ pos, _ []value) (value, error) { return qList(th.c.q), nil }},
		"get_target_joint_positions":    {nil, func(th *thread, _ pos, _ []value) (value, error) { return qList(th.c.q), nil }},
		"get_actual_joint_speeds":       {nil, func(th *thread, _ pos, _ []value) (value, error) { return qList(th.c.qd), nil }},
		"get_target_joint_speeds":       {nil, func(th *thread, _ pos, _ []value) (value, error) { return qList(th.c.qd), nil }},
		"get_actual_tcp_pose":           {nil, func(th *thread, _ pos, _ []value) (value, error) { return toPoseVal(th.c.model.FK(th.c.q)), nil }},
		"get_target_tcp_pose":           {nil, func(th *thread, _ pos, _ []value) (value, error) { return toPoseVal(th.c.model.FK(th.c.q)), nil }},
		"get_actual_tcp_speed":          {nil, func(th *thread, _ pos, _ []value) (value, error) { return poseVal(th.c.tcpVel), nil }},
		"get_target_tcp_speed":          {nil, func(th *thread, _ pos, _ []value) (value, error) { return poseVal(th.c.tcpVel), nil }},
		"get_tcp_offset":                {nil, func(th *thread, _ pos, _ []value) (value, error) { return toPoseVal(th.c.tcp), nil }},
		"get_forward_kin":               {[]string{"q?", "tcp?"}, bFK},
		"get_inverse_kin":               {[]string{"x", "qnear?", "maxPositionError?", "maxOrientationError?", "tcp?"}, bIK(false)},
		"get_inverse_kin_has_solution":  {[]string{"pose", "qnear?", "maxPositionError?", "maxOrientationError?", "tcp?"}, bIK(true)},
		"is_within_safety_limits":       {[]string{"pose"}, bWithinLimits},
		"get_steptime":                  {nil, func(*thread, pos, []value) (value, error) { return dt, nil }},
		"is_steady": {nil, func(th *thread, _ pos, _ []value) (value, error) {
			return th.c.ex.idle() && th.c.qd == [6]float64{}, nil
		}},
		// pose arithmetic
		"pose_trans": {[]string{"p_from", "p_from_to"}, pose2(func(a, b geom.Pose) geom.Pose { return a.Mul(b) })},
		"pose_add": {[]string{"p_1", "p_2"}, pose2(func(a, b geom.Pose) geom.Pose {
			return geom.Pose{R: a.R.Mul(b.R), P: a.P.Add(b.P)}
		})},
		"pose_sub": {[]string{"p_to", "p_from"}, pose2(func(to, from geom.Pose) geom.Pose {
			return geom.Pose{R: from.R.T().Mul(to.R), P: to.P.Sub(from.P)}
		})},
		"pose_inv": {[]string{"p_from"}, func(th *thread, p pos, a []value) (value, error) {
			x, err := argPose(a[0], "p_from")
			return toPoseVal(x.Inverse()), err
		}},
		"pose_dist": {[]string{"p_from", "p_to"}, func(th *thread, p pos, a []value) (value, error) {
			x, err1 := argPose(a[0], "p_from")
			y, err2 := argPose(a[1], "p_to")
			return y.P.Sub(x.P).Norm(), errors.Join(err1, err2)
		}},
		"point_dist": {[]string{"p_from", "p_to"}, func(th *thread, p pos, a []value) (value, error) {
			x, err1 := argPose(a[0], "p_from")
			y, err2 := argPose(a[1], "p_to")
			return y.P.Sub(x.P).Norm(), errors.Join(err1, err2)
		}},
		"interpolate_pose": {[]string{"p_from", "p_to", "alpha"}, func(th *thread, p pos, a []value) (value, error) {
			x, err1 := argPose(a[0], "p_from")
			y, err2 := argPose(a[1], "p_to")
			al, err3 := argNum(a[2], "alpha", 0)
			if err := errors.Join(err1, err2, err3); err != nil {
				return nil, err
			}
			d := y.R.Mul(x.R.T()).RotVec()
			return toPoseVal(geom.Pose{R: geom.FromRotVec(d.Mul(al)).Mul(x.R), P: x.P.Add(y.P.Sub(x.P).Mul(al))}), nil
		}},
		"rpy2rotvec": {[]string{"rpy_vector"}, func(th *thread, p pos, a []value) (value, error) {
			v, err := argVec(a[0], 3, "rpy_vector")
			if err != nil {
				return nil, err
			}
			rv := geom.RPY(v[0], v[1], v[2]).RotVec()
			return []value{rv.X, rv.Y, rv.Z}, nil
		}},
		"rotvec2rpy": {[]string{"rotation_vector"}, func(th *thread, p pos, a []value) (value, error) {
			v, err := argVec(a[0], 3, "rotation_vector")
			if err != nil {
				return nil, err
			}
			m := geom.FromRotVec(r3.Vector{X: v[0], Y: v[1], Z: v[2]})
			pitch := math.Atan2(-m[2][0], math.Hypot(m[0][0], m[1][0]))
			yaw := math.Atan2(m[1][0], m[0][0])
			roll := math.Atan2(m[2][1], m[2][2])
			return []value{roll, pitch, yaw}, nil
		}},
		// math
		"sin":   math1(math.Sin),
		"cos":   math1(math.Cos),
		"tan":   math1(math.Tan),
		"asin":  math1(math.Asin),
		"acos":  math1(math.Acos),
		"atan":  math1(math.Atan),
		"sqrt":  math1(math.Sqrt),
		"d2r":   math1(func(x float64) float64 { return x * math.Pi / 180 }),
		"r2d":   math1(func(x float64) float64 { return x * 180 / math.Pi }),
		"atan2": math2("y", "x", math.Atan2),
		"pow":   math2("base", "exponent", math.Pow),
		"log":   math2("b", "f", func(b, f float64) float64 { return math.Log(f) / math.Log(b) }),
		"floor": {[]string{"f"}, func(th *thread, p pos, a []value) (value, error) {
			x, err := argNum(a[0], "f", 0)
			return int64(math.Floor(x)), err
		}},
		"ceil": {[]string{"f"}, func(th *thread, p pos, a []value) (value, error) {
			x, err := argNum(a[0], "f", 0)
			return int64(math.Ceil(x)), err
		}},
		"norm": {[]string{"a"}, func(th *thread, p pos, a []value) (value, error) {
			if x, ok := toFloat(a[0]); ok {
				if i, isInt := a[0].(int64); isInt {
					if i < 0 {
						return -i, nil
					}
					return i, nil
				}
				return math.Abs(x), nil
			}
			v, err := argVec(a[0], -1, "a")
			s := 0.0
			for _, x := range v {
				s += x * x
			}
			return math.Sqrt(s), err
		}},
		"length": {[]string{"v"}, func(th *thread, p pos, a []value) (value, error) {
			switch x := a[0].(type) {
			case []value:
				return int64(len(x)), nil
			case poseVal:
				return int64(6), nil
			case string:
				return int64(len(x)), nil
			}
			return nil, fmt.Errorf("length of a %s", typeName(a[0]))
		}},
		"to_str": {[]string{"val"}, func(th *thread, p pos, a []value) (value, error) { return formatValue(a[0]), nil }},
		"str_cat": {[]string{"op1", "op2"}, func(th *thread, p pos, a []value) (value, error) {
			return formatValue(a[0]) + formatValue(a[1]), nil
		}},
		"to_num": {[]string{"str"}, func(th *thread, p pos, a []value) (value, error) {
			s, ok := a[0].(string)
			if !ok {
				return nil, fmt.Errorf("to_num needs a string, got %s", typeName(a[0]))
			}
			s = strings.TrimSpace(s)
			if i, err := strconv.ParseInt(s, 10, 32); err == nil {
				return i, nil
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("to_num: %q is not a number", s)
			}
			return f, nil
		}},
	}
}

// --- argument helpers ---

func argNum(v value, name string, def float64) (float64, error) {
	if v == nil {
		return def, nil
	}
	f, ok := toFloat(v)
	if !ok {
		return 0, fmt.Errorf("%s must be a number, got %s", name, typeName(v))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%s is not finite", name)
	}
	return f, nil
}

func argInt(v value, name string) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<31 {
			return int64(x), nil
		}
	}
	return 0, fmt.Errorf("%s must be an integer, got %s %s", name, typeName(v), formatValue(v))
}

func argIndex(v value, name string, n int) (int, error) {
	i, err := argInt(v, name)
	if err != nil {
		return 0, err
	}
	if i < 0 || i >= int64(n) {
		return 0, fmt.Errorf("%s %d out of range 0..%d", name, i, n-1)
	}
	return int(i), nil
}

func argBool(v value, name string) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case int64: // URScript accepts 0/1 for digital outputs
		if x == 0 || x == 1 {
			return x == 1, nil
		}
	}
	return false, fmt.Errorf("%s must be True or False, got %s", name, formatValue(v))
}

// argVec returns the numbers of a list (or pose); n < 0 accepts any length.
func argVec(v value, n int, name string) ([]float64, error) {
	var out []float64
	switch x := v.(type) {
	case []value:
		for i, e := range x {
			f, ok := toFloat(e)
			if !ok {
				return nil, fmt.Errorf("%s[%d] must be a number, got %s", name, i, typeName(e))
			}
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("%s[%d] is not finite", name, i)
			}
			out = append(out, f)
		}
	case poseVal:
		out = x[:]
	default:
		return nil, fmt.Errorf("%s must be a list, got %s", name, typeName(v))
	}
	if n >= 0 && len(out) != n {
		return nil, fmt.Errorf("%s needs %d numbers, has %d", name, n, len(out))
	}
	return out, nil
}

func argQ(v value, name string) ([6]float64, error) {
	var q [6]float64
	f, err := argVec(v, 6, name)
	copy(q[:], f)
	return q, err
}

func argPose(v value, name string) (geom.Pose, error) {
	pv, ok := v.(poseVal)
	if !ok {
		return geom.Pose{}, fmt.Errorf("%s must be a pose p[...], got %s", name, typeName(v))
	}
	for _, x := range pv {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return geom.Pose{}, fmt.Errorf("%s is not finite", name)
		}
	}
	return fromPoseVal(pv), nil
}

func fromPoseVal(pv poseVal) geom.Pose {
	return geom.PoseFromRotVec(r3.Vector{X: pv[0], Y: pv[1], Z: pv[2]}, r3.Vector{X: pv[3], Y: pv[4], Z: pv[5]})
}

func toPoseVal(x geom.Pose) poseVal {
	rv := x.RotVec()
	return poseVal{x.P.X, x.P.Y, x.P.Z, rv.X, rv.Y, rv.Z}
}

func qList(q [6]float64) []value {
	out := make([]value, 6)
	for i, x := range q {
		out[i] = x
	}
	return out
}

func math1(f func(float64) float64) *builtin {
	return &builtin{[]string{"f"}, func(th *thread, p pos, a []value) (value, error) {
		x, err := argNum(a[0], "argument", 0)
		if err != nil {
			return nil, err
		}
		r := f(x)
		if math.IsNaN(r) || math.IsInf(r, 0) {
			return nil, fmt.Errorf("argument %g out of the domain", x)
		}
		return r, nil
	}}
}

func math2(n1, n2 string, f func(a, b float64) float64) *builtin {
	return &builtin{[]string{n1, n2}, func(th *thread, p pos, a []value) (value, error) {
		x, err1 := argNum(a[0], n1, 0)
		y, err2 := argNum(a[1], n2, 0)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		r := f(x, y)
		if math.IsNaN(r) || math.IsInf(r, 0) {
			return nil, fmt.Errorf("arguments %g, %g out of the domain", x, y)
		}
		return r, nil
	}}
}

func pose2(f func(a, b geom.Pose) geom.Pose) func(th *thread, p pos, a []value) (value, error) {
	return func(th *thread, p pos, a []value) (value, error) {
		x, err1 := argPose(a[0], "first pose")
		y, err2 := argPose(a[1], "second pose")
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		return toPoseVal(f(x, y)), nil
	}
}

// --- motion ---

func noSec(th *thread, what string) error {
	if th.prog.sec {
		return fmt.Errorf("%s is not allowed in a secondary (sec) program", what)
	}
	return nil
}

func positive(x float64, name string) error {
	if !(x > 0) {
		return fmt.Errorf("%s must be > 0, got %g", name, x)
	}
	return nil
}

// waitMove blocks until the move may return: a blended move (r > 0)
// returns once it is executing, so the next move can blend into it; an
// unblended one when it finished.
func waitMove(th *thread, id uint64, blend bool) {
	ex := &th.c.ex
	if blend {
		th.waitFor(func() bool { return ex.reached(id) })
		return
	}
	th.waitFor(func() bool { return ex.doneID >= id })
}

func motionParams(a []value, da, dv float64, hasT bool) (acc, v, t, r float64, err error) {
	if acc, err = argNum(a[1], "a", da); err != nil {
		return
	}
	if v, err = argNum(a[2], "v", dv); err != nil {
		return
	}
	ri := 3
	if hasT {
		if t, err = argNum(a[3], "t", 0); err != nil {
			return
		}
		ri = 4
	}
	if r, err = argNum(a[ri], "r", 0); err != nil {
		return
	}
	if err = errors.Join(positive(acc, "a"), positive(v, "v")); err != nil {
		return
	}
	if t < 0 || r < 0 {
		err = fmt.Errorf("t and r must be >= 0 (t=%g, r=%g)", t, r)
	}
	return
}

func bMoveJ(th *thread, p pos, a []value) (value, error) {
	if err := noSec(th, "movej"); err != nil {
		return nil, err
	}
	acc, v, t, r, err := motionParams(a, 1.4, 1.05, true)
	if err != nil {
		return nil, err
	}
	c := th.c
	th.waitFor(func() bool { return c.ex.queued() <= 1 })
	q0 := c.pathEnd()
	var q1 [6]float64
	if pv, ok := a[0].(poseVal); ok {
		x, err := argPose(pv, "pose")
		if err != nil {
			return nil, err
		}
		if q1, err = c.ikTCP(x, q0); err != nil {
			return nil, fmt.Errorf("target pose not reachable: %v", err)
		}
	} else if q1, err = argQ(a[0], "q"); err != nil {
		return nil, err
	}
	v = math.Min(v, c.opts.JointSpeedLimitRadS) // the controller limits joint speed
	s := newJointSeg(q0, q1, v, acc)
	if t > 0 {
		s.v, s.a = timed(s.L, acc, t)
	}
	if r > 0 {
		d := c.model.FK(q1).P.Sub(c.model.FK(q0).P).Norm()
		if d > 1e-6 {
			s.r = r * s.L / d // blend radius (m) in leading-joint radians
		}
	}
	waitMove(th, c.ex.push(s), r > 0)
	return nil, nil
}

func bMoveL(process bool) func(th *thread, p pos, a []value) (value, error) {
	name := "movel"
	if process {
		name = "movep"
	}
	return func(th *thread, p pos, a []value) (value, error) {
		if err := noSec(th, name); err != nil {
			return nil, err
		}
		acc, v, t, r, err := motionParams(a, 1.2, 0.25, !process)
		if err != nil {
			return nil, err
		}
		c := th.c
		th.waitFor(func() bool { return c.ex.queued() <= 1 })
		q0 := c.pathEnd()
		x0 := c.model.FK(q0)
		if n := len(c.ex.segs); n > 0 {
			if e := c.ex.segs[n-1].end(); e.cart {
				x0 = e.x
			}
		}
		var x1 geom.Pose
		if pv, ok := a[0].(poseVal); ok {
			if x1, err = argPose(pv, "pose"); err != nil {
				return nil, err
			}
		} else {
			q, err := argQ(a[0], "pose")
			if err != nil {
				return nil, err
			}
			x1 = c.model.FK(q) // joint positions: converted with the forward kinematics
		}
		if _, err := c.ikTCP(x1, q0); err != nil {
			return nil, fmt.Errorf("target pose not reachable: %v", err)
		}
		s := newCartSeg(x0, x1, v, acc)
		if t > 0 {
			s.v, s.a = timed(s.L, acc, t)
		}
		if s.kind == segCart {
			s.r = r
		}
		waitMove(th, c.ex.push(s), r > 0)
		return nil, nil
	}
}

func bServoJ(th *thread, p pos, a []value) (value, error) {
	if err := noSec(th, "servoj"); err != nil {
		return nil, err
	}
	q, err := argQ(a[0], "q")
	if err != nil {
		return nil, err
	}
	t, err := argNum(a[3], "t", dt)
	if err != nil {
		return nil, err
	}
	if t < dt {
		t = dt
	}
	for i, name := range []string{"lookahead_time", "gain"} {
		x, err := argNum(a[4+i], name, 0)
		if err != nil {
			return nil, err
		}
		if name == "lookahead_time" && a[4] != nil && (x < 0.03 || x > 0.2) {
			return nil, fmt.Errorf("lookahead_time %g outside [0.03, 0.2]", x)
		}
		if name == "gain" && a[5] != nil && (x < 100 || x > 2000) {
			return nil, fmt.Errorf("gain %g outside [100, 2000]", x)
		}
	}
	c := th.c
	ex := &c.ex
	if ex.mode != modeServo {
		ex.clear()
		ex.mode = modeServo
	}
	ex.servoQ, ex.servoLeft, ex.servoValid = q, t, true
	end := c.t + t
	th.waitFor(func() bool { return c.t >= end-1e-9 })
	return nil, nil
}

func bSpeed(cart bool) func(th *thread, p pos, a []value) (value, error) {
	return func(th *thread, p pos, a []value) (value, error) {
		if err := noSec(th, "speed commands"); err != nil {
			return nil, err
		}
		v, err := argQ(a[0], "speed")
		if err != nil {
			return nil, err
		}
		acc, err := argNum(a[1], "a", 0)
		if err != nil {
			return nil, err
		}
		if err := positive(acc, "a"); err != nil {
			return nil, err
		}
		t, err := argNum(a[2], "t", 0)
		if err != nil || t < 0 {
			return nil, fmt.Errorf("t must be >= 0")
		}
		c := th.c
		ex := &c.ex
		mode := modeSpeedJ
		if cart {
			mode = modeSpeedL
		}
		if ex.mode != mode {
			ex.clear()
			ex.mode = mode
		}
		ex.velTarget, ex.velA, ex.velEnd = v, acc, false
		end := c.t + math.Max(t, dt)
		th.waitFor(func() bool { return c.t >= end-1e-9 })
		return nil, nil
	}
}

func bStop(th *thread, p pos, a []value) (value, error) {
	if err := noSec(th, "stop commands"); err != nil {
		return nil, err
	}
	acc, err := argNum(a[0], "a", 0)
	if err != nil {
		return nil, err
	}
	if err := positive(acc, "a"); err != nil {
		return nil, err
	}
	ex := &th.c.ex
	ex.stop(acc)
	th.waitFor(ex.idle)
	return nil, nil
}

func bSleep(th *thread, p pos, a []value) (value, error) {
	if err := noSec(th, "sleep"); err != nil {
		return nil, err
	}
	t, err := argNum(a[0], "t", 0)
	if err != nil {
		return nil, err
	}
	if t < 0 {
		return nil, fmt.Errorf("sleep time %g < 0", t)
	}
	c := th.c
	end := c.t + t
	th.yield()
	th.waitFor(func() bool { return c.t >= end-1e-9 })
	return nil, nil
}

func bSync(th *thread, p pos, a []value) (value, error) {
	if err := noSec(th, "sync"); err != nil {
		return nil, err
	}
	th.yield()
	return nil, nil
}

func bSetTCP(th *thread, p pos, a []value) (value, error) {
	x, err := argPose(a[0], "pose")
	if err != nil {
		return nil, err
	}
	if x.P.Norm() > 1 {
		return nil, fmt.Errorf("TCP offset %.3f m is implausible (> 1 m)", x.P.Norm())
	}
	th.c.setTCP(x)
	return nil, nil
}

func bPopup(th *thread, p pos, a []value) (value, error) {
	title := "Popup"
	if a[1] != nil {
		title = formatValue(a[1])
	}
	blocking := false
	if a[4] != nil {
		b, err := argBool(a[4], "blocking")
		if err != nil {
			return nil, err
		}
		blocking = b
	}
	c := th.c
	c.emit(evPopup, p.line, p.col, "%s: %s", title, formatValue(a[0]))
	c.popupOpen = true
	if blocking {
		if th.prog.sec {
			return nil, fmt.Errorf("a blocking popup is not allowed in a secondary program")
		}
		th.waitFor(func() bool { return !c.popupOpen })
	}
	return nil, nil
}

// I/O banks.
type ioBank struct {
	name string
	n    int
	out  func(c *controller) *uint8
	in   func(c *controller) *uint8
}

var (
	ioStd  = ioBank{"standard", 8, func(c *controller) *uint8 { return &c.stdDO }, func(c *controller) *uint8 { return &c.stdDI }}
	ioConf = ioBank{"configurable", 8, func(c *controller) *uint8 { return &c.confDO }, func(c *controller) *uint8 { return &c.confDI }}
	ioTool = ioBank{"tool", 2, func(c *controller) *uint8 { return &c.toolDO }, func(c *controller) *uint8 { return &c.toolDI }}
)

func bSetDO(b *ioBank) func(th *thread, p pos, a []value) (value, error) {
	return func(th *thread, p pos, a []value) (value, error) {
		n, err := argIndex(a[0], b.name+" digital output", b.n)
		if err != nil {
			return nil, err
		}
		on, err := argBool(a[1], "value")
		if err != nil {
			return nil, err
		}
		reg := b.out(th.c)
		if on {
			*reg |= 1 << n
		} else {
			*reg &^= 1 << n
		}
		return nil, nil
	}
}

func bGetDIO(b *ioBank, out bool) func(th *thread, p pos, a []value) (value, error) {
	return func(th *thread, p pos, a []value) (value, error) {
		n, err := argIndex(a[0], b.name+" digital I/O", b.n)
		if err != nil {
			return nil, err
		}
		reg := b.in(th.c)
		if out {
			reg = b.out(th.c)
		}
		return *reg&(1<<n) != 0, nil
	}
}

func bSetAO(th *thread, p pos, a []value) (value, error) {
	n, err := argIndex(a[0], "analog output", 2)
	if err != nil {
		return nil, err
	}
	f, err := argNum(a[1], "f", 0)
	if err != nil {
		return nil, err
	}
	if f < 0 || f > 1 {
		return nil, fmt.Errorf("analog output value %g outside [0, 1] (a fraction of the range)", f)
	}
	th.c.analogOut[n] = f
	return nil, nil
}

func bReadReg(dir, kind string) func(th *thread, p pos, a []value) (value, error) {
	return func(th *thread, p pos, a []value) (value, error) {
		c := th.c
		if kind == "bool" {
			n, err := argIndex(a[0], "address", 128)
			if err != nil {
				return nil, err
			}
			bits := c.inBits
			if dir == "out" {
				bits = c.outBits
			}
			return bits[n/64]&(1<<(n%64)) != 0, nil
		}
		n, err := argIndex(a[0], "address", rtde.NumRegisters)
		if err != nil {
			return nil, err
		}
		switch {
		case dir == "in" && kind == "int":
			return int64(c.inInt[n]), nil
		case dir == "in":
			return c.inDouble[n], nil
		case kind == "int":
			return int64(c.outInt[n]), nil
		}
		return c.outDouble[n], nil
	}
}

func bWriteReg(kind string) func(th *thread, p pos, a []value) (value, error) {
	return func(th *thread, p pos, a []value) (value, error) {
		c := th.c
		switch kind {
		case "bool":
			n, err := argIndex(a[0], "address", 128)
			if err != nil {
				return nil, err
			}
			b, err := argBool(a[1], "value")
			if err != nil {
				return nil, err
			}
			if b {
				c.outBits[n/64] |= 1 << (n % 64)
			} else {
				c.outBits[n/64] &^= 1 << (n % 64)
			}
			return nil, nil
		case "int":
			n, err := argIndex(a[0], "address", rtde.NumRegisters)
			if err != nil {
				return nil, err
			}
			v, err := argInt(a[1], "value")
			if err != nil {
				return nil, err
			}
			if v < math.MinInt32 || v > math.MaxInt32 {
				return nil, fmt.Errorf("value %d does not fit an int32 register", v)
			}
			c.outInt[n] = int32(v)
			return nil, nil
		}
		n, err := argIndex(a[0], "address", rtde.NumRegisters)
		if err != nil {
			return nil, err
		}
		f, err := argNum(a[1], "value", 0)
		if err != nil {
			return nil, err
		}
		c.outDouble[n] = f
		return nil, nil
	}
}

func bWatchdog(th *thread, p pos, a []value) (value, error) {
	name, ok := a[0].(string)
	if !ok {
		return nil, fmt.Errorf("variable_name must be a string")
	}
	if _, ok := rtde.InputFieldType(name); !ok {
		return nil, fmt.Errorf("rtde_set_watchdog: %q is not an RTDE input", name)
	}
	hz, err := argNum(a[1], "min_frequency", 0)
	if err != nil {
		return nil, err
	}
	if hz < 0 || hz > 500 {
		return nil, fmt.Errorf("min_frequency %g outside [0, 500]", hz)
	}
	action := "PAUSE"
	if a[2] != nil {
		s, ok := a[2].(string)
		if !ok {
			return nil, fmt.Errorf("action must be a string")
		}
		action = strings.ToUpper(s)
	}
	switch action {
	case "PAUSE", "STOP", "IGNORE":
	default:
		return nil, fmt.Errorf("watchdog action %q must be PAUSE, STOP or IGNORE", action)
	}
	th.c.watchdogs[name] = watchdog{minHz: hz, action: action}
	return nil, nil
}

func bFK(th *thread, p pos, a []value) (value, error) {
	c := th.c
	q := c.q
	if a[0] != nil {
		var err error
		if q, err = argQ(a[0], "q"); err != nil {
			return nil, err
		}
	}
	m := c.model
	if a[1] != nil {
		t, err := argPose(a[1], "tcp")
		if err != nil {
			return nil, err
		}
		m = m.WithTCP(t)
	}
	return toPoseVal(m.FK(q)), nil
}

func bIK(hasSolution bool) func(th *thread, p pos, a []value) (value, error) {
	return func(th *thread, p pos, a []value) (value, error) {
		c := th.c
		x, err := argPose(a[0], "pose")
		if err != nil {
			return nil, err
		}
		qn := c.q
		if a[1] != nil {
			if qn, err = argQ(a[1], "qnear"); err != nil {
				return nil, err
			}
		}
		m := c.model
		if a[4] != nil {
			t, err := argPose(a[4], "tcp")
			if err != nil {
				return nil, err
			}
			m = m.WithTCP(t)
		}
		q, err := m.IKNear(x, qn)
		if hasSolution {
			return err == nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("no inverse kinematics solution: %v", err)
		}
		return qList(q), nil
	}
}

func bWithinLimits(th *thread, p pos, a []value) (value, error) {
	c := th.c
	if pv, ok := a[0].(poseVal); ok {
		_, err := c.ikTCP(fromPoseVal(pv), c.q)
		return err == nil, nil
	}
	q, err := argQ(a[0], "pose")
	if err != nil {
		return nil, err
	}
	for j := range q {
		if q[j] < c.qMin[j] || q[j] > c.qMax[j] {
			return false, nil
		}
	}
	return true, nil
}
