// Package ursim is fabcell's UR5e controller simulator. It serves the
// controller's real protocols on TCP — RTDE (30004, spec robot-protocols.md
// §1), the Dashboard server (29999) and the secondary client interface
// (30002, §2) — so the same client code talks to the simulator and to a
// robot, and UR's own clients can connect to it.
//
// The control loop runs at 500 Hz (dt = 2 ms, e-Series): it runs the
// URScript program thread until it waits (sync, sleep, motion), integrates
// the active motion (movej/movel/movep with blends, speedj/speedl, servoj,
// stopj/stopl), checks joint position and speed limits (a violation is a
// protective stop, like the real controller), updates robot mode, safety
// mode and runtime state, and publishes the state to RTDE clients at their
// requested frequency and to secondary clients at 10 Hz. Kinematics are
// robot/ur/kin's UR5e model; actual_TCP_pose is its forward kinematics
// with the set_tcp offset.
//
// Time: with Options.Manual the loop does not run by itself and tests call
// Step (deterministic); otherwise it is paced by the wall clock, scaled by
// Options.TimeScale. The simulated arm tracks its set-point perfectly
// (actual = target); it has no dynamics, contact or force model.
package ursim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"fabcell/robot/ur/rtde"
)

// Options configure the simulator. Zero values mean the defaults.
type Options struct {
	// Listen addresses. Default 127.0.0.1 with UR's ports (30004, 29999,
	// 30002); use "127.0.0.1:0" in tests. "-" disables a server.
	RTDEAddr, DashboardAddr, ScriptAddr string
	// TimeScale is simulated seconds per wall-clock second (default 1).
	TimeScale float64
	// Manual: no real-time loop; advance time with Step.
	Manual bool
	// Ready starts the robot powered on with brakes released (RUNNING);
	// otherwise it starts in POWER_OFF like a freshly booted controller.
	Ready bool
	// LocalMode starts the pendant in Local control: dashboard commands
	// that change state and external scripts are refused.
	LocalMode bool
	// InitialQRad is the start configuration (default UR home-like
	// [0, −π/2, π/2, −π/2, −π/2, 0]).
	InitialQRad [6]float64
	// JointMinRad/JointMaxRad override the ±2π joint limits.
	JointMinRad, JointMaxRad *[6]float64
	// JointSpeedLimitRadS: default π (180°/s, UR5e).
	JointSpeedLimitRadS float64
	// TCPSpeedLimitMS: tool speed limit; 0 = not checked.
	TCPSpeedLimitMS float64
	// UnlockDelay: how long after a protective stop it can be unlocked
	// (default 5 s controller time, as on the real robot).
	UnlockDelay time.Duration
	// PowerOnDelay, BrakeReleaseDelay: controller time of the transitions
	// (default 0.5 s each).
	PowerOnDelay, BrakeReleaseDelay time.Duration
	// ProgramDir is where dashboard "load" finds programs (URScript
	// .script files). Empty: load always answers "File not found".
	ProgramDir string
	// Version is reported on RTDE and the secondary interface (default
	// 5.21.0.0).
	Version rtde.ControllerVersion
	// SerialNumber for "get serial number" (default "20255500001").
	SerialNumber string
	// Logger receives connection and protocol events (default
	// slog.Default()).
	Logger *slog.Logger
}

func (o *Options) defaults() error {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&o.RTDEAddr, "127.0.0.1:30004")
	def(&o.DashboardAddr, "127.0.0.1:29999")
	def(&o.ScriptAddr, "127.0.0.1:30002")
	def(&o.SerialNumber, "20255500001")
	if o.TimeScale == 0 {
		o.TimeScale = 1
	}
	if !(o.TimeScale > 0 && o.TimeScale <= 100) {
		return fmt.Errorf("ursim: time scale %v outside (0, 100]", o.TimeScale)
	}
	if o.InitialQRad == [6]float64{} {
		o.InitialQRad = [6]float64{0, -math.Pi / 2, math.Pi / 2, -math.Pi / 2, -math.Pi / 2, 0}
	}
	if o.JointSpeedLimitRadS == 0 {
		o.JointSpeedLimitRadS = math.Pi
	}
	if o.UnlockDelay == 0 {
		o.UnlockDelay = 5 * time.Second
	}
	if o.PowerOnDelay == 0 {
		o.PowerOnDelay = 500 * time.Millisecond
	}
	if o.BrakeReleaseDelay == 0 {
		o.BrakeReleaseDelay = 500 * time.Millisecond
	}
	if o.Version == (rtde.ControllerVersion{}) {
		o.Version = rtde.ControllerVersion{Major: 5, Minor: 21, Bugfix: 0, Build: 0}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	for j, q := range o.InitialQRad {
		if math.IsNaN(q) || math.Abs(q) > 2*math.Pi {
			return fmt.Errorf("ursim: initial joint %d = %v rad outside ±2π", j, q)
		}
	}
	if o.ProgramDir != "" {
		if st, err := os.Stat(o.ProgramDir); err != nil || !st.IsDir() {
			return fmt.Errorf("ursim: program directory %q is not a directory", o.ProgramDir)
		}
	}
	return nil
}

