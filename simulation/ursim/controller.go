package ursim

import (
	"fmt"
	"math"
	"time"

	"github.com/golang/geo/r3"

	"fabcell/robot/ur/kin"
	"fabcell/robot/ur/rtde"
	"fabcell/simulation/geom"
)

// dt is the control period of the e-Series real-time loop (500 Hz, spec §1
// "Rate").
const dt = 0.002

// Joint modes (UR Client Library datatypes.h) used in joint_mode.
const (
	jointModePowerOff = 239
	jointModeRunning  = 253
	jointModeIdle     = 255
)

// event is something the controller reports to clients: textmsg output,
// popups, runtime exceptions, safety events.
type event struct {
	kind      eventKind
	text      string
	line, col int
	t         float64
}

type eventKind uint8

const (
	evText eventKind = iota
	evPopup
	evRuntimeException
	evSafety
)

// controller is the simulated robot and its controller state. Every field
// is owned by whoever holds Sim.mu; the program thread runs only while the
// control loop holds it.
type controller struct {
	opts *Options

	t    float64 // controller time, s since start (RTDE timestamp)
	tick uint64

	robotMode     rtde.RobotMode
	safetyMode    rtde.SafetyMode
	runtime       rtde.RuntimeState
	pendingMode   rtde.RobotMode // mode reached at pendingAt (0 = none)
	pendingAt     float64
	releaseAfter  bool // power on, then release the brakes
	psAt          float64
	psReason      string
	estop         bool
	remote        bool
	speedFraction float64 // speed slider (target_speed_fraction)
	speedScaling  float64 // trajectory speed scaling of the last cycle (1 = none)

	model   *kin.Model // UR5e with the current TCP
	tcp     geom.Pose  // flange → TCP (set_tcp)
	qMin    [6]float64
	qMax    [6]float64
	q, qd   [6]float64
	qdd     [6]float64
	prevTCP geom.Pose
	tcpVel  [6]float64
	elbow   r3.Vector
	elbowV  r3.Vector

	ex executor

	// I/O
	stdDO, confDO, toolDO uint8
	stdDI, confDI, toolDI uint8
	analogOut             [2]float64 // fraction of range, 0..1
	analogDomain          [2]uint8   // 0 current, 1 voltage
	toolVoltage           int32
	payloadKG             float64
	payloadCOG            [3]float64

	// RTDE registers
	inInt     [rtde.NumRegisters]int32
	inDouble  [rtde.NumRegisters]float64
	inBits    [2]uint64 // bit registers 0..127
	outInt    [rtde.NumRegisters]int32
	outDouble [rtde.NumRegisters]float64
	outBits   [2]uint64
	inputSeen map[string]float64 // sim time of the last RTDE write per input field
	watchdogs map[string]watchdog

	// programs
	thread      *thread
	progName    string
	progEnding  bool // thread finished, waiting for the motion to end
	loaded      *program
	loadedPath  string
	pendingProg *program // received, starts at the next cycle
	pendingSecs []*program
	scriptLine  uint32
	popupOpen   bool

	// dashboard settings: operational mode (MANUAL, AUTOMATIC, or NONE
	// when no mode password is set), whether the dashboard controls it
	// ("set operational mode" until "clear operational mode"), and the
	// loaded installation file
	opMode           string
	opModeControlled bool
	installation     string

	events  []event
	execDur time.Duration
}

type watchdog struct {
	minHz  float64
	action string // PAUSE, STOP, IGNORE
}

func newController(o *Options) *controller {
	c := &controller{opts: o, safetyMode: rtde.SafetyNormal, runtime: rtde.RuntimeStopped,
		speedFraction: 1, speedScaling: 1, remote: !o.LocalMode, inputSeen: map[string]float64{}, watchdogs: map[string]watchdog{},
		opMode: operationalModeNone}
	c.model = kin.UR5e()
	c.qMin, c.qMax = c.model.Limits()
	if o.JointMinRad != nil {
		c.qMin = *o.JointMinRad
	}
	if o.JointMaxRad != nil {
		c.qMax = *o.JointMaxRad
	}
	if m, err := c.model.WithLimits(c.qMin, c.qMax); err == nil {
		c.model = m
	}
	c.tcp = geom.IdentityPose()
	c.q = o.InitialQRad
	c.robotMode = rtde.RobotModePowerOff
	if o.Ready {
		c.robotMode = rtde.RobotModeRunning
	}
	c.prevTCP = c.model.FK(c.q)
	c.ex.nextID, c.ex.doneID = 0, 0
	return c
}

