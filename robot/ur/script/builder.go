package script

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"fabcell/simulation/geom"

	"github.com/golang/geo/r3"
)

// Pose is a URScript pose p[x, y, z, rx, ry, rz]: position in metres and a
// rotation vector in radians, in the robot base frame.
type Pose [6]float64

// PoseFromGeom converts a geom.Pose whose translation is in metres.
func PoseFromGeom(p geom.Pose) Pose {
	rv := p.RotVec()
	return Pose{p.P.X, p.P.Y, p.P.Z, rv.X, rv.Y, rv.Z}
}

// Geom converts back to a geom.Pose (metres).
func (p Pose) Geom() geom.Pose {
	return geom.PoseFromRotVec(r3.Vector{X: p[0], Y: p[1], Z: p[2]}, r3.Vector{X: p[3], Y: p[4], Z: p[5]})
}

// Motion are the optional motion parameters of movej/movel/movep. Zero
// fields are left out of the call (the controller defaults apply: movej
// a=1.4 rad/s² v=1.05 rad/s, movel/movep a=1.2 m/s² v=0.25 m/s).
type Motion struct {
	Accel  float64       // rad/s² (movej) or m/s² (movel/movep)
	Speed  float64       // rad/s (movej) or m/s (movel/movep)
	Time   time.Duration // movej/movel: overrides Accel/Speed when > 0
	BlendM float64       // blend radius, m
}

// Reserved words of URScript that cannot be used as names.
var keywords = map[string]bool{
	"def": true, "sec": true, "end": true, "if": true, "elif": true, "else": true, "while": true,
	"return": true, "True": true, "False": true, "and": true, "or": true, "not": true, "xor": true,
	"global": true, "local": true, "thread": true, "run": true, "join": true, "kill": true,
	"halt": true, "break": true, "continue": true, "pass": true, "for": true, "in": true, "p": true,
}

// Identifier turns arbitrary text (a job name) into a safe URScript
// identifier: ASCII letters, digits and '_', starting with a letter, at
// most 60 characters, never a keyword. Empty input yields "job".
func Identifier(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) || r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 60 {
			break
		}
	}
	id := b.String()
	if id == "" {
		id = "job"
	}
	if c := id[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		id = "j" + id
		if len(id) > 60 {
			id = id[:60]
		}
	}
	if keywords[id] {
		id += "_"
	}
	return id
}

// String returns s as a URScript string literal: double-quoted, with
// quotes, backslashes and every control or non-printable character
// replaced (URScript has no escape sequences, so nothing else is safe),
// cut to 255 bytes. The result can never end the literal early or start a
// new statement.
func String(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	n := 0
	for _, r := range s {
		switch {
		case r == '"':
			r = '\''
		case r == '\\':
			r = '/'
		case r == '\n' || r == '\r' || r == '\t':
			r = ' '
		case r < 0x20 || r == 0x7f || r >= 0x80 && !unicode.IsPrint(r):
			r = '?'
		case r >= 0x80:
			r = '?' // the controller's string encoding is not specified; stay in ASCII
		}
		if n >= 255 {
			break
		}
		b.WriteRune(r)
		n++
	}
	b.WriteByte('"')
	return b.String()
}

// Comment returns s as a one-line URScript comment ("# …").
func Comment(s string) string {
	t := String(s)
	return "# " + t[1:len(t)-1]
}

// Float formats a finite number for a script; NaN and ±Inf are errors.
func Float(x float64) (string, error) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "", fmt.Errorf("script: refusing to write %v into a program", x)
	}
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if s == "-0" {
		s = "0"
	}
	return s, nil
}

// Program builds a URScript program "def NAME(): … end". Methods record
// the first error (bad numbers, out-of-range I/O) and Build returns it.
type Program struct {
	name  string
	lines []string
	err   error
}

// NewProgram starts a program named after name (sanitised with
// Identifier).
func NewProgram(name string) *Program { return &Program{name: Identifier(name)} }

// Name returns the sanitised program name.
func (p *Program) Name() string { return p.name }

func (p *Program) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

func (p *Program) nums(xs ...float64) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		s, err := Float(x)
		if err != nil {
			p.fail(err)
			s = "0"
		}
		out[i] = s
	}
	return out
}

func (p *Program) line(format string, args ...any) *Program {
	p.lines = append(p.lines, "  "+fmt.Sprintf(format, args...))
	return p
}

func (p *Program) list(xs []float64) string { return "[" + strings.Join(p.nums(xs...), ", ") + "]" }
func (p *Program) pose(x Pose) string       { return "p" + p.list(x[:]) }

func (p *Program) motionArgs(m Motion, withTime bool) string {
	var args []string
	if m.Accel < 0 || m.Speed < 0 || m.BlendM < 0 || m.Time < 0 {
		p.fail(fmt.Errorf("script: negative motion parameter %+v", m))
	}
	if m.Accel > 0 {
		args = append(args, "a="+p.nums(m.Accel)[0])
	}
	if m.Speed > 0 {
		args = append(args, "v="+p.nums(m.Speed)[0])
	}
	if withTime && m.Time > 0 {
		args = append(args, "t="+p.nums(m.Time.Seconds())[0])
	}
	if m.BlendM > 0 {
		args = append(args, "r="+p.nums(m.BlendM)[0])
	}
	if len(args) == 0 {
		return ""
	}
	return ", " + strings.Join(args, ", ")
}

