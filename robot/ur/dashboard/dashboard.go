// Package dashboard is a client for the UR Dashboard Server (TCP port
// 29999): a line-based ASCII protocol, one '\n'-terminated command per
// line and one reply line each (spec robot-protocols.md §2 "Dashboard
// commands"). Replies are parsed into typed results; refusals become
// errors (ErrNotAllowed for Local-mode refusals, ErrFailed for
// "Failed to execute", ErrFileNotFound, …).
package dashboard

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"fabcell/robot/ur/rtde"
)

// Greeting is the first line the server sends.
const Greeting = "Connected: Universal Robots Dashboard Server"

// Reply texts of the UR dashboard server (spec §2; regexes of the UR
// Client Library). The simulator uses the same constants.
const (
	ReplyNotAllowed    = "Command is not allowed due to safety reasons, please switch robot to Remote Control mode and reconnect to port 29999"
	ReplyLoading       = "Loading program: "
	ReplyFileNotFound  = "File not found: "
	ReplyLoadError     = "Error while loading program: "
	ReplyStarting      = "Starting program"
	ReplyStopped       = "Stopped"
	ReplyPausing       = "Pausing program"
	ReplyFailed        = "Failed to execute: "
	ReplyDisconnected  = "Disconnected"
	ReplyRunning       = "Program running: "
	ReplyRobotmode     = "Robotmode: "
	ReplyLoaded        = "Loaded program: "
	ReplyNoProgram     = "No program loaded"
	ReplySafetymode    = "Safetymode: "
	ReplySafetystatus  = "Safetystatus: "
	ReplyPoweringOn    = "Powering on"
	ReplyPoweringOff   = "Powering off"
	ReplyBrakeRelease  = "Brake releasing"
	ReplyUnlockPS      = "Protective stop releasing"
	ReplyUnlockTooSoon = "Cannot unlock protective stop until 5s after occurrence. Always inspect cause of protective stop before unlocking"
	ReplyCloseSafety   = "closing safety popup"
	ReplyRestartSafety = "Restarting safety"
	ReplyShowPopup     = "showing popup"
	ReplyClosePopup    = "closing popup"
	ReplyAddedLog      = "Added log message"
	ReplyNotUnderstood = "could not understand: '"
)

// Errors wrapped by *ReplyError.
var (
	// ErrNotAllowed: the robot is in Local control; switch to Remote
	// Control and reconnect.
	ErrNotAllowed    = errors.New("dashboard: command not allowed (robot not in Remote Control mode)")
	ErrFailed        = errors.New("dashboard: command failed")
	ErrFileNotFound  = errors.New("dashboard: program file not found")
	ErrLoad          = errors.New("dashboard: error while loading program")
	ErrNotUnderstood = errors.New("dashboard: command not understood")
	ErrUnexpected    = errors.New("dashboard: unexpected reply")
	ErrTooSoon       = errors.New("dashboard: protective stop cannot be unlocked yet")
)

// ReplyError carries the command and the server's reply.
type ReplyError struct {
	Command string
	Reply   string
	Err     error
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("dashboard %q: %v: %q", e.Command, e.Err, e.Reply)
}
func (e *ReplyError) Unwrap() error { return e.Err }

// Client is a dashboard connection. Methods are safe for concurrent use;
// commands are serialised (the protocol is strictly request/reply).
type Client struct {
	mu   sync.Mutex
	conn net.Conn
	br   *bufio.Reader
	addr string
	// Timeout bounds each command when ctx has no deadline (default 5 s;
	// the real server can take a few seconds for load/power on).
	Timeout time.Duration
}

// Dial connects and reads the greeting.
func Dial(ctx context.Context, addr string) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dashboard: dial %s: %w", addr, err)
	}
	c := &Client{conn: conn, br: bufio.NewReaderSize(conn, 4096), addr: addr, Timeout: 5 * time.Second}
	line, err := c.readLine(ctx)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("dashboard: %s: reading greeting: %w", addr, err)
	}
	if !strings.HasPrefix(line, "Connected: ") {
		conn.Close()
		return nil, fmt.Errorf("dashboard: %s: unexpected greeting %q", addr, line)
	}
	return c, nil
}

func (c *Client) deadline(ctx context.Context) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		return dl
	}
	return time.Now().Add(c.Timeout)
}

