package extruder

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinels; the typed errors below wrap one of them.
var (
	// ErrTimeout: no response within the response timeout. The driver is
	// paused; see *TimeoutError and Resume.
	ErrTimeout = errors.New("response timeout")
	// ErrPaused: the driver is paused and sends nothing until Resume.
	ErrPaused = errors.New("driver paused")
	// ErrFault: the board reported a fatal condition or the link failed;
	// the driver accepts no more commands. See *FaultError.
	ErrFault = errors.New("board fault")
	// ErrResendLimit: a line was resent Options.MaxResends times.
	ErrResendLimit = errors.New("resend limit reached")
	// ErrCommand: the board refused or failed one command (unknown
	// command, cold extrusion, other "Error:"); see *CommandError.
	ErrCommand = errors.New("command failed")
	// ErrHeatTimeout: a heater did not reach its target in time.
	ErrHeatTimeout = errors.New("heater wait timed out")
	// ErrClosed: the driver was closed.
	ErrClosed = errors.New("driver closed")
)

// Line is one numbered line of the session.
type Line struct {
	N   int    // line number (1 = first after Reset)
	Cmd string // cleaned command, without number and checksum
}

// TimeoutError reports a lost response. The driver is paused: lines up to
// LastAcked were acknowledged by the board; InFlight were sent and not
// acknowledged (they may or may not have run — Resume finds out); Unsent
// were accepted but not sent.
type TimeoutError struct {
	Waiting   Line          // the oldest unacknowledged line
	Waited    time.Duration // time since the last sign of life
	LastAcked int
	InFlight  []Line
	Unsent    []Line
	Resync    bool // the timeout hit during a resynchronisation
}

func (e *TimeoutError) Error() string {
	what := fmt.Sprintf("no ok for line N%d %q", e.Waiting.N, e.Waiting.Cmd)
	if e.Resync {
		what = "no answer to the resynchronisation probe"
	}
	return fmt.Sprintf("extruder: %s after %v; paused with lines ≤ N%d acknowledged, %d in flight, %d unsent",
		what, e.Waited.Round(time.Millisecond), e.LastAcked, len(e.InFlight), len(e.Unsent))
}

func (e *TimeoutError) Unwrap() []error { return []error{ErrTimeout, ErrPaused} }

// ResendLimitError: the board asked for line N more than MaxResends times.
// The driver is paused; Resume retries.
type ResendLimitError struct {
	Line    Line
	Resends int
	Last    string // the last error line from the board
}

func (e *ResendLimitError) Error() string {
	return fmt.Sprintf("extruder: line N%d %q resent %d times (last board error %q); paused", e.Line.N, e.Line.Cmd, e.Resends, e.Last)
}

func (e *ResendLimitError) Unwrap() []error { return []error{ErrResendLimit, ErrPaused} }

// FaultKind names a fatal board condition.
type FaultKind int

const (
	FaultBoard          FaultKind = iota // other fatal board message ("!! …")
	FaultThermalRunaway                  // temperature fell away from the target
	FaultMinTemp                         // thermistor reads below MINTEMP (open sensor)
	FaultMaxTemp                         // thermistor reads above MAXTEMP
	FaultHeatingFailed                   // heater did not heat in its watch period
	FaultHalted                          // kill(): the board stopped; reset needed
	FaultStopped                         // Stop(): M999 needed
	FaultReset                           // the board rebooted ("start") mid-session
	FaultLink                            // read/write error on the port
	FaultProtocol                        // the board contradicted the acknowledged history
	FaultEmergency                       // M112 sent by the host
)

var faultNames = [...]string{"board error", "thermal runaway", "MINTEMP", "MAXTEMP", "heating failed",
	"printer halted", "printer stopped", "board reset", "link error", "protocol error", "emergency stop"}

func (k FaultKind) String() string {
	if int(k) < len(faultNames) {
		return faultNames[k]
	}
	return fmt.Sprintf("fault(%d)", int(k))
}

// FaultError is a fatal condition: the driver accepts nothing more and every
// waiting call returns it. Heater is the board's Heater_ID ("0", "1",
// "bed", "chamber") for heater faults. Msg is the board's text; Err the
// underlying I/O error for FaultLink. A heater fault followed by Marlin's
// "Printer halted" keeps the heater fault as the reason (Halted = true).
type FaultError struct {
	Kind   FaultKind
	Heater string
	Msg    string
	Halted bool
	Err    error
}

func (e *FaultError) Error() string {
	var b strings.Builder
	b.WriteString("extruder: ")
	b.WriteString(e.Kind.String())
	if e.Heater != "" {
		b.WriteString(" on heater " + e.Heater)
	}
	if e.Msg != "" {
		b.WriteString(": " + e.Msg)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if e.Halted && e.Kind != FaultHalted {
		b.WriteString(" (board halted)")
	}
	return b.String()
}

func (e *FaultError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrFault, e.Err}
	}
	return []error{ErrFault}
}

// CommandError: the board acknowledged a line but refused or failed the
// command. Reason is the board's text.
type CommandError struct {
	Line   Line
	Kind   string // "unknown command", "refused" (cold or too long extrusion, invalid extruder, servo out of range), "error"
	Reason string
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("extruder: N%d %q: %s: %s", e.Line.N, e.Line.Cmd, e.Kind, e.Reason)
}

func (e *CommandError) Unwrap() error { return ErrCommand }

// HeatTimeoutError: M109/M190 did not finish within the heat timeout. The
// wait was broken with M108, the heater keeps its target.
type HeatTimeoutError struct {
	Heater   int // tool index, or HeaterBed
	TargetC  float64
	LastC    float64 // last reported temperature (NaN if none)
	Waited   time.Duration
	BrokenOK bool // the board acknowledged the M108 break
}

func (e *HeatTimeoutError) Error() string {
	return fmt.Sprintf("extruder: %s did not reach %.1f °C within %v (last %.1f °C)",
		heaterName(e.Heater), e.TargetC, e.Waited.Round(time.Second), e.LastC)
}

func (e *HeatTimeoutError) Unwrap() error { return ErrHeatTimeout }

func heaterName(h int) string {
	if h == HeaterBed {
		return "bed"
	}
	return fmt.Sprintf("nozzle T%d", h)
}