// MoveJ adds movej to joint angles q (rad).
func (p *Program) MoveJ(q [6]float64, m Motion) *Program {
	return p.line("movej(%s%s)", p.list(q[:]), p.motionArgs(m, true))
}

// MoveJPose adds movej to a pose (the controller solves the IK).
func (p *Program) MoveJPose(x Pose, m Motion) *Program {
	return p.line("movej(%s%s)", p.pose(x), p.motionArgs(m, true))
}

// MoveL adds a linear tool move.
func (p *Program) MoveL(x Pose, m Motion) *Program {
	return p.line("movel(%s%s)", p.pose(x), p.motionArgs(m, true))
}

// MoveP adds a process move (constant tool speed, circular blends).
func (p *Program) MoveP(x Pose, m Motion) *Program {
	return p.line("movep(%s%s)", p.pose(x), p.motionArgs(m, false))
}

// StopL decelerates the tool linearly (a in m/s²).
func (p *Program) StopL(a float64) *Program { return p.line("stopl(%s)", p.nums(a)[0]) }

// StopJ decelerates in joint space (a in rad/s²).
func (p *Program) StopJ(a float64) *Program { return p.line("stopj(%s)", p.nums(a)[0]) }

// SetTCP sets the tool centre point (flange → TCP, metres / rotation vector).
func (p *Program) SetTCP(x Pose) *Program { return p.line("set_tcp(%s)", p.pose(x)) }

// SetPayload sets the payload mass (kg) and centre of gravity (m).
func (p *Program) SetPayload(massKG float64, cog [3]float64) *Program {
	if massKG < 0 {
		p.fail(fmt.Errorf("script: negative payload %v kg", massKG))
	}
	return p.line("set_payload(%s, %s)", p.nums(massKG)[0], p.list(cog[:]))
}

func (p *Program) pin(kind string, n, hi int) {
	if n < 0 || n > hi {
		p.fail(fmt.Errorf("script: %s output %d outside 0..%d", kind, n, hi))
	}
}

// SetStandardDigitalOut sets standard digital output n (0..7).
func (p *Program) SetStandardDigitalOut(n int, on bool) *Program {
	p.pin("standard digital", n, 7)
	return p.line("set_standard_digital_out(%d, %s)", n, boolLit(on))
}

// SetConfigurableDigitalOut sets configurable digital output n (0..7).
func (p *Program) SetConfigurableDigitalOut(n int, on bool) *Program {
	p.pin("configurable digital", n, 7)
	return p.line("set_configurable_digital_out(%d, %s)", n, boolLit(on))
}

// SetToolDigitalOut sets tool digital output n (0..1).
func (p *Program) SetToolDigitalOut(n int, on bool) *Program {
	p.pin("tool digital", n, 1)
	return p.line("set_tool_digital_out(%d, %s)", n, boolLit(on))
}

// SetStandardAnalogOut sets analog output n (0..1) to a fraction in [0, 1]
// of its range.
func (p *Program) SetStandardAnalogOut(n int, frac float64) *Program {
	p.pin("standard analog", n, 1)
	if !(frac >= 0 && frac <= 1) {
		p.fail(fmt.Errorf("script: analog output fraction %v outside [0, 1]", frac))
	}
	return p.line("set_standard_analog_out(%d, %s)", n, p.nums(frac)[0])
}

// Sleep waits d.
func (p *Program) Sleep(d time.Duration) *Program {
	if d < 0 {
		p.fail(fmt.Errorf("script: negative sleep %v", d))
	}
	return p.line("sleep(%s)", p.nums(d.Seconds())[0])
}

// Sync waits one control cycle.
func (p *Program) Sync() *Program { return p.line("sync()") }

// TextMsg logs text (sanitised).
func (p *Program) TextMsg(text string) *Program { return p.line("textmsg(%s)", String(text)) }

// Popup shows a popup with a sanitised message and title; blocking makes
// the program wait for the operator.
func (p *Program) Popup(msg, title string, blocking bool) *Program {
	return p.line("popup(%s, title=%s, blocking=%s)", String(msg), String(title), boolLit(blocking))
}

// Comment adds a comment line (sanitised).
func (p *Program) Comment(text string) *Program {
	p.lines = append(p.lines, "  "+Comment(text))
	return p
}

// WriteOutputIntRegister writes an RTDE output int register (0..47).
func (p *Program) WriteOutputIntRegister(n int, v int32) *Program {
	if n < 0 || n > 47 {
		p.fail(fmt.Errorf("script: register %d outside 0..47", n))
	}
	return p.line("write_output_integer_register(%d, %d)", n, v)
}

// Build returns the program text (ending in a newline) or the first error.
func (p *Program) Build() (string, error) {
	if p.err != nil {
		return "", p.err
	}
	if len(p.lines) == 0 {
		return "", errors.New("script: empty program " + p.name)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "def %s():\n", p.name)
	for _, l := range p.lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	b.WriteString("end\n")
	return b.String(), nil
}

func boolLit(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
