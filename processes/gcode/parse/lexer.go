// Package parse reads Marlin / RepRap / Klipper-flavoured G-code as a
// stream: a byte-level lexer (Scanner, one Line at a time, no allocation per
// line, no regular expressions) and an interpreter (Machine) that tracks the
// modal state — positions, G90/G91, M82/M83, G20/G21, G92 offsets, feed,
// speed/flow factors, temperatures, fan, tool — and turns each motion line
// into a Move in millimetres (arcs included). Memory is bounded by the
// longest line (MaxLineBytes), so files of millions of lines stream.
//
// Errors name the line: "line 123: G1: bad number for X: \"1.2.3\"".
package parse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// MaxLineBytes bounds one line of G-code (PrusaSlicer's config footer has
// the longest lines seen in practice, a few kB).
const MaxLineBytes = 1 << 20

// ErrSyntax is wrapped by every lexical or semantic error of a G-code line.
var ErrSyntax = errors.New("bad G-code")

// LineError locates a problem on one line (1-based).
type LineError struct {
	Line int
	Msg  string
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Unwrap lets errors.Is(err, ErrSyntax) succeed.
func (e *LineError) Unwrap() error { return ErrSyntax }

func lineErr(n int, format string, args ...any) error {
	return &LineError{Line: n, Msg: fmt.Sprintf(format, args...)}
}

// Line is one lexed line. All byte slices alias the Scanner's buffer and are
// valid only until the next call to Scan; copy what you keep.
type Line struct {
	Num int    // 1-based line number in the input
	Raw []byte // the line without its end-of-line bytes

	// Letter is the command letter ('G', 'M', 'T', ...; upper case), or 0
	// when the line has no command (blank, comment-only), or 1 for an
	// extended (Klipper-style) command whose name is in Ext.
	Letter byte
	Code   int    // numeric part of the command: 1 for G1
	Sub    int    // sub-code after a dot (G29.1 → 1), -1 if none
	Ext    []byte // extended command name (e.g. "SET_VELOCITY_LIMIT")

	// Params holds the parameter words of a G/M/T command. Text commands
	// (M117, M118, M23, ...) and extended commands keep their arguments in
	// Args unparsed.
	has     uint32 // bit i: letter 'A'+i present
	novalue uint32 // bit i: letter present without a number ("G28 X")
	decSet  uint32 // bit i: dec[i] was written for this line
	// val[i] is valid when has bit i is set, dec[i] when decSet bit i is
	// (reset does not clear the arrays).
	val [26]float64
	dec [26]int8 // digits after the decimal point, as written
	// BadWord is non-empty when a parameter could not be lexed (the
	// interpreter reports it for commands it executes; other commands are
	// preserved verbatim).
	BadWord []byte
	Args    []byte // raw argument text after the command (trimmed)

	// Comment is the text of the first ';' comment, trimmed of spaces.
	Comment []byte
	// LineNo is the N word when present (host line numbers), else -1.
	LineNo int64
	// HasChecksum reports a "*cs" suffix, already verified by the Scanner.
	HasChecksum bool
}

// Has reports whether parameter c ('A'..'Z') is present.
func (l *Line) Has(c byte) bool {
	i := c - 'A'
	return i < 26 && l.has&(1<<i) != 0
}

// Get returns parameter c and whether it is present with a number.
func (l *Line) Get(c byte) (float64, bool) {
	i := c - 'A'
	if i >= 26 || l.has&(1<<i) == 0 || l.novalue&(1<<i) != 0 {
		return 0, false
	}
	return l.val[i], true
}

// Decimals returns the number of digits written after the decimal point of
// parameter c (0 when absent or integer).
func (l *Line) Decimals(c byte) int {
	i := c - 'A'
	if i >= 26 || l.decSet&(1<<i) == 0 {
		return 0
	}
	return int(l.dec[i])
}

// ParamMask is the set of parameter letters present (bit i = 'A'+i).
func (l *Line) ParamMask() uint32 { return l.has }

// Is reports whether the line is command letter+code (e.g. Is('G', 1)).
func (l *Line) Is(letter byte, code int) bool {
	return l.Letter == letter && l.Code == code
}

// IsComment reports a line with no command.
func (l *Line) IsComment() bool { return l.Letter == 0 }

// CommandName appends the command as written canonically ("G1", "M204",
// "T0", "G29.1" or the extended name) to b.
func (l *Line) CommandName(b []byte) []byte {
	switch l.Letter {
	case 0:
		return b
	case 1:
		return append(b, l.Ext...)
	}
	b = append(b, l.Letter)
	b = strconv.AppendInt(b, int64(l.Code), 10)
	if l.Sub >= 0 {
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(l.Sub), 10)
	}
	return b
}

