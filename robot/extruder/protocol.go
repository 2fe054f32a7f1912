// Package extruder drives the dual-nozzle CCF head's controller board (T0:
// PA matrix nozzle, T1: flat continuous-fibre nozzle, each with extruder,
// heater and thermistor) over a serial line speaking the Marlin host
// protocol:
//
//   - every command goes out as "N<n> <cmd>*<cs>\n", cs the XOR of all
//     bytes before '*'; "N0 M110 N0" resets the numbering (Reset);
//   - the board answers each line with "ok"; up to Options.InFlight lines
//     may be unacknowledged (default 1; Marlin's command buffer BUFSIZE is
//     4, so at most 3 is safe). ADVANCED_OK replies ("ok N12 P15 B3") are
//     used to attribute acknowledgements exactly;
//   - "Resend: N" / "rs N" (after "Error:checksum mismatch, Last Line: L"
//     or "Error:Line Number is not Last Line Number+1, Last Line: L")
//     triggers a resynchronisation, see below; each line is resent at most
//     Options.MaxResends times;
//   - "echo:busy: processing" (Marlin host keep-alive) extends the response
//     timeout; temperature reports ("ok T:210.0 /210.0 B:60.0 /60.0 T0:…
//     T1:… @:…") from M105, M155 auto-report and M109/M190 waits update
//     Temps and the subscribers;
//   - heater faults ("Error:Thermal Runaway, system stopped! Heater_ID: 0",
//     MINTEMP, MAXTEMP, "Heating failed"), "Error:Printer halted. kill()
//     called!" and a board reboot ("start") are fatal *FaultErrors;
//     "echo:Unknown command" and cold-extrusion refusals fail the command.
//
// Resynchronisation. The host cannot tell from the "ok"s alone which lines
// the board executed once a line or an "ok" is lost or rejected. The driver
// therefore appends an unnumbered marker, "M118 E1 fabcell-sync-<k>", which
// Marlin executes in order and echoes; once the echo and its "ok" arrive,
// every response to earlier lines has been seen, and the last "Resend: R"
// before it gives the board's true last line number R−1. Lines up to R−1
// are acknowledged, later ones resent with their original numbers: nothing
// is lost and nothing runs twice. After a response timeout the driver
// pauses (no line is sent) and reports *TimeoutError; Resume sends a probe
// with a line number the board must reject ("N<last+2> M105") followed by
// the marker, which recovers R the same way.
//
// Concurrency: one goroutine owns the port's reads, one its writes, one
// watches deadlines; callers never block the reader. Every blocking call
// takes a context; Close waits for the goroutines.
package extruder

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxLineBytes is Marlin's MAX_CMD_SIZE: the longest line, including the
// line number and checksum, the board accepts.
const MaxLineBytes = 96

// Checksum returns the Marlin/RepRap checksum of s: the XOR of its bytes.
func Checksum(s string) byte {
	var cs byte
	for i := 0; i < len(s); i++ {
		cs ^= s[i]
	}
	return cs
}

// FormatLine returns the wire form "N<n> <cmd>*<cs>\n" of a cleaned
// command.
func FormatLine(n int, cmd string) string {
	body := "N" + strconv.Itoa(n) + " " + cmd
	return body + "*" + strconv.Itoa(int(Checksum(body))) + "\n"
}

// ErrBadCommand is wrapped by CleanCommand's errors.
var ErrBadCommand = errors.New("bad G-code command")

// CleanCommand strips a ';' comment and surrounding blanks and checks that
// the rest can be sent as one numbered line: printable ASCII, no '*' (the
// checksum separator), no line number of its own, at most MaxLineBytes on
// the wire. An empty result (blank or comment-only line) returns "" and no
// error.
func CleanCommand(cmd string) (string, error) {
	if i := strings.IndexByte(cmd, ';'); i >= 0 {
		cmd = cmd[:i]
	}
	cmd = strings.TrimSpace(cmd)
	if cmd == "" {
		return "", nil
	}
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		switch {
		case c == '*':
			return "", fmt.Errorf("%w: %q contains '*', the checksum separator", ErrBadCommand, cmd)
		case c < 0x20 || c > 0x7e:
			return "", fmt.Errorf("%w: %q contains byte 0x%02x (printable ASCII only)", ErrBadCommand, cmd, c)
		}
	}
	if c := cmd[0]; c == 'N' || c == 'n' {
		if len(cmd) > 1 && (cmd[1] >= '0' && cmd[1] <= '9' || cmd[1] == '-') {
			return "", fmt.Errorf("%w: %q carries its own line number; the driver numbers lines", ErrBadCommand, cmd)
		}
	}
	// worst case line number width: 10 digits
	if n := len(FormatLine(1_000_000_000, cmd)); n > MaxLineBytes {
		return "", fmt.Errorf("%w: %q is %d bytes on the wire, Marlin accepts %d", ErrBadCommand, cmd, n, MaxLineBytes)
	}
	return cmd, nil
}

// commandCode returns the upper-case G/M/T word of a cleaned command
// ("M109", "G1", "T1").
func commandCode(cmd string) string {
	f := cmd
	if i := strings.IndexByte(cmd, ' '); i >= 0 {
		f = cmd[:i]
	}
	f = strings.ToUpper(f)
	// normalise leading zeros: G01 → G1, M0104 → M104
	if len(f) > 1 && (f[0] == 'G' || f[0] == 'M' || f[0] == 'T') {
		digits := strings.TrimLeft(f[1:], "0")
		if digits == "" || digits[0] == '.' {
			digits = "0" + digits
		}
		return f[:1] + digits
	}
	return f
}