func (c *Client) readLine(ctx context.Context) (string, error) {
	_ = c.conn.SetReadDeadline(c.deadline(ctx))
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	line, err := c.br.ReadString('\n')
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", err
	}
	if len(line) > 4096 {
		return "", fmt.Errorf("reply line of %d bytes", len(line))
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// Raw sends one command line and returns the reply line. The command must
// not contain line breaks. Local-mode refusals and "could not understand"
// become errors; other replies are returned as they are.
func (c *Client) Raw(ctx context.Context, cmd string) (string, error) {
	if strings.ContainsAny(cmd, "\r\n") {
		return "", fmt.Errorf("dashboard: command %q contains a line break", cmd)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return "", net.ErrClosed
	}
	_ = c.conn.SetWriteDeadline(c.deadline(ctx))
	if _, err := c.conn.Write([]byte(cmd + "\n")); err != nil {
		return "", fmt.Errorf("dashboard %q: %w", cmd, err)
	}
	reply, err := c.readLine(ctx)
	if err != nil {
		return "", fmt.Errorf("dashboard %q: %w", cmd, err)
	}
	switch {
	case strings.HasPrefix(reply, "Command is not allowed"):
		return reply, &ReplyError{cmd, reply, ErrNotAllowed}
	case strings.HasPrefix(reply, ReplyNotUnderstood):
		return reply, &ReplyError{cmd, reply, ErrNotUnderstood}
	}
	return reply, nil
}

// expect runs cmd and requires a reply starting with prefix.
func (c *Client) expect(ctx context.Context, cmd, prefix string) (string, error) {
	reply, err := c.Raw(ctx, cmd)
	if err != nil {
		return reply, err
	}
	if !strings.HasPrefix(reply, prefix) {
		return reply, classify(cmd, reply)
	}
	return reply, nil
}

func classify(cmd, reply string) error {
	switch {
	case strings.HasPrefix(reply, ReplyFailed):
		return &ReplyError{cmd, reply, ErrFailed}
	case strings.HasPrefix(reply, ReplyFileNotFound):
		return &ReplyError{cmd, reply, ErrFileNotFound}
	case strings.HasPrefix(reply, ReplyLoadError):
		return &ReplyError{cmd, reply, ErrLoad}
	case strings.HasPrefix(reply, "Cannot unlock protective stop"):
		return &ReplyError{cmd, reply, ErrTooSoon}
	}
	return &ReplyError{cmd, reply, ErrUnexpected}
}

func oneLine(what, s string) error {
	if s == "" || strings.ContainsAny(s, "\r\n") {
		return fmt.Errorf("dashboard: %s %q must be one non-empty line", what, s)
	}
	return nil
}

// Load loads a program file and returns the path the server reports.
func (c *Client) Load(ctx context.Context, program string) (string, error) {
	if err := oneLine("program", program); err != nil {
		return "", err
	}
	reply, err := c.expect(ctx, "load "+program, ReplyLoading)
	return strings.TrimPrefix(reply, ReplyLoading), err
}

// Play starts (or resumes) the loaded program.
func (c *Client) Play(ctx context.Context) error {
	_, err := c.expect(ctx, "play", ReplyStarting)
	return err
}

// Stop stops the program.
func (c *Client) Stop(ctx context.Context) error {
	_, err := c.expect(ctx, "stop", ReplyStopped)
	return err
}

// Pause pauses the program.
func (c *Client) Pause(ctx context.Context) error {
	_, err := c.expect(ctx, "pause", ReplyPausing)
	return err
}

// PowerOn powers the arm (robot mode → IDLE).
func (c *Client) PowerOn(ctx context.Context) error {
	_, err := c.expect(ctx, "power on", ReplyPoweringOn)
	return err
}

// PowerOff powers the arm off.
func (c *Client) PowerOff(ctx context.Context) error {
	_, err := c.expect(ctx, "power off", ReplyPoweringOff)
	return err
}

// BrakeRelease releases the brakes (robot mode → RUNNING).
func (c *Client) BrakeRelease(ctx context.Context) error {
	_, err := c.expect(ctx, "brake release", ReplyBrakeRelease)
	return err
}

// UnlockProtectiveStop clears a protective stop (allowed 5 s after it
// occurred; earlier it is ErrTooSoon).
func (c *Client) UnlockProtectiveStop(ctx context.Context) error {
	_, err := c.expect(ctx, "unlock protective stop", ReplyUnlockPS)
	return err
}

// CloseSafetyPopup closes the safety popup on the pendant.
func (c *Client) CloseSafetyPopup(ctx context.Context) error {
	_, err := c.expect(ctx, "close safety popup", ReplyCloseSafety)
	return err
}

// RestartSafety restarts the safety system (after a fault or violation).
func (c *Client) RestartSafety(ctx context.Context) error {
	_, err := c.expect(ctx, "restart safety", ReplyRestartSafety)
	return err
}

// Popup shows a text popup on the pendant.
func (c *Client) Popup(ctx context.Context, text string) error {
	if err := oneLine("popup text", text); err != nil {
		return err
	}
	_, err := c.expect(ctx, "popup "+text, ReplyShowPopup)
	return err
}

// ClosePopup closes the text popup.
func (c *Client) ClosePopup(ctx context.Context) error {
	_, err := c.expect(ctx, "close popup", ReplyClosePopup)
	return err
}

// AddToLog writes a line into the controller log.
func (c *Client) AddToLog(ctx context.Context, text string) error {
	if err := oneLine("log text", text); err != nil {
		return err
	}
	_, err := c.expect(ctx, "addToLog "+text, ReplyAddedLog)
	return err
}

// Running reports whether a program is running.
func (c *Client) Running(ctx context.Context) (bool, error) {
	reply, err := c.expect(ctx, "running", ReplyRunning)
	if err != nil {
		return false, err
	}
	return parseBool("running", reply, strings.TrimPrefix(reply, ReplyRunning))
}

// IsInRemoteControl reports whether the pendant is in Remote Control mode.
func (c *Client) IsInRemoteControl(ctx context.Context) (bool, error) {
	reply, err := c.Raw(ctx, "is in remote control")
	if err != nil {
		return false, err
	}
	return parseBool("is in remote control", reply, reply)
}

func parseBool(cmd, reply, s string) (bool, error) {
	switch strings.TrimSpace(strings.ToLower(s)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, &ReplyError{cmd, reply, ErrUnexpected}
}

// RobotMode returns the robot mode.
func (c *Client) RobotMode(ctx context.Context) (rtde.RobotMode, error) {
	reply, err := c.expect(ctx, "robotmode", ReplyRobotmode)
	if err != nil {
		return 0, err
	}
	m, ok := rtde.ParseRobotMode(strings.TrimSpace(strings.TrimPrefix(reply, ReplyRobotmode)))
	if !ok {
		return 0, &ReplyError{"robotmode", reply, ErrUnexpected}
	}
	return m, nil
}

// SafetyMode returns the safety mode ("safetymode").
func (c *Client) SafetyMode(ctx context.Context) (rtde.SafetyMode, error) {
	return c.safety(ctx, "safetymode", ReplySafetymode)
}

// SafetyStatus returns the safety status ("safetystatus", PolyScope 5.4+).
func (c *Client) SafetyStatus(ctx context.Context) (rtde.SafetyMode, error) {
	return c.safety(ctx, "safetystatus", ReplySafetystatus)
}

func (c *Client) safety(ctx context.Context, cmd, prefix string) (rtde.SafetyMode, error) {
	reply, err := c.expect(ctx, cmd, prefix)
	if err != nil {
		return 0, err
	}
	m, ok := rtde.ParseSafetyMode(strings.TrimSpace(strings.TrimPrefix(reply, prefix)))
	if !ok {
		return 0, &ReplyError{cmd, reply, ErrUnexpected}
	}
	return m, nil
}

// ProgramState is the "programState" reply.
type ProgramState struct {
	State   string // STOPPED, PLAYING or PAUSED
	Program string // loaded program name (may be empty)
}

// ProgramState returns the program state.
func (c *Client) ProgramState(ctx context.Context) (ProgramState, error) {
	reply, err := c.Raw(ctx, "programState")
	if err != nil {
		return ProgramState{}, err
	}
	state, name, _ := strings.Cut(reply, " ")
	switch state {
	case "STOPPED", "PLAYING", "PAUSED":
		return ProgramState{State: state, Program: strings.TrimSpace(name)}, nil
	}
	return ProgramState{}, &ReplyError{"programState", reply, ErrUnexpected}
}

// LoadedProgram returns the loaded program path ("" when none).
func (c *Client) LoadedProgram(ctx context.Context) (string, error) {
	reply, err := c.Raw(ctx, "get loaded program")
	if err != nil {
		return "", err
	}
	switch {
	case strings.HasPrefix(reply, ReplyLoaded):
		return strings.TrimPrefix(reply, ReplyLoaded), nil
	case strings.HasPrefix(reply, ReplyNoProgram):
		return "", nil
	}
	return "", &ReplyError{"get loaded program", reply, ErrUnexpected}
}

// RobotModel returns the model name ("UR5", …).
func (c *Client) RobotModel(ctx context.Context) (string, error) {
	return c.Raw(ctx, "get robot model")
}

// SerialNumber returns the controller serial number.
func (c *Client) SerialNumber(ctx context.Context) (string, error) {
	return c.Raw(ctx, "get serial number")
}

// PolyscopeVersion returns the "version" reply.
func (c *Client) PolyscopeVersion(ctx context.Context) (string, error) {
	return c.Raw(ctx, "version")
}

// Quit asks the server to close the connection, then closes it.
func (c *Client) Quit(ctx context.Context) error {
	_, err := c.expect(ctx, "quit", ReplyDisconnected)
	c.Close()
	return err
}

// Close closes the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}

var _ io.Closer = (*Client)(nil)