func (l *Line) reset() {
	// Every field but val and dec (guarded by has and decSet): clearing
	// those 234 bytes per line was a measurable share of lexing.
	l.Raw, l.Letter, l.Code, l.Sub, l.Ext = nil, 0, 0, -1, nil
	l.has, l.novalue, l.decSet = 0, 0, 0
	l.BadWord, l.Args, l.Comment, l.LineNo, l.HasChecksum = nil, nil, nil, -1, false
}

// Scanner reads G-code line by line.
type Scanner struct {
	r    *bufio.Reader
	line Line
	num  int
	err  error
	long []byte // reassembly buffer for lines longer than the bufio buffer
}

// NewScanner returns a Scanner reading from r.
func NewScanner(r io.Reader) *Scanner {
	return &Scanner{r: bufio.NewReaderSize(r, 256<<10)}
}

// Scan advances to the next line. It returns false at EOF or on error.
func (s *Scanner) Scan() bool {
	if s.err != nil {
		return false
	}
	raw, err := s.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		s.long = append(s.long[:0], raw...)
		for err == bufio.ErrBufferFull {
			raw, err = s.r.ReadSlice('\n')
			s.long = append(s.long, raw...)
			if len(s.long) > MaxLineBytes {
				s.num++
				s.err = lineErr(s.num, "line longer than %d bytes", MaxLineBytes)
				return false
			}
		}
		raw = s.long
	}
	if len(raw) == 0 {
		if err != nil && err != io.EOF {
			s.err = fmt.Errorf("read: %w", err)
		}
		return false
	}
	if err != nil && err != io.EOF {
		s.err = fmt.Errorf("read: %w", err)
		return false
	}
	s.num++
	// Strip the end of line.
	n := len(raw)
	for n > 0 && (raw[n-1] == '\n' || raw[n-1] == '\r') {
		n--
	}
	s.line.Num = s.num
	if e := LexLine(raw[:n], &s.line); e != nil {
		s.err = e
		return false
	}
	return true
}

// Line returns the current line (valid until the next Scan).
func (s *Scanner) Line() *Line { return &s.line }

// Err returns the first error (nil at a clean EOF).
func (s *Scanner) Err() error { return s.err }

// textCommand reports M-codes whose argument is free text, not words.
func textCommand(letter byte, code int) bool {
	if letter != 'M' {
		return false
	}
	switch code {
	case 23, 28, 29, 30, 32, 33, 117, 118, 98, 486, 928, 36, 37, 38, 587, 589, 550, 551, 552, 929:
		return true
	}
	return false
}

