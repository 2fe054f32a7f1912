package ursim

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"fabcell/robot/ur/rtde"
	"fabcell/robot/ur/script"
)

// Secondary client interface (port 30002, spec §2): on connect the
// controller sends a VERSION robot message and then ROBOT_STATE messages
// at 10 Hz; robot messages (textmsg output, runtime exceptions, safety
// events) are sent as they happen. Clients send URScript: a program
// starts with "def name():" or "sec name():" in column 1 and ends with
// "end" in column 1; any other non-empty line is a one-line program. A new
// def program replaces the running one. A program that does not compile
// is answered with a runtime exception naming line and column, followed by
// a robot state, so a sender reading until the next state sees it.

type secConn struct {
	conn  net.Conn
	wmu   sync.Mutex
	queue [][]byte
	wake  chan struct{}
}

func (sc *secConn) enqueue(b []byte) {
	sc.wmu.Lock()
	if len(sc.queue) < 1024 {
		sc.queue = append(sc.queue, b)
	}
	sc.wmu.Unlock()
	select {
	case sc.wake <- struct{}{}:
	default:
	}
}

func (sc *secConn) writer(done <-chan struct{}) {
	var buf []byte
	for {
		select {
		case <-done:
			return
		case <-sc.wake:
		}
		sc.wmu.Lock()
		buf = buf[:0]
		for _, b := range sc.queue {
			buf = append(buf, b...)
		}
		sc.queue = sc.queue[:0]
		sc.wmu.Unlock()
		if len(buf) == 0 {
			continue
		}
		_ = sc.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if _, err := sc.conn.Write(buf); err != nil {
			sc.conn.Close()
			return
		}
	}
}

func (c *controller) usec() uint64 { return uint64(c.t * 1e6) }

func (c *controller) robotState() script.RobotState {
	st := script.RobotState{
		TimestampUS: c.usec(), RealRobotEnabled: true, PowerOn: c.robotMode >= rtde.RobotModePowerOn,
		EmergencyStopped: c.estop, ProtectiveStopped: c.safetyMode == rtde.SafetyProtectiveStop,
		ProgramRunning: c.runtime == rtde.RuntimePlaying, ProgramPaused: c.runtime == rtde.RuntimePaused,
		RobotMode: uint8(c.robotMode), TargetSpeedFrac: c.speedFraction, SpeedScaling: 1,
		Q: c.q, QTarget: c.q, QD: c.qd, TCPPose: [6]float64(toPoseVal(c.model.FK(c.q))),
		TCPOffset: [6]float64(toPoseVal(c.tcp)),
	}
	jm := uint8(c.jointMode())
	st.JointMode = [6]uint8{jm, jm, jm, jm, jm, jm}
	return st
}

func (s *Sim) publishSecondaryLocked(events []event) {
	c := s.c
	var msgs []byte
	for _, ev := range events {
		switch ev.kind {
		case evRuntimeException:
			msgs = script.AppendRuntimeException(msgs, uint64(ev.t*1e6), int32(ev.line), int32(ev.col), ev.text)
		case evPopup:
			msgs = script.AppendTextMessage(msgs, uint64(ev.t*1e6), "popup: "+ev.text)
		default:
			msgs = script.AppendTextMessage(msgs, uint64(ev.t*1e6), ev.text)
		}
	}
	if c.tick%50 == 0 { // 10 Hz
		msgs = script.AppendRobotState(msgs, c.robotState())
	}
	if len(msgs) == 0 {
		return
	}
	for sc := range s.secConns {
		sc.enqueue(msgs)
	}
}