// Sim is a running simulator.
type Sim struct {
	opts Options
	log  *slog.Logger

	mu sync.Mutex // guards c and the connection sets
	c  *controller

	lnRTDE, lnDash, lnScript net.Listener

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	rtdeConns map[*rtdeConn]struct{}
	secConns  map[*secConn]struct{}
	dashConns map[net.Conn]struct{}
	owner     map[string]*rtdeConn // RTDE input field → owning connection
	history   []event              // recent events, for Messages
	down      bool                 // dashboard "shutdown" ran

	closeOnce sync.Once
}

// Start listens on the configured addresses and, unless Manual, starts
// the control loop.
func Start(opts Options) (*Sim, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	s := &Sim{opts: opts, log: opts.Logger.With("sim", "ursim"), rtdeConns: map[*rtdeConn]struct{}{},
		secConns: map[*secConn]struct{}{}, dashConns: map[net.Conn]struct{}{}, owner: map[string]*rtdeConn{}}
	s.c = newController(&s.opts)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	listen := func(addr string) (net.Listener, error) {
		if addr == "-" {
			return nil, nil
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("ursim: listen %s: %w", addr, err)
		}
		return ln, nil
	}
	var err error
	if s.lnRTDE, err = listen(opts.RTDEAddr); err != nil {
		s.closeListeners()
		return nil, err
	}
	if s.lnDash, err = listen(opts.DashboardAddr); err != nil {
		s.closeListeners()
		return nil, err
	}
	if s.lnScript, err = listen(opts.ScriptAddr); err != nil {
		s.closeListeners()
		return nil, err
	}
	if s.lnRTDE != nil {
		s.goServe(s.lnRTDE, s.serveRTDE)
	}
	if s.lnDash != nil {
		s.goServe(s.lnDash, s.serveDashboard)
	}
	if s.lnScript != nil {
		s.goServe(s.lnScript, s.serveSecondary)
	}
	if !opts.Manual {
		s.wg.Add(1)
		go s.loop()
	}
	return s, nil
}

func (s *Sim) closeListeners() {
	for _, ln := range []net.Listener{s.lnRTDE, s.lnDash, s.lnScript} {
		if ln != nil {
			ln.Close()
		}
	}
}

func (s *Sim) goServe(ln net.Listener, handle func(net.Conn)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				if s.ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
					s.log.Error("accept failed", "addr", ln.Addr(), "err", err)
				}
				return
			}
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetNoDelay(true)
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				handle(conn)
			}()
		}
	}()
}

func addrOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// RTDEAddr, DashboardAddr and ScriptAddr return the bound addresses.
func (s *Sim) RTDEAddr() string      { return addrOf(s.lnRTDE) }
func (s *Sim) DashboardAddr() string { return addrOf(s.lnDash) }
func (s *Sim) ScriptAddr() string    { return addrOf(s.lnScript) }

// loop paces the control cycle by the wall clock. When it falls behind
// (a stalled machine), it runs the missed cycles back to back; RTDE
// clients then receive only the newest package of each burst, as on a
// controller short of CPU (spec §1 "Rate").
func (s *Sim) loop() {
	defer s.wg.Done()
	period := time.Duration(float64(2*time.Millisecond) / s.opts.TimeScale)
	timer := time.NewTimer(period)
	defer timer.Stop()
	next := time.Now()
	for {
		next = next.Add(period)
		s.Step(1)
		wait := time.Until(next)
		if wait <= 0 {
			if -wait > 250*time.Millisecond { // far behind: resynchronise
				next = time.Now()
			}
			select {
			case <-s.ctx.Done():
				return
			default:
			}
			continue
		}
		timer.Reset(wait)
		select {
		case <-s.ctx.Done():
			return
		case <-timer.C:
		}
	}
}

// Step runs n control cycles (2 ms of controller time each) and publishes
// the state after each. With Options.Manual it is the only way time
// advances; otherwise the loop calls it.
func (s *Sim) Step(n int) {
	for i := 0; i < n; i++ {
		s.mu.Lock()
		s.c.step()
		s.publishLocked()
		s.mu.Unlock()
	}
}

// Close stops the loop and every connection and waits for all goroutines
// (program threads included).
func (s *Sim) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.closeListeners()
		s.mu.Lock()
		s.closeConnsLocked()
		s.mu.Unlock()
		s.wg.Wait()
		s.mu.Lock()
		s.c.killThread()
		s.mu.Unlock()
	})
	return nil
}

// --- state access and fault injection for tests and tools ---