func (c *controller) emit(k eventKind, line, col int, format string, args ...any) {
	if len(c.events) > 1000 { // nobody drains: keep the newest
		c.events = c.events[500:]
	}
	c.events = append(c.events, event{kind: k, text: fmt.Sprintf(format, args...), line: line, col: col, t: c.t})
}

// canMove: powered, brakes released, no safety stop.
func (c *controller) canMove() bool {
	return c.robotMode == rtde.RobotModeRunning && c.safetyMode == rtde.SafetyNormal
}

// step advances the controller by one control cycle.
func (c *controller) step() {
	c.t += dt
	c.tick++
	if c.pendingMode != 0 && c.t >= c.pendingAt {
		c.robotMode = c.pendingMode
		c.pendingMode = 0
		if c.robotMode == rtde.RobotModeIdle && c.releaseAfter {
			c.releaseAfter = false
			c.pendingMode, c.pendingAt = rtde.RobotModeRunning, c.t+c.opts.BrakeReleaseDelay.Seconds()
		}
	}
	c.checkWatchdogs()
	// secondary programs run to completion within the cycle
	for _, p := range c.pendingSecs {
		c.runSecondary(p)
	}
	c.pendingSecs = nil
	if c.pendingProg != nil {
		c.startThread(c.pendingProg)
		c.pendingProg = nil
	}
	if c.thread != nil && !c.progEnding && c.runtime == rtde.RuntimePlaying && c.canMove() {
		if !c.thread.step() {
			c.threadEnded()
		}
	}
	c.stepMotion()
	if c.progEnding && c.ex.idle() {
		c.progEnding = false
		c.thread = nil
		c.runtime = rtde.RuntimeStopped
	}
}

func (c *controller) startThread(p *program) {
	c.killThread()
	if !c.remote {
		c.emit(evRuntimeException, 0, 0, "cannot start program %s: robot is in Local control; switch to Remote Control", p.name)
		return
	}
	if !c.canMove() {
		c.emit(evRuntimeException, 0, 0, "cannot start program %s: robot mode %s, safety mode %s (power on, release the brakes and clear stops first)", p.name, c.robotMode, c.safetyMode)
		return
	}
	c.ex.clear()
	c.thread = newThread(c, p)
	c.thread.start()
	c.progName = p.name
	c.runtime = rtde.RuntimePlaying
	c.emit(evText, 0, 0, "program %s started", p.name)
}

func (c *controller) runSecondary(p *program) {
	th := newThread(c, p)
	th.start()
	alive := th.step()
	if alive {
		th.kill()
		c.emit(evRuntimeException, th.line, 0, "secondary program %s tried to wait or move; sec programs may only set I/O and variables", p.name)
		return
	}
	if th.err != nil {
		c.reportError(p.name, th.err)
	}
}

func (c *controller) reportError(name string, err error) {
	if se, ok := err.(*ScriptError); ok {
		c.emit(evRuntimeException, se.Line, se.Col, "%s: %s", name, se.Msg)
		return
	}
	c.emit(evRuntimeException, 0, 0, "%s: %v", name, err)
}

// threadEnded handles the end of the program thread.
func (c *controller) threadEnded() {
	th := c.thread
	if th.err != nil && th.err != errAborted {
		c.reportError(th.prog.name, th.err)
		c.ex.stop(stopDecel)
		c.thread = nil
		c.runtime = rtde.RuntimeStopped
		c.ex.clear()
		return
	}
	if c.ex.mode == modeSpeedJ || c.ex.mode == modeSpeedL {
		c.ex.stop(c.ex.velA) // a velocity command does not outlive its program
	}
	c.progEnding = true // wait for the last (blended) motion
}

// stopDecel is the deceleration of a program stop (path units/s²).
const stopDecel = 4.0

func (c *controller) killThread() {
	if c.thread != nil {
		c.thread.kill()
		c.thread = nil
	}
	c.progEnding = false
}

// stopProgram stops the program (dashboard stop, new program, power off).
func (c *controller) stopProgram() bool {
	was := c.thread != nil
	c.killThread()
	c.ex.clear()
	c.runtime = rtde.RuntimeStopped
	return was
}

func (c *controller) protectiveStop(reason string) {
	if c.safetyMode == rtde.SafetyProtectiveStop {
		return
	}
	c.safetyMode = rtde.SafetyProtectiveStop
	c.psAt, c.psReason = c.t, reason
	c.ex.halt()
	c.qd, c.qdd = [6]float64{}, [6]float64{}
	if c.runtime == rtde.RuntimePlaying {
		c.runtime = rtde.RuntimePaused
	}
	c.emit(evSafety, 0, 0, "Protective stop: %s", reason)
}