func (s *Sim) serveSecondary(conn net.Conn) {
	sc := &secConn{conn: conn, wake: make(chan struct{}, 1)}
	s.mu.Lock()
	c := s.c
	v := s.opts.Version
	hello := script.AppendVersionMessage(nil, c.usec(), "URControl", uint8(v.Major), uint8(v.Minor), int32(v.Bugfix), int32(v.Build), "fabcell ursim")
	hello = script.AppendRobotState(hello, c.robotState())
	s.secConns[sc] = struct{}{}
	s.mu.Unlock()
	sc.enqueue(hello)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc.writer(done)
	}()
	err := s.readScripts(sc)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		s.log.Warn("secondary: closing connection", "client", conn.RemoteAddr().String(), "reason", err)
	}
	s.mu.Lock()
	delete(s.secConns, sc)
	s.mu.Unlock()
	close(done)
	conn.Close()
	wg.Wait()
}

// maxLineBytes bounds one script line.
const maxLineBytes = 64 << 10

func (s *Sim) readScripts(sc *secConn) error {
	br := bufio.NewReaderSize(sc.conn, 1<<16)
	var block strings.Builder
	collecting := false
	for {
		line, err := readLine(br)
		if err != nil {
			return err
		}
		line = strings.TrimRight(line, "\r")
		switch {
		case collecting:
			block.WriteString(line)
			block.WriteByte('\n')
			if block.Len() > maxScriptBytes {
				s.rejectScript(sc, errAt(0, 0, "program exceeds %d bytes", maxScriptBytes))
				block.Reset()
				collecting = false
				continue
			}
			if isEndLine(line) {
				collecting = false
				s.acceptScript(sc, block.String())
				block.Reset()
			}
		case strings.HasPrefix(line, "def ") || strings.HasPrefix(line, "sec "):
			collecting = true
			block.WriteString(line)
			block.WriteByte('\n')
		case strings.TrimSpace(line) == "":
		default:
			s.acceptScript(sc, line+"\n")
		}
	}
}

// readLine reads one '\n'-terminated line of at most maxLineBytes.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, isPrefix, err := br.ReadLine()
		if err != nil {
			return "", err
		}
		b = append(b, chunk...)
		if len(b) > maxLineBytes {
			return "", fmt.Errorf("line longer than %d bytes", maxLineBytes)
		}
		if !isPrefix {
			return string(b), nil
		}
	}
}

// isEndLine: "end" in column 1, optionally followed by spaces or a comment.
func isEndLine(line string) bool {
	if !strings.HasPrefix(line, "end") {
		return false
	}
	rest := strings.TrimSpace(line[3:])
	return rest == "" || strings.HasPrefix(rest, "#")
}

func (s *Sim) rejectScript(sc *secConn, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.c
	line, col, msg := 0, 0, err.Error()
	var se *ScriptError
	if errors.As(err, &se) {
		line, col, msg = se.Line, se.Col, se.Msg
	}
	s.log.Warn("secondary: program rejected", "line", line, "col", col, "reason", msg)
	b := script.AppendRuntimeException(nil, c.usec(), int32(line), int32(col), msg)
	sc.enqueue(script.AppendRobotState(b, c.robotState()))
	for rc := range s.rtdeConns {
		rc.message(rtde.LevelException, runtimeText(event{line: line, col: col, text: msg}))
	}
}

func (s *Sim) acceptScript(sc *secConn, src string) {
	prog, err := parseProgram(src)
	if err != nil {
		s.rejectScript(sc, err)
		return
	}
	s.mu.Lock()
	c := s.c
	switch {
	case !c.remote:
		s.mu.Unlock()
		s.rejectScript(sc, errAt(0, 0, "program %s refused: the robot is in Local control; switch the pendant to Remote Control", prog.name))
		return
	case !prog.sec && !c.canMove():
		s.mu.Unlock()
		s.rejectScript(sc, errAt(0, 0, "cannot start program %s: robot mode %s, safety mode %s (power on, release the brakes and clear stops first)", prog.name, c.robotMode, c.safetyMode))
		return
	}
	s.submitLocked(prog)
	sc.enqueue(script.AppendRobotState(nil, c.robotState()))
	s.mu.Unlock()
}
