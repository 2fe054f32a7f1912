// Package script sends URScript to a UR controller and builds the programs
// fabcell sends: a sender for the secondary interface (port 30002, spec
// robot-protocols.md §2 "Sending URScript"), a program builder that
// sanitises every piece of user text placed in a script, and a
// register-based command channel over RTDE in the style of ur_rtde (spec
// §1 "Clients and reference implementations", item 2).
package script

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// MaxProgramBytes bounds a program sent in one piece.
const MaxProgramBytes = 8 << 20

// Sender sends programs to the secondary interface. The zero value needs
// Addr.
type Sender struct {
	// Addr is "host:30002".
	Addr string
	// Timeout bounds the whole exchange when ctx has no deadline
	// (default 3 s).
	Timeout time.Duration
}

// Result is what the controller reported around a send.
type Result struct {
	Version  *RobotMessage  // VERSION message sent on connect
	Messages []RobotMessage // text and runtime-exception messages seen
	State    RobotState     // last robot state received
}

// RuntimeError is a runtime exception the controller reported for the
// program (syntax errors, unknown functions, …).
type RuntimeError struct {
	Line, Column int32
	Text         string
}

func (e *RuntimeError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("script: controller rejected the program: line %d col %d: %s", e.Line, e.Column, e.Text)
	}
	return "script: controller rejected the program: " + e.Text
}

// ErrNotRemote is returned when the controller reports that it refuses
// external scripts (Local mode).
var ErrNotRemote = errors.New("script: controller not in Remote Control mode")

// Send connects, reads the greeting messages up to the first robot state,
// writes program (a newline is added if missing), and keeps reading until
// two more robot states arrived (the manual advises reading before
// closing, so the controller does not drop the script). A runtime
// exception reported in that window is returned as *RuntimeError.
//
// A real controller compiles the program when it receives it and reports
// syntax errors at once; errors that happen later (while the program runs)
// arrive on the secondary stream after Send returned and are not seen
// here.
func (s *Sender) Send(ctx context.Context, program string) (*Result, error) {
	if strings.TrimSpace(program) == "" {
		return nil, errors.New("script: empty program")
	}
	if len(program) > MaxProgramBytes {
		return nil, fmt.Errorf("script: program of %d bytes exceeds %d", len(program), MaxProgramBytes)
	}
	if !strings.HasSuffix(program, "\n") {
		program += "\n"
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return nil, fmt.Errorf("script: dial %s: %w", s.Addr, err)
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	br := bufio.NewReaderSize(conn, 1<<14)
	res := &Result{}
	// greeting: version message and the first state
	if err := readUntilStates(br, res, 1); err != nil {
		return res, s.wrap(ctx, "reading controller greeting", err)
	}
	res.Messages = nil
	if _, err := conn.Write([]byte(program)); err != nil {
		return res, s.wrap(ctx, "writing program", err)
	}
	if err := readUntilStates(br, res, 2); err != nil {
		return res, s.wrap(ctx, "reading controller state after the program", err)
	}
	for _, m := range res.Messages {
		if m.Type == RobotMsgRuntimeException {
			if strings.Contains(m.Text, "Remote Control") {
				return res, fmt.Errorf("%w: %s", ErrNotRemote, m.Text)
			}
			return res, &RuntimeError{Line: m.Line, Column: m.Column, Text: m.Text}
		}
	}
	return res, nil
}

func (s *Sender) wrap(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return fmt.Errorf("script: %s %s: %w", s.Addr, what, err)
}

func readUntilStates(br *bufio.Reader, res *Result, n int) error {
	for seen := 0; seen < n; {
		typ, p, err := ReadPrimary(br)
		if err != nil {
			return err
		}
		switch typ {
		case MsgRobotState:
			st, err := ParseRobotState(p)
			if err != nil {
				return err
			}
			res.State = st
			seen++
		case MsgRobotMessage:
			m, err := ParseRobotMessage(p)
			if err != nil {
				return err
			}
			if m.Type == RobotMsgVersion {
				res.Version = &m
			} else {
				res.Messages = append(res.Messages, m)
			}
		}
	}
	return nil
}