// LexLine lexes raw (no end-of-line bytes) into l. l.Num must be set; it is
// kept. The only errors are checksum mismatches and NUL bytes.
func LexLine(raw []byte, l *Line) error {
	l.reset()
	l.Raw = raw
	// Comment and checksum.
	body := raw
	if i := bytes.IndexByte(body, ';'); i >= 0 {
		l.Comment = trimSpace(body[i+1:])
		body = body[:i]
	}
	if i := bytes.IndexByte(body, '*'); i >= 0 && i+1 < len(body) && isDigit(skipSpace(body[i+1:])) {
		want, _, ok := parseUint(trimSpace(body[i+1:]))
		if !ok {
			return lineErr(l.Num, "bad checksum %q", trimSpace(body[i+1:]))
		}
		var cs byte
		for _, c := range body[:i] {
			cs ^= c
		}
		if uint64(cs) != want {
			return lineErr(l.Num, "checksum mismatch: line says %d, computed %d", want, cs)
		}
		l.HasChecksum = true
		body = body[:i]
	}
	p := 0
	p = skipBlank(body, p)
	if p >= len(body) {
		return nil
	}
	// Host line number N123.
	if up(body[p]) == 'N' && p+1 < len(body) && isDigit(body[p+1:]) {
		v, w, _ := parseUint(body[p+1:])
		l.LineNo = int64(v)
		p = skipBlank(body, p+1+w)
		if p >= len(body) {
			return nil
		}
	}
	c := up(body[p])
	if c < 'A' || c > 'Z' {
		// Not a command (e.g. stray characters): preserve as an unknown
		// extended command.
		l.Letter = 1
		l.Ext = trimSpace(body[p:])
		return nil
	}
	// Extended (Klipper) command: an identifier longer than one letter not
	// followed by a number, e.g. SET_VELOCITY_LIMIT, PRINT_START.
	if p+1 < len(body) && !isNumStart(body[p+1]) && isIdent(body[p+1]) {
		q := p
		for q < len(body) && isIdent(body[q]) {
			q++
		}
		l.Letter = 1
		l.Ext = body[p:q]
		l.Args = trimSpace(body[q:])
		return nil
	}
	l.Letter = c
	p++
	// Command number (may be absent: "T" alone is odd but preserved).
	v, w, ok := parseUint(body[p:])
	if ok {
		if v > math.MaxInt32 {
			v = math.MaxInt32
		}
		l.Code = int(v)
		p += w
		if p+1 < len(body) && body[p] == '.' && body[p+1] >= '0' && body[p+1] <= '9' {
			sv, sw, _ := parseUint(body[p+1:])
			l.Sub = int(min(sv, 1<<20))
			p += 1 + sw
		}
	} else {
		l.Code = -1
	}
	l.Args = trimSpace(body[p:])
	if textCommand(l.Letter, l.Code) {
		return nil
	}
	lexWords(body, p, l)
	return nil
}

