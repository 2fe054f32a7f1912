package ursim

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"fabcell/robot/ur/dashboard"
	"fabcell/robot/ur/rtde"
)

// Dashboard server (port 29999, spec §2 "Dashboard commands"): one
// command per '\n'-terminated line, one reply line each, the reply texts
// of the real server (constants in robot/ur/dashboard, and below). Every
// line is answered — an empty line or an unknown command with
// "could not understand: '<line>'". Commands match case-insensitively.
// In Local control the state-changing commands answer "Command is not
// allowed due to safety reasons…". Implemented: load, play, stop, pause,
// quit, shutdown, running, robotmode, get loaded program, programState,
// isProgramSaved, safetymode, safetystatus, power on/off, brake release,
// unlock protective stop, close safety popup, restart safety, popup,
// close popup, addToLog, saveLog, is in remote control, get/set/clear
// operational mode, load installation, get serial number, get robot
// model, PolyscopeVersion, version. Not implemented (answered as not
// understood): generate flight report, generate support file, and the
// CB3-only setUserRole/getUserRole.

func (s *Sim) serveDashboard(conn net.Conn) {
	s.mu.Lock()
	s.dashConns[conn] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.dashConns, conn)
		s.mu.Unlock()
		conn.Close()
	}()
	write := func(line string) error {
		_ = conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
		_, err := io.WriteString(conn, line+"\n")
		return err
	}
	if write(dashboard.Greeting) != nil {
		return
	}
	br := bufio.NewReaderSize(conn, 4096)
	for {
		line, err := readLine(br)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.log.Warn("dashboard: closing connection", "client", conn.RemoteAddr().String(), "reason", err)
			}
			return
		}
		// An empty line is a command too: the server answers every line
		// (could not understand: ''), so a client waiting for a reply is
		// never left hanging.
		line = strings.TrimSpace(line)
		reply, act := s.dashboardCommand(line)
		if write(reply) != nil || act == dashQuit {
			return
		}
		if act == dashShutdown {
			s.shutdown()
			return
		}
	}
}

// dashAction is what the connection does after sending the reply.
type dashAction uint8

const (
	dashContinue dashAction = iota
	dashQuit                // "quit": close this connection
	dashShutdown            // "shutdown": the controller goes down
)

// Reply texts of PolyScope 5 dashboard commands that robot/ur/dashboard
// has no constant for (UR "Dashboard Server e-Series" command list; the
// UR Client Library's expected-reply regexes).
const (
	replyShuttingDown     = "Shutting down"
	replyNoLog            = "No log message to add"
	replyLogSaved         = "Log saved to disk"
	replyLoadingInstall   = "Loading installation: "
	replyFailedInstall    = "Failed to load installation: "
	replyOpModeSet        = "Operational mode '%s' is set"
	replyOpModeCleared    = "No longer controlling the operational mode. Current operational mode: '%s'."
	replyProgramNotSaved  = "false "
	replyProgramSaved     = "true "
	unnamedProgram        = "<unnamed>"
	operationalModeNone   = "NONE"
	operationalModeManual = "MANUAL"
	operationalModeAuto   = "AUTOMATIC"
)

// dashboard commands allowed in Local control (read-only ones).
var localAllowed = map[string]bool{
	"running": true, "robotmode": true, "get loaded program": true, "programstate": true,
	"safetymode": true, "safetystatus": true, "is in remote control": true, "quit": true,
	"version": true, "polyscopeversion": true, "get serial number": true, "get robot model": true,
	"isprogramsaved": true, "addtolog": true, "get operational mode": true, "savelog": true,
}

// dashboardCommand executes one command line (already trimmed) and returns
// the reply line and what the connection does next.
func (s *Sim) dashboardCommand(line string) (reply string, act dashAction) {
	cmd, arg := splitCommand(line)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.c
	if !c.remote && !localAllowed[cmd] {
		if isKnownDashboard(cmd) {
			return dashboard.ReplyNotAllowed, dashContinue
		}
	}
	return s.dashboardLocked(c, line, cmd, arg)
}

