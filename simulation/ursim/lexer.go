package ursim

import (
	"fmt"
	"strconv"
	"strings"
)

// URScript lexer. Tokens carry 1-based line and column for error
// messages (the controller reports script line and column in runtime
// exceptions). Newlines are tokens, except inside brackets and parentheses
// where they are whitespace.

type tokKind int

const (
	tEOF tokKind = iota
	tNewline
	tName
	tInt
	tFloat
	tString
	tOp // punctuation and operators
	tKeyword
)

type token struct {
	kind tokKind
	text string
	i    int64
	f    float64
	line int
	col  int
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of program"
	case tNewline:
		return "end of line"
	case tString:
		return strconv.Quote(t.text)
	}
	return "'" + t.text + "'"
}

var scriptKeywords = map[string]bool{
	"def": true, "sec": true, "end": true, "if": true, "elif": true, "else": true, "while": true,
	"return": true, "True": true, "False": true, "and": true, "or": true, "not": true, "xor": true,
	"global": true, "local": true, "thread": true, "run": true, "join": true, "kill": true,
	"halt": true, "break": true, "continue": true, "pass": true, "for": true,
}

// ScriptError is a compile or runtime error at a script position.
type ScriptError struct {
	Line, Col int
	Msg       string
}

func (e *ScriptError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d col %d: %s", e.Line, e.Col, e.Msg)
	}
	return e.Msg
}

func errAt(line, col int, format string, args ...any) *ScriptError {
	return &ScriptError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// maxScriptBytes bounds the size of one program the simulator compiles.
const maxScriptBytes = 8 << 20

func lex(src string) ([]token, error) {
	if len(src) > maxScriptBytes {
		return nil, errAt(0, 0, "program of %d bytes exceeds %d", len(src), maxScriptBytes)
	}
	var toks []token
	line, col := 1, 1
	depth := 0
	i := 0
	adv := func(n int) {
		for k := 0; k < n; k++ {
			if src[i] == '\n' {
				line++
				col = 1
			} else {
				col++
			}
			i++
		}
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\n':
			if depth == 0 && (len(toks) == 0 || toks[len(toks)-1].kind != tNewline) {
				toks = append(toks, token{kind: tNewline, text: "\n", line: line, col: col})
			}
			adv(1)
		case c == ' ' || c == '\t' || c == '\r':
			adv(1)
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				adv(1)
			}
		case c == '"' || c == '\'':
			l0, c0 := line, col
			j := i + 1
			for j < len(src) && src[j] != c && src[j] != '\n' {
				j++
			}
			if j >= len(src) || src[j] != c {
				return nil, errAt(l0, c0, "unterminated string")
			}
			toks = append(toks, token{kind: tString, text: src[i+1 : j], line: l0, col: c0})
			adv(j + 1 - i)
		case isDigit(c) || c == '.' && i+1 < len(src) && isDigit(src[i+1]):
			l0, c0 := line, col
			j := i
			isFloat := false
			for j < len(src) && isDigit(src[j]) {
				j++
			}
			if j < len(src) && src[j] == '.' {
				isFloat = true
				j++
				for j < len(src) && isDigit(src[j]) {
					j++
				}
			}
			if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
				k := j + 1
				if k < len(src) && (src[k] == '+' || src[k] == '-') {
					k++
				}
				if k < len(src) && isDigit(src[k]) {
					isFloat = true
					j = k
					for j < len(src) && isDigit(src[j]) {
						j++
					}
				}
			}
			if j < len(src) && isIdent(src[j]) {
				return nil, errAt(l0, c0, "malformed number %q", src[i:j+1])
			}
			text := src[i:j]
			t := token{text: text, line: l0, col: c0}
			if isFloat {
				f, err := strconv.ParseFloat(text, 64)
				if err != nil {
					return nil, errAt(l0, c0, "malformed number %q", text)
				}
				t.kind, t.f = tFloat, f
			} else {
				n, err := strconv.ParseInt(text, 10, 64)
				if err != nil || n > 1<<31-1 {
					// out of the 32-bit int range: keep it as a float
					f, _ := strconv.ParseFloat(text, 64)
					t.kind, t.f = tFloat, f
				} else {
					t.kind, t.i = tInt, n
				}
			}
			toks = append(toks, t)
			adv(j - i)
		case isIdentStart(c):
			j := i
			for j < len(src) && isIdent(src[j]) {
				j++
			}
			text := src[i:j]
			k := tName
			if scriptKeywords[text] {
				k = tKeyword
			}
			toks = append(toks, token{kind: k, text: text, line: line, col: col})
			adv(j - i)
		default:
			l0, c0 := line, col
			two := ""
			if i+1 < len(src) {
				two = src[i : i+2]
			}
			switch two {
			case "==", "!=", "<=", ">=":
				toks = append(toks, token{kind: tOp, text: two, line: l0, col: c0})
				adv(2)
				continue
			}
			if !strings.ContainsRune("+-*/%<>=()[],:.", rune(c)) {
				if c >= 0x80 {
					return nil, errAt(l0, c0, "non-ASCII character in program text")
				}
				return nil, errAt(l0, c0, "unexpected character %q", c)
			}
			switch c {
			case '(', '[':
				depth++
			case ')', ']':
				if depth > 0 {
					depth--
				}
			}
			toks = append(toks, token{kind: tOp, text: string(c), line: l0, col: c0})
			adv(1)
		}
	}
	if len(toks) == 0 || toks[len(toks)-1].kind != tNewline {
		toks = append(toks, token{kind: tNewline, text: "\n", line: line, col: col})
	}
	toks = append(toks, token{kind: tEOF, line: line, col: col})
	return toks, nil
}

func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdent(c byte) bool      { return isIdentStart(c) || isDigit(c) }
