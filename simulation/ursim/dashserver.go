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
// of the real server (constants in robot/ur/dashboard). In Local control
// the state-changing commands answer "Command is not allowed due to
// safety reasons…".

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
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		reply, quit := s.dashboardCommand(line)
		if write(reply) != nil || quit {
			return
		}
	}
}

// dashboard commands allowed in Local control (read-only ones).
var localAllowed = map[string]bool{
	"running": true, "robotmode": true, "get loaded program": true, "programstate": true,
	"safetymode": true, "safetystatus": true, "is in remote control": true, "quit": true,
	"version": true, "polyscopeversion": true, "get serial number": true, "get robot model": true,
	"isprogramsaved": true, "addtolog": true,
}

func (s *Sim) dashboardCommand(line string) (reply string, quit bool) {
	cmd, arg := splitCommand(line)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.c
	if !c.remote && !localAllowed[cmd] {
		if isKnownDashboard(cmd) {
			return dashboard.ReplyNotAllowed, false
		}
	}
	fail := func() string { return dashboard.ReplyFailed + line }
	switch cmd {
	case "quit":
		return dashboard.ReplyDisconnected, true
	case "load":
		if arg == "" {
			return dashboard.ReplyFileNotFound, false
		}
		path, err := s.resolveProgram(arg)
		if err != nil {
			return dashboard.ReplyFileNotFound + arg, false
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return dashboard.ReplyFileNotFound + arg, false
		}
		if strings.EqualFold(filepath.Ext(path), ".urp") {
			s.log.Warn("dashboard load: .urp programs are not supported; use a URScript .script file", "file", path)
			return dashboard.ReplyLoadError + arg, false
		}
		prog, err := parseProgram(string(data))
		if err != nil {
			s.log.Warn("dashboard load: program does not compile", "file", path, "err", err)
			c.emit(evRuntimeException, 0, 0, "%s: %v", filepath.Base(path), err)
			return dashboard.ReplyLoadError + arg, false
		}
		c.stopProgram()
		c.loaded, c.loadedPath = prog, path
		return dashboard.ReplyLoading + path, false
	case "play":
		switch {
		case c.thread != nil && c.runtime == rtde.RuntimePaused && c.canMove():
			c.runtime = rtde.RuntimePlaying
			return dashboard.ReplyStarting, false
		case c.thread == nil && c.loaded != nil && c.canMove():
			c.startThread(c.loaded)
			c.progName = filepath.Base(c.loadedPath)
			return dashboard.ReplyStarting, false
		}
		return fail(), false
	case "stop":
		if c.thread != nil || c.runtime != rtde.RuntimeStopped {
			c.stopProgram()
			return dashboard.ReplyStopped, false
		}
		return fail(), false
	case "pause":
		if c.thread != nil && c.runtime == rtde.RuntimePlaying {
			c.runtime = rtde.RuntimePaused
			return dashboard.ReplyPausing, false
		}
		return fail(), false
	case "running":
		return dashboard.ReplyRunning + fmt.Sprint(c.runtime == rtde.RuntimePlaying), false
	case "robotmode":
		return dashboard.ReplyRobotmode + c.robotMode.String(), false
	case "get loaded program":
		if c.loaded == nil {
			return dashboard.ReplyNoProgram, false
		}
		return dashboard.ReplyLoaded + c.loadedPath, false
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
		return strings.TrimSpace(state + " " + name), false
	case "safetymode":
		return dashboard.ReplySafetymode + c.safetyMode.String(), false
	case "safetystatus":
		return dashboard.ReplySafetystatus + c.safetyMode.String(), false
	case "power on":
		if c.estop || c.safetyMode != rtde.SafetyNormal && c.safetyMode != rtde.SafetyReduced {
			return fail(), false
		}
		if c.robotMode == rtde.RobotModePowerOff {
			c.robotMode = rtde.RobotModePowerOn
			c.pendingMode, c.pendingAt = rtde.RobotModeIdle, c.t+s.opts.PowerOnDelay.Seconds()
		}
		return dashboard.ReplyPoweringOn, false
	case "power off":
		c.stopProgram()
		c.robotMode, c.pendingMode, c.releaseAfter = rtde.RobotModePowerOff, 0, false
		c.qd = [6]float64{}
		return dashboard.ReplyPoweringOff, false
	case "brake release":
		if c.estop || c.safetyMode != rtde.SafetyNormal && c.safetyMode != rtde.SafetyReduced {
			return fail(), false
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
		return dashboard.ReplyBrakeRelease, false
	case "unlock protective stop":
		if c.safetyMode == rtde.SafetyProtectiveStop {
			if c.t-c.psAt < s.opts.UnlockDelay.Seconds() {
				return dashboard.ReplyUnlockTooSoon, false
			}
			c.safetyMode = rtde.SafetyNormal
			c.emit(evSafety, 0, 0, "protective stop released")
		}
		return dashboard.ReplyUnlockPS, false
	case "close safety popup":
		return dashboard.ReplyCloseSafety, false
	case "restart safety":
		if c.estop {
			return fail(), false
		}
		c.stopProgram()
		c.safetyMode = rtde.SafetyNormal
		c.robotMode, c.pendingMode, c.releaseAfter = rtde.RobotModePowerOff, 0, false
		return dashboard.ReplyRestartSafety, false
	case "popup":
		c.emit(evPopup, 0, 0, "%s", arg)
		c.popupOpen = true
		return dashboard.ReplyShowPopup, false
	case "close popup":
		c.popupOpen = false
		return dashboard.ReplyClosePopup, false
	case "addtolog":
		if arg == "" {
			return "No log message to add", false
		}
		s.log.Info("dashboard addToLog", "msg", arg)
		return dashboard.ReplyAddedLog, false
	case "is in remote control":
		return fmt.Sprint(c.remote), false
	case "isprogramsaved":
		return "true " + c.progName, false
	case "version", "polyscopeversion":
		v := s.opts.Version
		return fmt.Sprintf("URSoftware %d.%d.%d.%d (fabcell ursim)", v.Major, v.Minor, v.Bugfix, v.Build), false
	case "get serial number":
		return s.opts.SerialNumber, false
	case "get robot model":
		return "UR5", false
	}
	return dashboard.ReplyNotUnderstood + line + "'", false
}

var dashCommands = []string{
	"unlock protective stop", "close safety popup", "get loaded program", "is in remote control",
	"get serial number", "get robot model", "restart safety", "brake release", "power on",
	"power off", "close popup", "load", "play", "stop", "pause", "quit", "running", "robotmode",
	"programstate", "safetymode", "safetystatus", "popup", "addtolog", "isprogramsaved", "version",
	"polyscopeversion",
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