func (c *controller) emergencyStop() {
	c.estop = true
	c.safetyMode = rtde.SafetyRobotEmergencyStop
	c.stopProgram()
	c.robotMode = rtde.RobotModePowerOff
	c.pendingMode = 0
	c.qd, c.qdd = [6]float64{}, [6]float64{}
	c.emit(evSafety, 0, 0, "Emergency stop")
}

func (c *controller) releaseEmergencyStop() {
	if c.estop {
		c.estop = false
		c.safetyMode = rtde.SafetyNormal
		c.emit(evSafety, 0, 0, "Emergency stop released")
	}
}

// stepMotion integrates one cycle of the active motion and runs the
// safety checks.
func (c *controller) stepMotion() {
	start := time.Now()
	defer func() { c.execDur = time.Since(start) }()
	qOld := c.q
	qNew := c.q
	c.speedScaling = 1
	// on a protective stop the executor goes back to where the arm
	// stopped (the previous cycle), so a resume continues from there
	before := c.ex
	stop := func(reason string) {
		c.ex = before
		c.protectiveStop(reason)
	}
	if c.canMove() {
		k := c.speedFraction
		if c.runtime == rtde.RuntimePaused {
			k = 0
		}
		ex := &c.ex
		switch ex.mode {
		case modePath:
			saved := *ex
			capSpeed := math.Inf(1)
			lim := c.opts.JointSpeedLimitRadS
			for attempt := 0; ; attempt++ {
				p, ok := ex.stepPath(dt, k, capSpeed)
				if !ok {
					break
				}
				if !p.cart {
					qNew = p.q
					break
				}
				q, err := c.ikTCP(p.x, c.q)
				if err != nil {
					stop(fmt.Sprintf("tool path not reachable (%v)", err))
					return
				}
				qNew = q
				v := maxSpeed(c.q, q)
				if v <= 0.98*lim || attempt == 4 {
					break
				}
				// slow down along the path so the fastest joint stays
				// under the limit (speed scaling)
				f := 0.95 * lim / v
				capSpeed = math.Min(capSpeed, math.Max(ex.sd, saved.sd)) * f
				c.speedScaling *= f
				*ex = saved
			}
		case modeSpeedJ:
			target := ex.velTarget
			if k != 1 {
				for j := range target {
					target[j] *= k
				}
			}
			ex.velCur = rampVel(ex.velCur, target, ex.velA, dt, false)
			for j := range qNew {
				qNew[j] += ex.velCur[j] * dt
			}
			if ex.velEnd && ex.velCur == [6]float64{} {
				ex.mode = modePath
				ex.velEnd = false
			}
		case modeSpeedL:
			target := ex.velTarget
			for j := range target {
				target[j] *= k
			}
			ex.velCur = rampVel(ex.velCur, target, ex.velA, dt, true)
			v := ex.velCur
			x := c.model.FK(c.q)
			x.P = x.P.Add(r3.Vector{X: v[0], Y: v[1], Z: v[2]}.Mul(dt))
			x.R = geom.FromRotVec(r3.Vector{X: v[3], Y: v[4], Z: v[5]}.Mul(dt)).Mul(x.R)
			q, err := c.model.IKNear(x, c.q)
			if err != nil {
				stop(fmt.Sprintf("speedl: tool pose not reachable (%v)", err))
				return
			}
			qNew = q
			if ex.velEnd && ex.velCur == [6]float64{} {
				ex.mode = modePath
				ex.velEnd = false
			}
		case modeServo:
			if ex.servoLeft > 0 && k > 0 {
				f := math.Min(1, dt*k/ex.servoLeft)
				for j := range qNew {
					qNew[j] += (ex.servoQ[j] - qNew[j]) * f
				}
				ex.servoLeft -= dt * k
			}
		}
	}
	// safety checks (real controller: violations are protective stops)
	for j := range qNew {
		if math.IsNaN(qNew[j]) || math.IsInf(qNew[j], 0) {
			stop(fmt.Sprintf("joint %d position is not finite", j))
			return
		}
		if (qNew[j] > c.qMax[j]+1e-9 && qNew[j] > qOld[j]) || (qNew[j] < c.qMin[j]-1e-9 && qNew[j] < qOld[j]) {
			stop(fmt.Sprintf("joint %d position limit violated (%.4f rad outside [%.4f, %.4f])", j, qNew[j], c.qMin[j], c.qMax[j]))
			return
		}
		if v := math.Abs(qNew[j]-qOld[j]) / dt; v > c.opts.JointSpeedLimitRadS*(1+1e-9)+1e-9 {
			stop(fmt.Sprintf("joint %d speed limit exceeded (%.3f rad/s > %.3f rad/s)", j, v, c.opts.JointSpeedLimitRadS))
			return
		}
	}
	x := c.model.FK(qNew)
	lin := x.P.Sub(c.prevTCP.P).Mul(1 / dt)
	if lim := c.opts.TCPSpeedLimitMS; lim > 0 && lin.Norm() > lim {
		stop(fmt.Sprintf("tool speed limit exceeded (%.3f m/s > %.3f m/s)", lin.Norm(), lim))
		return
	}
	ang := x.R.Mul(c.prevTCP.R.T()).RotVec().Mul(1 / dt)
	c.tcpVel = [6]float64{lin.X, lin.Y, lin.Z, ang.X, ang.Y, ang.Z}
	c.prevTCP = x
	var qd [6]float64
	for j := range qd {
		qd[j] = (qNew[j] - qOld[j]) / dt
		c.qdd[j] = (qd[j] - c.qd[j]) / dt
	}
	c.q, c.qd = qNew, qd
	fr := c.model.Frames(qNew)
	el := fr[3].P
	c.elbowV = el.Sub(c.elbow).Mul(1 / dt)
	c.elbow = el
}