// State is a snapshot of the simulated controller.
type State struct {
	TimeS         float64
	RobotMode     rtde.RobotMode
	SafetyMode    rtde.SafetyMode
	Runtime       rtde.RuntimeState
	QRad, QDRadS  [6]float64
	TCPPose       [6]float64 // m, rotation vector (base frame)
	StdDO, ToolDO uint8
	ConfDO        uint8
	AnalogOut     [2]float64
	OutInt        [rtde.NumRegisters]int32
	OutDouble     [rtde.NumRegisters]float64
	Program       string
	ProtectiveWhy string
	ScriptLine    uint32
	// ShutDown: the dashboard "shutdown" command ran (nothing listens).
	ShutDown bool
	// OperationalMode: MANUAL, AUTOMATIC or NONE (dashboard
	// "get operational mode").
	OperationalMode string
}

// State returns the current state.
func (s *Sim) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.c
	st := State{TimeS: c.t, RobotMode: c.robotMode, SafetyMode: c.safetyMode, Runtime: c.runtime,
		QRad: c.q, QDRadS: c.qd, TCPPose: [6]float64(toPoseVal(c.model.FK(c.q))), StdDO: c.stdDO, ToolDO: c.toolDO,
		ConfDO: c.confDO, AnalogOut: c.analogOut, OutInt: c.outInt, OutDouble: c.outDouble,
		Program: c.progName, ScriptLine: c.scriptLine, ShutDown: s.down, OperationalMode: c.opMode}
	if c.safetyMode == rtde.SafetyProtectiveStop {
		st.ProtectiveWhy = c.psReason
	}
	return st
}

// ProtectiveStop triggers a protective stop (as if a collision was
// detected).
func (s *Sim) ProtectiveStop(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c.canMove() {
		s.c.protectiveStop(reason)
	}
}

// EmergencyStop presses the emergency stop: program stopped, arm powered
// off, safety mode ROBOT_EMERGENCY_STOP until ReleaseEmergencyStop.
func (s *Sim) EmergencyStop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c.emergencyStop()
}

// ReleaseEmergencyStop releases the button; the arm stays powered off.
func (s *Sim) ReleaseEmergencyStop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c.releaseEmergencyStop()
}

// SetRemoteControl switches the pendant between Remote and Local control.
// Like the real server, dashboard connections must reconnect to see the
// change; the simulator applies it at once.
func (s *Sim) SetRemoteControl(remote bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c.remote = remote
}

// SetDigitalInput sets standard digital input n (0..7).
func (s *Sim) SetDigitalInput(n int, on bool) error {
	if n < 0 || n > 7 {
		return fmt.Errorf("ursim: digital input %d outside 0..7", n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.c.stdDI |= 1 << n
	} else {
		s.c.stdDI &^= 1 << n
	}
	return nil
}

// DropConnections closes every client connection (a network fault); the
// listeners stay open so clients can reconnect.
func (s *Sim) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for rc := range s.rtdeConns {
		rc.conn.Close()
	}
	for sc := range s.secConns {
		sc.conn.Close()
	}
	for dc := range s.dashConns {
		dc.Close()
	}
}

// RunProgram compiles a URScript program and starts it at the next cycle,
// as if it had arrived on the secondary interface.
func (s *Sim) RunProgram(src string) error {
	prog, err := parseProgram(src)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.submitLocked(prog)
	return nil
}

func (s *Sim) submitLocked(prog *program) {
	if prog.sec {
		s.c.pendingSecs = append(s.c.pendingSecs, prog)
		return
	}
	s.c.pendingProg = prog
}

// resolveProgram maps a dashboard "load" argument to a file inside
// ProgramDir.
func (s *Sim) resolveProgram(name string) (string, error) {
	if s.opts.ProgramDir == "" {
		return "", os.ErrNotExist
	}
	root, err := filepath.Abs(s.opts.ProgramDir)
	if err != nil {
		return "", err
	}
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(root, p)
	}
	p = filepath.Clean(p)
	if p != root && !strings.HasPrefix(p, root+string(filepath.Separator)) {
		return "", os.ErrNotExist
	}
	return p, nil
}

// maxHistory bounds the event history kept for Messages.
const maxHistory = 256

// Message is something the controller reported: textmsg output, popups,
// runtime exceptions (with script line and column) and safety events.
type Message struct {
	Kind      string // "text", "popup", "runtime_exception" or "safety"
	Text      string
	Line, Col int
	TimeS     float64 // controller time
}

// Messages returns the most recent messages (at most 256), oldest first.
func (s *Sim) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.history))
	for i, ev := range s.history {
		out[i] = Message{Kind: [...]string{"text", "popup", "runtime_exception", "safety"}[ev.kind], Text: ev.text,
			Line: ev.line, Col: ev.col, TimeS: ev.t}
	}
	return out
}

var _ io.Closer = (*Sim)(nil)
