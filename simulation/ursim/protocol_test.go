package ursim

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fabcell/robot/ur/rtde"
)

// dashClient is a raw dashboard connection: one line out, one line in.
type dashClient struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func dialDashboard(t *testing.T, addr string) *dashClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	d := &dashClient{t: t, conn: conn, br: bufio.NewReader(conn)}
	if g := d.read(); g != "Connected: Universal Robots Dashboard Server" {
		t.Fatalf("greeting %q", g)
	}
	return d
}

func (d *dashClient) read() string {
	d.t.Helper()
	_ = d.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, err := d.br.ReadString('\n')
	if err != nil {
		d.t.Fatalf("reading a reply: %v (got %q)", err, line)
	}
	return strings.TrimRight(line, "\r\n")
}

func (d *dashClient) cmd(line string) string {
	d.t.Helper()
	if _, err := io.WriteString(d.conn, line+"\n"); err != nil {
		d.t.Fatal(err)
	}
	return d.read()
}

// expectClosed: the server closed the connection (EOF, not a timeout).
func expectClosed(t *testing.T, conn net.Conn, r io.Reader) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err := io.ReadAll(r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept the connection open")
	}
}

// TestDashboardCommandReplies: the PolyScope 5 dashboard commands a UR
// dashboard client sends, with the reply lines of the real server; an
// empty line and unknown commands get "could not understand" (an empty
// line used to get no reply at all, leaving the client waiting).
func TestDashboardCommandReplies(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cell.script"), []byte("def cell():\n  sync()\nend\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "default.installation"), []byte("installation"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := tcpSim(t, Options{Ready: true, ProgramDir: dir})
	d := dialDashboard(t, s.DashboardAddr())
	for _, tc := range []struct{ cmd, want string }{
		{"", "could not understand: ''"},
		{"   ", "could not understand: ''"},
		{"fly away", "could not understand: 'fly away'"},
		{"version", "5.21.0.0"},
		{"is in remote control", "true"},
		{"get serial number", "20255500001"},
		{"get robot model", "UR5"},
		{"robotmode", "Robotmode: RUNNING"},
		{"safetystatus", "Safetystatus: NORMAL"},
		{"safetymode", "Safetymode: NORMAL"},
		{"running", "Program running: false"},
		{"get loaded program", "No program loaded"},
		{"isProgramSaved", "false <unnamed>"},
		{"get operational mode", "NONE"},
		{"set operational mode automatic", "Operational mode 'automatic' is set"},
		{"get operational mode", "AUTOMATIC"},
		{"set operational mode manual", "Operational mode 'manual' is set"},
		{"set operational mode sideways", "Failed to execute: set operational mode sideways"},
		{"clear operational mode", "No longer controlling the operational mode. Current operational mode: 'MANUAL'."},
		{"load cell.script", "Loading program: " + filepath.Join(dir, "cell.script")},
		{"isProgramSaved", "true cell.script"},
		{"programState", "STOPPED cell.script"},
		{"load installation default.installation", "Loading installation: " + filepath.Join(dir, "default.installation")},
		{"load installation missing.installation", "File not found: missing.installation"},
		{"load installation cell.script", "Failed to load installation: cell.script"},
		{"saveLog", "Log saved to disk"},
		{"addToLog", "No log message to add"},
		{"addToLog cell ready", "Added log message"},
		{"popup hello", "showing popup"},
		{"close popup", "closing popup"},
		{"close safety popup", "closing safety popup"},
		{"unlock protective stop", "Protective stop releasing"},
	} {
		if got := d.cmd(tc.cmd); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.cmd, got, tc.want)
		}
	}
	if got := d.cmd("PolyscopeVersion"); !strings.HasPrefix(got, "URSoftware 5.21.0.0 ") {
		t.Errorf("PolyscopeVersion: %q", got)
	}
	if st := s.State(); st.OperationalMode != "MANUAL" {
		t.Errorf("operational mode %q", st.OperationalMode)
	}
	if got := d.cmd("quit"); got != "Disconnected" {
		t.Errorf("quit: %q", got)
	}
	expectClosed(t, d.conn, d.br)
}

// TestDashboardLocalModeReadOnly: in Local control the read-only commands
// answer, the ones that change the controller are refused.
func TestDashboardLocalModeReadOnly(t *testing.T) {
	s := tcpSim(t, Options{LocalMode: true})
	d := dialDashboard(t, s.DashboardAddr())
	for _, tc := range []struct{ cmd, want string }{
		{"get operational mode", "NONE"},
		{"is in remote control", "false"},
		{"saveLog", "Log saved to disk"},
		{"version", "5.21.0.0"},
		{"set operational mode manual", "Command is not allowed due to safety reasons, please switch robot to Remote Control mode and reconnect to port 29999"},
		{"shutdown", "Command is not allowed due to safety reasons, please switch robot to Remote Control mode and reconnect to port 29999"},
		{"", "could not understand: ''"},
	} {
		if got := d.cmd(tc.cmd); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.cmd, got, tc.want)
		}
	}
	if s.State().ShutDown {
		t.Fatal("shut down in Local control")
	}
}