func maxSpeed(q0, q1 [6]float64) float64 {
	m := 0.0
	for j := range q0 {
		m = math.Max(m, math.Abs(q1[j]-q0[j])/dt)
	}
	return m
}

// ikTCP solves the IK for a base → TCP pose near qNear.
func (c *controller) ikTCP(x geom.Pose, qNear [6]float64) ([6]float64, error) {
	return c.model.IKNear(x, qNear)
}

// setTCP changes the TCP (flange → TCP, metres).
func (c *controller) setTCP(t geom.Pose) {
	c.tcp = t
	c.model = c.model.WithTCP(t)
	c.prevTCP = c.model.FK(c.q)
}

// pathEnd returns the joint configuration where the queued path ends (the
// start of the next move).
func (c *controller) pathEnd() [6]float64 {
	q := c.q
	for _, s := range c.ex.segs {
		e := s.end()
		if e.cart {
			if qq, err := c.ikTCP(e.x, q); err == nil {
				q = qq
			}
		} else {
			q = e.q
		}
	}
	return q
}

func (c *controller) checkWatchdogs() {
	for field, w := range c.watchdogs {
		if w.action == "IGNORE" || w.minHz <= 0 {
			continue
		}
		last, ok := c.inputSeen[field]
		if !ok {
			continue // armed by the first update
		}
		if c.t-last > 1/w.minHz && c.runtime == rtde.RuntimePlaying {
			c.emit(evRuntimeException, 0, 0, "RTDE input watchdog: %s not updated for %.3f s (minimum %g Hz)", field, c.t-last, w.minHz)
			delete(c.watchdogs, field)
			if w.action == "STOP" {
				c.stopProgram()
			} else {
				c.runtime = rtde.RuntimePaused
			}
		}
	}
}

// robotStatusBits: bit 0 power on, 1 program running.
func (c *controller) robotStatusBits() uint32 {
	var b uint32
	if c.robotMode >= rtde.RobotModePowerOn && c.robotMode != rtde.RobotModeUpdatingFirmware {
		b |= 1
	}
	if c.runtime == rtde.RuntimePlaying {
		b |= 2
	}
	return b
}

// safetyStatusBits follows UR's bit layout: 0 normal, 1 reduced,
// 2 protective stopped, 3 recovery, 4 safeguard stopped, 5 system
// emergency stopped, 6 robot emergency stopped, 7 emergency stopped,
// 8 violation, 9 fault, 10 stopped due to safety.
func (c *controller) safetyStatusBits() uint32 {
	switch c.safetyMode {
	case rtde.SafetyNormal:
		return 1
	case rtde.SafetyReduced:
		return 1 << 1
	case rtde.SafetyProtectiveStop:
		return 1<<2 | 1<<10
	case rtde.SafetyRecovery:
		return 1 << 3
	case rtde.SafetySafeguardStop:
		return 1<<4 | 1<<10
	case rtde.SafetySystemEmergencyStop:
		return 1<<5 | 1<<7 | 1<<10
	case rtde.SafetyRobotEmergencyStop:
		return 1<<6 | 1<<7 | 1<<10
	case rtde.SafetyViolation:
		return 1<<8 | 1<<10
	case rtde.SafetyFault:
		return 1<<9 | 1<<10
	}
	return 0
}

func (c *controller) jointMode() int32 {
	switch c.robotMode {
	case rtde.RobotModeRunning:
		return jointModeRunning
	case rtde.RobotModeIdle, rtde.RobotModePowerOn:
		return jointModeIdle
	}
	return jointModePowerOff
}