// lexWords reads parameter words "X1.5 Y-2 E.3" (spaces optional,
// "(...)" comments skipped).
func lexWords(body []byte, p int, l *Line) {
	for {
		p = skipBlank(body, p)
		if p >= len(body) {
			return
		}
		if body[p] == '(' {
			q := bytes.IndexByte(body[p:], ')')
			if q < 0 {
				return
			}
			p += q + 1
			continue
		}
		c := up(body[p])
		if c < 'A' || c > 'Z' {
			l.BadWord = trimSpace(body[p:])
			return
		}
		i := c - 'A'
		p++
		// Fast path: a plain number ending at a word boundary, lexed and
		// converted in one pass (the same value as ParseNumber).
		if v, dec, n, ok := fastNumber(body[p:]); ok {
			if q := p + n; q == len(body) || isBlank(body[q]) || isLetter(body[q]) || body[q] == '(' {
				l.has |= 1 << i
				l.decSet |= 1 << i
				l.val[i] = v
				l.dec[i] = int8(min(dec, 127))
				p = q
				continue
			}
		}
		q := p
		for q < len(body) && !isBlank(body[q]) && !isLetter(body[q]) && body[q] != '(' {
			q++
		}
		l.has |= 1 << i
		if q == p {
			l.novalue |= 1 << i
			l.val[i] = 0
			continue
		}
		f, dec, ok := ParseNumber(body[p:q])
		if !ok {
			l.BadWord = body[p-1 : q]
			l.has &^= 1 << i
			return
		}
		l.val[i] = f
		l.dec[i] = int8(min(dec, 127))
		l.decSet |= 1 << i
		p = q
	}
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// ParseNumber parses a G-code decimal number ("-12.5", ".3", "+4", "5.")
// without exponent and reports the digits written after the point. The
// result is correctly rounded (fast path for ≤ 15 significant digits,
// strconv otherwise).
func ParseNumber(b []byte) (v float64, decimals int, ok bool) {
	if v, dec, n, ok := fastNumber(b); ok && n == len(b) {
		return v, dec, true
	}
	// Long mantissas go through strconv; anything else that stopped the
	// fast scan (a second dot, a letter, a lone sign) strconv rejects too
	// (slowNumber refuses exponents, hex, underscores, Inf and NaN).
	return slowNumber(b)
}

// fastNumber converts the number at the start of b exactly (≤ 15
// significant digits): it stops at the first byte that is not a digit or
// the first dot and returns the bytes read (n). ok is false for empty,
// "-", ".", more than 15 significant digits and long integers, which
// ParseNumber hands to strconv.
func fastNumber(b []byte) (v float64, decimals, n int, ok bool) {
	i := 0
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i++
	}
	// mant has as many digits as significant digits were read (leading
	// zeros add none), so more than 15 of them is mant ≥ 10¹⁵.
	const tooMany = 1e15
	var mant uint64
	start := i
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			break
		}
		if mant = mant*10 + uint64(c); mant >= tooMany {
			return 0, 0, 0, false
		}
	}
	frac := 0
	if i < len(b) && b[i] == '.' {
		i++
		if i == start+1 && (i == len(b) || b[i]-'0' > 9) {
			return 0, 0, 0, false // "." alone
		}
		f0 := i
		for ; i < len(b); i++ {
			c := b[i] - '0'
			if c > 9 {
				break
			}
			if mant = mant*10 + uint64(c); mant >= tooMany {
				return 0, 0, 0, false
			}
		}
		if frac = i - f0; frac > 22 {
			return 0, 0, 0, false
		}
	} else if i == start {
		return 0, 0, 0, false
	}
	v = float64(mant) / pow10[frac]
	if neg {
		v = -v
	}
	return v, frac, i, true
}

func slowNumber(b []byte) (float64, int, bool) {
	for _, c := range b {
		if c == 'e' || c == 'E' || c == 'x' || c == 'X' || c == '_' || c == 'i' || c == 'I' || c == 'n' || c == 'N' {
			return 0, 0, false
		}
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, 0, false
	}
	dec := 0
	if i := bytes.IndexByte(b, '.'); i >= 0 {
		dec = len(b) - i - 1
	}
	return v, dec, true
}

func parseUint(b []byte) (v uint64, width int, ok bool) {
	for width < len(b) && b[width] >= '0' && b[width] <= '9' {
		if v < 1<<59 {
			v = v*10 + uint64(b[width]-'0')
		}
		width++
	}
	return v, width, width > 0
}

func up(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 32
	}
	return c
}

func isBlank(c byte) bool  { return c == ' ' || c == '\t' }
func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }
func isIdent(c byte) bool  { return isLetter(c) || c == '_' || c >= '0' && c <= '9' }
func isNumStart(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+'
}
func isDigit(b []byte) bool { return len(b) > 0 && b[0] >= '0' && b[0] <= '9' }

func skipBlank(b []byte, p int) int {
	for p < len(b) && isBlank(b[p]) {
		p++
	}
	return p
}

func skipSpace(b []byte) []byte { return b[skipBlank(b, 0):] }

func trimSpace(b []byte) []byte {
	i, j := 0, len(b)
	for i < j && (isBlank(b[i]) || b[i] == '\r') {
		i++
	}
	for j > i && (isBlank(b[j-1]) || b[j-1] == '\r') {
		j--
	}
	return b[i:j]
}