// TestDashboardShutdown: "shutdown" answers "Shutting down", powers the
// arm off and takes the controller down: every connection closes and
// nothing listens any more.
func TestDashboardShutdown(t *testing.T) {
	s := tcpSim(t, Options{Ready: true})
	rtdeConn, err := net.Dial("tcp", s.RTDEAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer rtdeConn.Close()
	other := dialDashboard(t, s.DashboardAddr())
	d := dialDashboard(t, s.DashboardAddr())
	if got := d.cmd("shutdown"); got != "Shutting down" {
		t.Fatalf("shutdown: %q", got)
	}
	expectClosed(t, d.conn, d.br)
	expectClosed(t, other.conn, other.br)
	expectClosed(t, rtdeConn, rtdeConn)
	st := s.State()
	if !st.ShutDown || st.RobotMode != rtde.RobotModePowerOff {
		t.Fatalf("after shutdown: down %v, robot mode %v", st.ShutDown, st.RobotMode)
	}
	for _, addr := range []string{s.DashboardAddr(), s.RTDEAddr(), s.ScriptAddr()} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after shutdown", addr)
		}
	}
}

// rtdeRaw is a client speaking RTDE bytes.
type rtdeRaw struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
	msgs []rtde.TextMessage // text messages received while waiting for replies
}

func dialRTDE(t *testing.T, addr string) *rtdeRaw {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rtdeRaw{t: t, conn: conn, br: bufio.NewReader(conn)}
}

func (c *rtdeRaw) send(cmd rtde.Command, payload []byte) {
	c.t.Helper()
	pkt, err := rtde.AppendPackage(nil, cmd, payload)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(pkt)
}

func (c *rtdeRaw) sendRaw(b []byte) {
	c.t.Helper()
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// next returns the next package that is not a data package (text messages
// are also recorded in msgs).
func (c *rtdeRaw) next() (rtde.Command, []byte) {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		cmd, p, err := rtde.ReadPackage(c.br, nil)
		if err != nil {
			c.t.Fatalf("reading: %v", err)
		}
		if cmd == rtde.CmdDataPackage {
			continue
		}
		if cmd == rtde.CmdTextMessage {
			m, err := rtde.DecodeTextMessage(p)
			if err != nil {
				c.t.Fatalf("text message: %v", err)
			}
			c.msgs = append(c.msgs, m)
		}
		return cmd, p
	}
}

// reply waits for the reply to cmd.
func (c *rtdeRaw) reply(cmd rtde.Command) []byte {
	c.t.Helper()
	for {
		got, p := c.next()
		if got == cmd {
			return p
		}
	}
}

// message waits for a text message.
func (c *rtdeRaw) message() rtde.TextMessage {
	c.t.Helper()
	for {
		if got, _ := c.next(); got == rtde.CmdTextMessage {
			return c.msgs[len(c.msgs)-1]
		}
	}
}

func (c *rtdeRaw) accepted(cmd rtde.Command) bool {
	c.t.Helper()
	ok, err := rtde.DecodeAccepted(c.reply(cmd))
	if err != nil {
		c.t.Fatal(err)
	}
	return ok
}