func (s *Sim) dashboardLocked(c *controller, line, cmd, arg string) (string, dashAction) {
	fail := func() string { return dashboard.ReplyFailed + line }
	switch cmd {
	case "quit":
		return dashboard.ReplyDisconnected, dashQuit
	case "shutdown":
		c.stopProgram()
		c.robotMode, c.pendingMode, c.releaseAfter = rtde.RobotModePowerOff, 0, false
		c.qd = [6]float64{}
		s.log.Warn("dashboard shutdown: the simulated controller shuts down (connections closed, listeners closed)")
		return replyShuttingDown, dashShutdown
	case "get operational mode":
		return c.opMode, dashContinue
	case "set operational mode":
		var mode string
		switch strings.ToLower(arg) {
		case "manual":
			mode = operationalModeManual
		case "automatic":
			mode = operationalModeAuto
		default:
			return fail(), dashContinue
		}
		c.opMode, c.opModeControlled = mode, true
		return fmt.Sprintf(replyOpModeSet, arg), dashContinue
	case "clear operational mode":
		c.opModeControlled = false
		return fmt.Sprintf(replyOpModeCleared, c.opMode), dashContinue
	case "load installation":
		if arg == "" {
			return dashboard.ReplyFileNotFound, dashContinue
		}
		path, err := s.resolveProgram(arg)
		if err != nil {
			return dashboard.ReplyFileNotFound + arg, dashContinue
		}
		if st, err := os.Stat(path); err != nil || st.IsDir() {
			return dashboard.ReplyFileNotFound + arg, dashContinue
		}
		if !strings.EqualFold(filepath.Ext(path), ".installation") || c.thread != nil {
			return replyFailedInstall + arg, dashContinue
		}
		c.installation = path
		return replyLoadingInstall + path, dashContinue
	case "savelog":
		s.log.Info("dashboard saveLog")
		return replyLogSaved, dashContinue
	case "load":
		if arg == "" {
			return dashboard.ReplyFileNotFound, dashContinue
		}
		path, err := s.resolveProgram(arg)
		if err != nil {
			return dashboard.ReplyFileNotFound + arg, dashContinue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return dashboard.ReplyFileNotFound + arg, dashContinue
		}
		if strings.EqualFold(filepath.Ext(path), ".urp") {
			s.log.Warn("dashboard load: .urp programs are not supported; use a URScript .script file", "file", path)
			return dashboard.ReplyLoadError + arg, dashContinue
		}
		prog, err := parseProgram(string(data))
		if err != nil {
			s.log.Warn("dashboard load: program does not compile", "file", path, "err", err)
			c.emit(evRuntimeException, 0, 0, "%s: %v", filepath.Base(path), err)
			return dashboard.ReplyLoadError + arg, dashContinue
		}
		c.stopProgram()
		c.loaded, c.loadedPath = prog, path
		return dashboard.ReplyLoading + path, dashContinue
	case "play":
		switch {
		case c.thread != nil && c.runtime == rtde.RuntimePaused && c.canMove():
			c.runtime = rtde.RuntimePlaying
			return dashboard.ReplyStarting, dashContinue
		case c.thread == nil && c.loaded != nil && c.canMove():
			c.startThread(c.loaded)
			c.progName = filepath.Base(c.loadedPath)
			return dashboard.ReplyStarting, dashContinue
		}
		return fail(), dashContinue
	case "stop":
		if c.thread != nil || c.runtime != rtde.RuntimeStopped {
			c.stopProgram()
			return dashboard.ReplyStopped, dashContinue
		}
		return fail(), dashContinue
	case "pause":
		if c.thread != nil && c.runtime == rtde.RuntimePlaying {
			c.runtime = rtde.RuntimePaused
			return dashboard.ReplyPausing, dashContinue
		}
		return fail(), dashContinue
	case "running":
		return dashboard.ReplyRunning + fmt.Sprint(c.runtime == rtde.RuntimePlaying), dashContinue
	case "robotmode":
		return dashboard.ReplyRobotmode + c.robotMode.String(), dashContinue
	case "get loaded program":
		if c.loaded == nil {
			return dashboard.ReplyNoProgram, dashContinue
		}
		return dashboard.ReplyLoaded + c.loadedPath, dashContinue
	case "programstate":
		state := "STOPPED"
		switch c.runtime {
		case rtde.RuntimePlaying:
			state = "PLAYING"
		case rtde.RuntimePaused:
			state = "PAUSED"
		}
		name := c.progName
		if c.thread == nil && c.loaded != nil {
			name = filepath.Base(c.loadedPath)
		}
		return strings.TrimSpace(state + " " + name), dashContinue
	case "safetymode":
		return dashboard.ReplySafetymode + c.safetyMode.String(), dashContinue
	case "safetystatus":
		return dashboard.ReplySafetystatus + c.safetyMode.String(), dashContinue
	case "power on":
		if c.estop || c.safetyMode != rtde.SafetyNormal && c.safetyMode != rtde.SafetyReduced {
			return fail(), dashContinue
		}
		if c.robotMode == rtde.RobotModePowerOff {
			c.robotMode = rtde.RobotModePowerOn
			c.pendingMode, c.pendingAt = rtde.RobotModeIdle, c.t+s.opts.PowerOnDelay.Seconds()
		}
		return dashboard.ReplyPoweringOn, dashContinue
	case "power off":
		c.stopProgram()
		c.robotMode, c.pendingMode, c.releaseAfter = rtde.RobotModePowerOff, 0, false
		c.qd = [6]float64{}
		return dashboard.ReplyPoweringOff, dashContinue
	case "brake release":
		if c.estop || c.safetyMode != rtde.SafetyNormal && c.safetyMode != rtde.SafetyReduced {
			return fail(), dashContinue
		}
		switch {
		case c.robotMode == rtde.RobotModePowerOff:
			c.robotMode = rtde.RobotModePowerOn
			c.pendingMode, c.pendingAt, c.releaseAfter = rtde.RobotModeIdle, c.t+s.opts.PowerOnDelay.Seconds(), true
		case c.robotMode == rtde.RobotModePowerOn:
			c.releaseAfter = true
		case c.robotMode == rtde.RobotModeIdle:
			c.pendingMode, c.pendingAt = rtde.RobotModeRunning, c.t+s.opts.BrakeReleaseDelay.Seconds()
		}
		return dashboard.ReplyBrakeRelease, dashContinue
	case "unlock protective stop":
		if c.safetyMode == rtde.SafetyProtectiveStop {
			if c.t-c.psAt < s.opts.UnlockDelay.Seconds() {
				return dashboard.ReplyUnlockTooSoon, dashContinue
			}
			c.safetyMode = rtde.SafetyNormal
			c.emit(evSafety, 0, 0, "protective stop released")
		}
		return dashboard.ReplyUnlockPS, dashContinue
	case "close safety popup":
		return dashboard.ReplyCloseSafety, dashContinue
	case "restart safety":
		if c.estop {
			return fail(), dashContinue
		}
		c.stopProgram()
		c.safetyMode = rtde.SafetyNormal
		c.robotMode, c.pendingMode, c.releaseAfter = rtde.RobotModePowerOff, 0, false
		return dashboard.ReplyRestartSafety, dashContinue
	case "popup":
		c.emit(evPopup, 0, 0, "%s", arg)
		c.popupOpen = true
		return dashboard.ReplyShowPopup, dashContinue
	case "close popup":
		c.popupOpen = false
		return dashboard.ReplyClosePopup, dashContinue
	case "addtolog":
		if arg == "" {
			return replyNoLog, dashContinue
		}
		s.log.Info("dashboard addToLog", "msg", arg)
		return dashboard.ReplyAddedLog, dashContinue
	case "is in remote control":
		return fmt.Sprint(c.remote), dashContinue
	case "isprogramsaved":
		// programs are loaded from files and never edited here: saved
		if c.loaded == nil {
			return replyProgramNotSaved + unnamedProgram, dashContinue
		}
		return replyProgramSaved + filepath.Base(c.loadedPath), dashContinue
	case "polyscopeversion":
		v := s.opts.Version
		return fmt.Sprintf("URSoftware %d.%d.%d.%d (fabcell ursim)", v.Major, v.Minor, v.Bugfix, v.Build), dashContinue
	case "version":
		v := s.opts.Version
		return fmt.Sprintf("%d.%d.%d.%d", v.Major, v.Minor, v.Bugfix, v.Build), dashContinue
	case "get serial number":
		return s.opts.SerialNumber, dashContinue
	case "get robot model":
		return "UR5", dashContinue
	}
	return dashboard.ReplyNotUnderstood + line + "'", dashContinue
}