// respKind classifies a line received from the board.
type respKind int

const (
	respOther      respKind = iota
	respOK                  // "ok", "ok T:…", "ok N12 P15 B3"
	respResend              // "Resend: 12", "rs 12", "rs N12"
	respBusy                // "echo:busy: processing", "busy: …"
	respLineError           // "Error:checksum mismatch, Last Line: 11" and kin
	respFault               // heater faults, kill(), stopped, "!!"
	respUnknownCmd          // "echo:Unknown command: \"G999\""
	respRefused             // "echo: cold extrusion prevented", "echo:T5 Invalid extruder", "echo:Servo 7 out of range"
	respError               // any other "Error:" line
	respStart               // "start" (board booted)
)

// response is a parsed board line.
type response struct {
	kind respKind
	line string
	// n: the line number of respResend, the Last Line of respLineError,
	// the N of an ADVANCED_OK reply (−1 when absent).
	n int
	// free: ADVANCED_OK "B" (free command-buffer slots), −1 when absent.
	free  int
	fault *FaultError // respFault
	text  string      // respUnknownCmd: the command the board quoted
}

// parseResponse classifies one line (already stripped of "\r\n").
func parseResponse(line string) response {
	r := response{line: line, n: -1, free: -1}
	l := strings.TrimSpace(line)
	low := strings.ToLower(l)
	switch {
	case low == "ok" || strings.HasPrefix(low, "ok "):
		r.kind = respOK
		for _, f := range strings.Fields(l[2:]) {
			if len(f) < 2 {
				continue
			}
			switch f[0] {
			case 'N':
				if v, err := strconv.Atoi(f[1:]); err == nil {
					r.n = v
				}
			case 'B':
				if v, err := strconv.Atoi(f[1:]); err == nil {
					r.free = v
				}
			}
		}
	case strings.HasPrefix(low, "resend:"), strings.HasPrefix(low, "rs "):
		s := l[strings.IndexAny(l, ": ")+1:]
		s = strings.TrimLeft(strings.TrimSpace(s), "Nn")
		if v, err := strconv.Atoi(strings.Fields(s + " x")[0]); err == nil && v >= 0 {
			r.kind, r.n = respResend, v
		}
	case strings.Contains(low, "busy:"):
		r.kind = respBusy
	case low == "start":
		r.kind = respStart
	case strings.HasPrefix(l, "!!"):
		r.kind = respFault
		r.fault = &FaultError{Kind: FaultBoard, Msg: strings.TrimSpace(l[2:])}
	case strings.HasPrefix(low, "error:"):
		msg := strings.TrimSpace(l[len("error:"):])
		mlow := strings.ToLower(msg)
		switch {
		case strings.Contains(mlow, "checksum mismatch"), strings.Contains(mlow, "line number is not last line number"),
			strings.Contains(mlow, "no checksum with line number"), strings.Contains(mlow, "no line number with checksum"):
			r.kind = respLineError
			if i := strings.LastIndex(mlow, "last line:"); i >= 0 {
				if v, err := strconv.Atoi(strings.TrimSpace(msg[i+len("last line:"):])); err == nil {
					r.n = v
				}
			}
		default:
			if f := parseFault(msg); f != nil {
				r.kind, r.fault = respFault, f
			} else {
				r.kind = respError
				r.text = msg
			}
		}
	case strings.Contains(low, "unknown command"):
		r.kind = respUnknownCmd
		if i := strings.IndexByte(l, '"'); i >= 0 {
			r.text = strings.TrimSuffix(l[i+1:], "\"")
		}
	case strings.Contains(low, "extrusion prevented"), strings.Contains(low, "invalid extruder"),
		strings.HasPrefix(low, "echo:") && strings.Contains(low, "out of range"):
		r.kind = respRefused
		r.text = strings.TrimSpace(l[strings.IndexByte(l, ':')+1:])
	}
	return r
}

// parseFault recognises Marlin's fatal error messages (text after
// "Error:"); nil for anything else.
func parseFault(msg string) *FaultError {
	low := strings.ToLower(msg)
	f := &FaultError{Msg: msg, Heater: heaterID(msg)}
	switch {
	case strings.Contains(low, "thermal runaway"):
		f.Kind = FaultThermalRunaway
	case strings.Contains(low, "mintemp"):
		f.Kind = FaultMinTemp
	case strings.Contains(low, "maxtemp"):
		f.Kind = FaultMaxTemp
	case strings.Contains(low, "heating failed"):
		f.Kind = FaultHeatingFailed
	case strings.Contains(low, "kill() called"), strings.Contains(low, "printer halted"):
		f.Kind = FaultHalted
	case strings.Contains(low, "printer stopped"):
		f.Kind = FaultStopped
	default:
		return nil
	}
	return f
}

// heaterID extracts "0", "1", "bed", "chamber" from "… Heater_ID: 0".
func heaterID(msg string) string {
	i := strings.Index(strings.ToLower(msg), "heater_id:")
	if i < 0 {
		return ""
	}
	rest := strings.Fields(msg[i+len("heater_id:"):])
	if len(rest) == 0 {
		return ""
	}
	return strings.ToLower(strings.Trim(rest[0], ",."))
}
