package safety

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"
)

// UR controller enumerations as reported over RTDE (spec
// robot-protocols.md §1 "Enumerations").
const (
	RobotModeNoController   = -1
	RobotModeDisconnected   = 0
	RobotModeConfirmSafety  = 1
	RobotModeBooting        = 2
	RobotModePowerOff       = 3
	RobotModePowerOn        = 4
	RobotModeIdle           = 5
	RobotModeBackdrive      = 6
	RobotModeRunning        = 7
	RobotModeUpdatingFirmwr = 8

	SafetyModeNormal                   = 1
	SafetyModeReduced                  = 2
	SafetyModeProtectiveStop           = 3
	SafetyModeRecovery                 = 4
	SafetyModeSafeguardStop            = 5
	SafetyModeSystemEmergencyStop      = 6
	SafetyModeRobotEmergencyStop       = 7
	SafetyModeViolation                = 8
	SafetyModeFault                    = 9
	SafetyModeValidateJointID          = 10
	SafetyModeUndefined                = 11
	SafetyModeAutomaticSafeguardStop   = 12
	SafetyModeThreePositionEnablingStp = 13

	RuntimeStopping = 0
	RuntimeStopped  = 1
	RuntimePlaying  = 2
	RuntimePausing  = 3
	RuntimePaused   = 4
	RuntimeResuming = 5
)

var robotModeNames = map[int32]string{
	-1: "NO_CONTROLLER", 0: "DISCONNECTED", 1: "CONFIRM_SAFETY", 2: "BOOTING", 3: "POWER_OFF",
	4: "POWER_ON", 5: "IDLE", 6: "BACKDRIVE", 7: "RUNNING", 8: "UPDATING_FIRMWARE",
}

var safetyModeNames = map[int32]string{
	1: "NORMAL", 2: "REDUCED", 3: "PROTECTIVE_STOP", 4: "RECOVERY", 5: "SAFEGUARD_STOP",
	6: "SYSTEM_EMERGENCY_STOP", 7: "ROBOT_EMERGENCY_STOP", 8: "VIOLATION", 9: "FAULT",
	10: "VALIDATE_JOINT_ID", 11: "UNDEFINED", 12: "AUTOMATIC_MODE_SAFEGUARD_STOP",
	13: "SYSTEM_THREE_POSITION_ENABLING_STOP",
}

// RobotModeName returns the UR name of a robot_mode value.
func RobotModeName(m int32) string {
	if n, ok := robotModeNames[m]; ok {
		return n
	}
	return fmt.Sprintf("ROBOT_MODE_%d", m)
}

// SafetyModeName returns the UR name of a safety_mode value.
func SafetyModeName(m int32) string {
	if n, ok := safetyModeNames[m]; ok {
		return n
	}
	return fmt.Sprintf("SAFETY_MODE_%d", m)
}

// RobotStatus is the part of the RTDE state the monitor needs.
type RobotStatus struct {
	RobotMode    int32
	SafetyMode   int32
	RuntimeState uint32
	// DigitalInputs is actual_digital_input_bits.
	DigitalInputs uint64
}

// Verdict is the monitor's decision about a running job.
type Verdict int

const (
	// Continue: the cell is in a state where motion may proceed.
	Continue Verdict = iota
	// Pause: stop at the next safe point; resume after recovery.
	Pause
	// Abort: stop now and save state; the job cannot resume automatically.
	Abort
)