// shutdown is the dashboard "shutdown": like a controller powering down,
// every client connection is closed and nothing listens any more (new
// connections are refused). The control loop keeps running (State stays
// readable) until Close.
func (s *Sim) shutdown() {
	s.closeListeners()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = true
	s.closeConnsLocked()
}

// closeConnsLocked closes every client connection; s.mu is held.
func (s *Sim) closeConnsLocked() {
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

var dashCommands = []string{
	"unlock protective stop", "close safety popup", "get loaded program", "is in remote control",
	"get serial number", "get robot model", "restart safety", "brake release", "power on",
	"power off", "close popup", "load", "play", "stop", "pause", "quit", "running", "robotmode",
	"programstate", "safetymode", "safetystatus", "popup", "addtolog", "isprogramsaved", "version",
	"polyscopeversion", "shutdown", "get operational mode", "set operational mode", "clear operational mode",
	"load installation", "savelog",
}

func isKnownDashboard(cmd string) bool {
	for _, c := range dashCommands {
		if c == cmd {
			return true
		}
	}
	return false
}

// splitCommand matches the longest known command prefix (case-insensitive)
// and returns it with the rest of the line.
func splitCommand(line string) (string, string) {
	lower := strings.ToLower(line)
	best := ""
	for _, c := range dashCommands {
		if (lower == c || strings.HasPrefix(lower, c+" ")) && len(c) > len(best) {
			best = c
		}
	}
	if best == "" {
		return lower, ""
	}
	return best, strings.TrimSpace(line[len(best):])
}