// TestRTDEOutOfOrderKeepsConnection: out-of-order and unknown packages are
// answered (refusal, or an error text message) and the connection goes on
// — it used to close on a DATA_PACKAGE with an unknown recipe id and on an
// unknown package type, and START before any setup was accepted.
func TestRTDEOutOfOrderKeepsConnection(t *testing.T) {
	s := tcpSim(t, Options{Ready: true})
	c := dialRTDE(t, s.RTDEAddr())
	c.send(rtde.CmdRequestProtocolVersion, rtde.EncodeVersionRequest(2))
	if !c.accepted(rtde.CmdRequestProtocolVersion) {
		t.Fatal("v2 refused")
	}
	// START before any setup: refused, with the reason
	c.send(rtde.CmdStart, nil)
	if c.accepted(rtde.CmdStart) {
		t.Fatal("START accepted with no recipe")
	}
	if len(c.msgs) != 1 || c.msgs[0].Level != rtde.LevelError || !strings.Contains(c.msgs[0].Message, "no recipe") {
		t.Fatalf("messages %+v", c.msgs)
	}
	// PAUSE while not started: accepted (nothing to pause)
	c.send(rtde.CmdPause, nil)
	if !c.accepted(rtde.CmdPause) {
		t.Fatal("PAUSE refused")
	}
	// an input DATA_PACKAGE for a recipe never set up: ignored, one message
	for range 3 {
		c.send(rtde.CmdDataPackage, []byte{7, 0, 0, 0, 42})
	}
	if m := c.message(); m.Level != rtde.LevelError || !strings.Contains(m.Message, "unknown input recipe id 7") {
		t.Fatalf("message %+v", m)
	}
	// a package type RTDE does not define: skipped whole, reported
	c.sendRaw([]byte{0, 6, 'X', 1, 2, 3})
	if m := c.message(); m.Level != rtde.LevelWarning || !strings.Contains(m.Message, "unknown package type 0x58") {
		t.Fatalf("message %+v", m)
	}
	// the connection still works: version, then a full session
	c.send(rtde.CmdGetURControlVersion, nil)
	if v, err := rtde.DecodeControllerVersion(c.reply(rtde.CmdGetURControlVersion)); err != nil || v.Major != 5 {
		t.Fatalf("version %+v %v", v, err)
	}
	in, _ := rtde.EncodeSetupInputs([]string{"input_int_register_3"})
	c.send(rtde.CmdSetupInputs, in)
	rep, err := rtde.DecodeSetupReply(c.reply(rtde.CmdSetupInputs))
	if err != nil || rep.RecipeID != 1 {
		t.Fatalf("inputs %+v %v", rep, err)
	}
	out, _ := rtde.EncodeSetupOutputs(2, 125, []string{"input_int_register_3"})
	c.send(rtde.CmdSetupOutputs, out)
	orep, err := rtde.DecodeSetupReply(c.reply(rtde.CmdSetupOutputs))
	if err != nil {
		t.Fatal(err)
	}
	outRecipe, err := rtde.ParseRecipe([]string{"input_int_register_3"}, orep)
	if err != nil {
		t.Fatal(err)
	}
	c.send(rtde.CmdDataPackage, []byte{1, 0, 0, 0, 42})
	c.send(rtde.CmdStart, nil)
	_ = c.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		cmd, p, err := rtde.ReadPackage(c.br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cmd != rtde.CmdDataPackage {
			continue
		}
		v, err := outRecipe.Unpack(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if v[0].Int() == 42 {
			break
		}
		t.Fatalf("input_int_register_3 = %d, want 42", v[0].Int())
	}
}

// TestRTDEMalformedCloses: a package that breaks the framing or the
// protocol's sizes gets an exception text message naming the problem and
// the connection closes.
func TestRTDEMalformedCloses(t *testing.T) {
	big := make([]byte, 3000)
	for i := range big {
		big[i] = 'a'
	}
	for _, tc := range []struct {
		name  string
		setup bool // set up input recipe 1 (input_int_register_0) first
		pkt   []byte
		want  string
	}{
		{"size below header", false, []byte{0, 2, 'V'}, "below the 3-byte header"},
		{"data package too short for its recipe", true, pkg(rtde.CmdDataPackage, []byte{1, 0, 0}), "DATA_PACKAGE"},
		{"data package too long for its recipe", true, pkg(rtde.CmdDataPackage, []byte{1, 0, 0, 0, 1, 9}), "DATA_PACKAGE"},
		{"empty data package", false, pkg(rtde.CmdDataPackage, nil), "empty DATA_PACKAGE"},
		{"oversize recipe", false, pkg(rtde.CmdSetupInputs, big), "limit 2048"},
		{"start with payload", false, pkg(rtde.CmdStart, []byte{1}), "CONTROL_PACKAGE_START with 1 payload bytes"},
		{"version request too short", false, pkg(rtde.CmdRequestProtocolVersion, []byte{2}), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tcpSim(t, Options{Ready: true})
			c := dialRTDE(t, s.RTDEAddr())
			c.send(rtde.CmdRequestProtocolVersion, rtde.EncodeVersionRequest(2))
			if !c.accepted(rtde.CmdRequestProtocolVersion) {
				t.Fatal("v2 refused")
			}
			if tc.setup {
				in, _ := rtde.EncodeSetupInputs([]string{"input_int_register_0"})
				c.send(rtde.CmdSetupInputs, in)
				if rep, err := rtde.DecodeSetupReply(c.reply(rtde.CmdSetupInputs)); err != nil || rep.RecipeID != 1 {
					t.Fatalf("setup %+v %v", rep, err)
				}
			}
			c.sendRaw(tc.pkt)
			m := c.message()
			if m.Level != rtde.LevelException || !strings.Contains(m.Message, tc.want) {
				t.Errorf("message %+v, want an exception containing %q", m, tc.want)
			}
			expectClosed(t, c.conn, c.br)
		})
	}
}

func pkg(cmd rtde.Command, payload []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(rtde.HeaderSize+len(payload)))
	return append(append(b, byte(cmd)), payload...)
}