func (v Verdict) String() string {
	switch v {
	case Continue:
		return "continue"
	case Pause:
		return "pause"
	case Abort:
		return "abort"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Assess maps a robot status to a verdict (protective stop → pause,
// emergency stop / violation / fault → abort, robot not running → pause,
// door open → pause, program paused on the robot (pendant or dashboard
// pause; runtime_state PAUSING/PAUSED) → pause until play) with the
// violation that explains it (nil when Continue).
func (g *Gate) Assess(st RobotStatus) (Verdict, *Violation) {
	if v, viol := g.assessCell(st); v != Continue {
		return v, viol
	}
	if st.RuntimeState == RuntimePausing || st.RuntimeState == RuntimePaused {
		return Pause, violation(RuleRuntime, "robot", math.NaN(), math.NaN(), "", "program paused on the robot (press play on the pendant or send the dashboard \"play\" to continue)")
	}
	return Continue, nil
}

// assessCell is Assess without the program's runtime state: the robot's
// modes and the door.
func (g *Gate) assessCell(st RobotStatus) (Verdict, *Violation) {
	switch st.SafetyMode {
	case SafetyModeNormal, SafetyModeReduced:
	case SafetyModeSystemEmergencyStop, SafetyModeRobotEmergencyStop, SafetyModeViolation, SafetyModeFault:
		return Abort, violation(RuleSafetyMode, "robot", math.NaN(), math.NaN(), "", SafetyModeName(st.SafetyMode))
	default:
		return Pause, violation(RuleSafetyMode, "robot", math.NaN(), math.NaN(), "", SafetyModeName(st.SafetyMode))
	}
	if st.RobotMode != RobotModeRunning {
		return Pause, violation(RuleRobotMode, "robot", math.NaN(), math.NaN(), "", RobotModeName(st.RobotMode)+" (want RUNNING)")
	}
	if g.s.DoorInterlock && st.DigitalInputs&(1<<uint(g.s.DoorInputBit)) == 0 {
		return Pause, violation(RuleDoor, fmt.Sprintf("digital input %d", g.s.DoorInputBit), math.NaN(), math.NaN(), "", "door open")
	}
	return Continue, nil
}

// ReadyToStart checks that a real robot may start a job: robot RUNNING,
// safety NORMAL, door closed, and (remote=true) the pendant in Remote
// Control. It returns the first violation.
func (g *Gate) ReadyToStart(st RobotStatus, remote bool) error {
	if st.SafetyMode != SafetyModeNormal {
		return violation(RuleSafetyMode, "start", math.NaN(), math.NaN(), "", SafetyModeName(st.SafetyMode)+" (want NORMAL)")
	}
	// (a program paused on the robot does not matter: fabcell starts its own)
	if v, viol := g.assessCell(st); v != Continue {
		return viol
	}
	if !remote {
		return violation(RuleRemote, "start", math.NaN(), math.NaN(), "", "robot is not in Remote Control mode")
	}
	return nil
}

// Watchdog stops motion when the controller loop stops kicking it. The
// clock is injectable for deterministic tests.
type Watchdog struct {
	timeout time.Duration
	now     func() time.Time
	mu      sync.Mutex
	last    time.Time
	stalls  int
}

// NewWatchdog returns a watchdog with the given timeout; now may be nil
// (time.Now).
func NewWatchdog(timeout time.Duration, now func() time.Time) *Watchdog {
	if now == nil {
		now = time.Now
	}
	return &Watchdog{timeout: timeout, now: now, last: now()}
}

// Kick records that the loop is alive.
func (w *Watchdog) Kick() {
	w.mu.Lock()
	w.last = w.now()
	w.mu.Unlock()
}

// Check returns a violation if the loop has not kicked within the timeout.
func (w *Watchdog) Check() *Violation {
	w.mu.Lock()
	defer w.mu.Unlock()
	if d := w.now().Sub(w.last); d > w.timeout {
		return violation(RuleWatchdog, "controller loop", d.Seconds(), w.timeout.Seconds(), "s", "loop stalled")
	}
	return nil
}

// Stalls returns how many times Run fired onStall.
func (w *Watchdog) Stalls() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stalls
}

// Run checks every timeout/4 until ctx ends and calls onStall (once per
// stall episode) when the loop has stalled.
func (w *Watchdog) Run(ctx context.Context, onStall func(*Violation)) {
	t := time.NewTicker(max(w.timeout/4, time.Millisecond))
	defer t.Stop()
	fired := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if v := w.Check(); v != nil {
				if !fired {
					fired = true
					w.mu.Lock()
					w.stalls++
					w.mu.Unlock()
					onStall(v)
				}
			} else {
				fired = false
			}
		}
	}
}
