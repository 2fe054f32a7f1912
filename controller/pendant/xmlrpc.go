package pendant

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// XML-RPC (xmlrpc.com/spec.md) as the UR controller speaks it: a POST of
//
//	<?xml version="1.0"?>
//	<methodCall><methodName>start_job</methodName>
//	  <params><param><value><string>femur</string></value></param></params>
//	</methodCall>
//
// answered by a methodResponse with one param or a fault. Values: <int>,
// <i4>, <i8> (int64), <double> (float64), <boolean> 0/1 (bool), <string>
// or untyped text (string), <array><data>…</data></array> ([]any),
// <struct><member><name/><value/></member>…</struct> (map[string]any),
// <dateTime.iso8601> (time.Time), <base64> ([]byte) and the <nil/>
// extension (nil).

// Fault codes (the xmlrpc-epi "specification for fault code
// interoperability" that most servers use).
const (
	FaultParse          = -32700 // not well-formed XML
	FaultInvalidRequest = -32600 // not a methodCall
	FaultUnknownMethod  = -32601
	FaultInvalidParams  = -32602
	FaultInternal       = -32603
)

// Fault is an XML-RPC fault response.
type Fault struct {
	Code   int
	String string
}

func (f *Fault) Error() string { return fmt.Sprintf("xml-rpc fault %d: %s", f.Code, f.String) }

// Call is a decoded methodCall.
type Call struct {
	Method string
	Params []any
}

// maxDepth bounds array/struct nesting.
const maxDepth = 32

// DecodeCall parses a methodCall. Errors are *Fault (parse or invalid
// request).
func DecodeCall(r io.Reader) (Call, error) {
	d := xml.NewDecoder(r)
	d.Strict = true
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "us-ascii", "ascii":
			return in, nil
		}
		return nil, fmt.Errorf("unsupported charset %q", label)
	}
	p := &parser{d: d}
	start, err := p.nextStart()
	if err != nil {
		return Call{}, p.fault(err)
	}
	if start.Name.Local != "methodCall" {
		return Call{}, &Fault{FaultInvalidRequest, fmt.Sprintf("root element <%s>: want <methodCall>", start.Name.Local)}
	}
	var c Call
	seenName := false
	for {
		tok, err := p.token()
		if err != nil {
			return Call{}, p.fault(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "methodName":
				s, err := p.text("methodName")
				if err != nil {
					return Call{}, p.fault(err)
				}
				c.Method, seenName = strings.TrimSpace(s), true
			case "params":
				if c.Params, err = p.params(); err != nil {
					return Call{}, p.fault(err)
				}
			default:
				return Call{}, &Fault{FaultInvalidRequest, fmt.Sprintf("unexpected <%s> in <methodCall>", t.Name.Local)}
			}
		case xml.EndElement:
			if !seenName || c.Method == "" {
				return Call{}, &Fault{FaultInvalidRequest, "methodCall without a methodName"}
			}
			if err := p.end(); err != nil {
				return Call{}, p.fault(err)
			}
			return c, nil
		default:
			return Call{}, &Fault{FaultInvalidRequest, fmt.Sprintf("unexpected %s in <methodCall>", describe(tok))}
		}
	}
}

type parser struct {
	d     *xml.Decoder
	depth int
}

type syntaxErr struct{ msg string }

func (e *syntaxErr) Error() string { return e.msg }

func (p *parser) fault(err error) error {
	var f *Fault
	if errors.As(err, &f) {
		return f
	}
	var se *syntaxErr
	if errors.As(err, &se) {
		return &Fault{FaultInvalidRequest, se.msg}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &Fault{FaultParse, "malformed XML: unexpected end of document"}
	}
	return &Fault{FaultParse, "malformed XML: " + strings.TrimPrefix(err.Error(), "XML syntax error ")}
}

// token returns the next token, skipping comments, processing
// instructions and whitespace-only text; DOCTYPE (entity tricks) is
// refused.
func (p *parser) token() (xml.Token, error) {
	for {
		tok, err := p.d.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, &syntaxErr{"DOCTYPE and other directives are not accepted"}
		case xml.Comment, xml.ProcInst:
			continue
		case xml.CharData:
			if len(bytes.TrimSpace(t)) == 0 {
				continue
			}
			return xml.CharData(append([]byte(nil), t...)), nil
		default:
			return tok, nil
		}
	}
}

func (p *parser) nextStart() (xml.StartElement, error) {
	tok, err := p.token()
	if err != nil {
		return xml.StartElement{}, err
	}
	s, ok := tok.(xml.StartElement)
	if !ok {
		return xml.StartElement{}, &syntaxErr{fmt.Sprintf("unexpected %s", describe(tok))}
	}
	return s, nil
}

// end expects nothing but whitespace after the root element.
func (p *parser) end() error {
	tok, err := p.token()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return err
	}
	return &syntaxErr{fmt.Sprintf("unexpected %s after </methodCall>", describe(tok))}
}

func describe(tok xml.Token) string {
	switch t := tok.(type) {
	case xml.StartElement:
		return "<" + t.Name.Local + ">"
	case xml.EndElement:
		return "</" + t.Name.Local + ">"
	case xml.CharData:
		return fmt.Sprintf("text %q", clip(string(t), 40))
	}
	return fmt.Sprintf("%T", tok)
}

// text reads character data up to the end of element name (no children).
func (p *parser) text(name string) (string, error) {
	var b strings.Builder
	for {
		tok, err := p.d.Token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.Comment, xml.ProcInst:
		case xml.EndElement:
			return b.String(), nil
		default:
			return "", &syntaxErr{fmt.Sprintf("unexpected %s inside <%s>", describe(tok), name)}
		}
	}
}

func (p *parser) params() ([]any, error) {
	out := []any{}
	for {
		tok, err := p.token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return out, nil
		case xml.StartElement:
			if t.Name.Local != "param" {
				return nil, &syntaxErr{fmt.Sprintf("unexpected <%s> in <params>", t.Name.Local)}
			}
			v, err := p.valueIn("param")
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		default:
			return nil, &syntaxErr{fmt.Sprintf("unexpected %s in <params>", describe(tok))}
		}
	}
}

// valueIn reads <value>…</value> and then the end of the enclosing element.
func (p *parser) valueIn(parent string) (any, error) {
	s, err := p.nextStart()
	if err != nil {
		return nil, err
	}
	if s.Name.Local != "value" {
		return nil, &syntaxErr{fmt.Sprintf("<%s> inside <%s>: want <value>", s.Name.Local, parent)}
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	if _, ok := tok.(xml.EndElement); !ok {
		return nil, &syntaxErr{fmt.Sprintf("unexpected %s after the <value> of <%s>", describe(tok), parent)}
	}
	return v, nil
}

// value reads the content of a <value> element (its start already read)
// through its end.
func (p *parser) value() (any, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, &syntaxErr{fmt.Sprintf("values nested deeper than %d", maxDepth)}
	}
	var text strings.Builder
	var v any
	typed := false
	for {
		tok, err := p.d.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, &syntaxErr{"DOCTYPE and other directives are not accepted"}
		case xml.Comment, xml.ProcInst:
		case xml.CharData:
			if typed && len(bytes.TrimSpace(t)) > 0 {
				return nil, &syntaxErr{"text next to a typed value"}
			}
			text.Write(t)
		case xml.EndElement:
			if !typed {
				return text.String(), nil // untyped = string (spaces kept)
			}
			return v, nil
		case xml.StartElement:
			if typed {
				return nil, &syntaxErr{"<value> holds more than one value"}
			}
			if strings.TrimSpace(text.String()) != "" {
				return nil, &syntaxErr{"text next to a typed value"}
			}
			typed = true
			if v, err = p.typed(t.Name.Local); err != nil {
				return nil, err
			}
		}
	}
}

func (p *parser) typed(kind string) (any, error) {
	switch kind {
	case "int", "i4", "i8":
		s, err := p.text(kind)
		if err != nil {
			return nil, err
		}
		bits := 32
		if kind == "i8" {
			bits = 64
		}
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, bits)
		if err != nil {
			return nil, &syntaxErr{fmt.Sprintf("<%s>%s</%s>: not a %d-bit integer", kind, clip(s, 30), kind, bits)}
		}
		return n, nil
	case "double":
		s, err := p.text(kind)
		if err != nil {
			return nil, err
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, &syntaxErr{fmt.Sprintf("<double>%s</double>: not a finite number", clip(s, 30))}
		}
		return f, nil
	case "boolean":
		s, err := p.text(kind)
		if err != nil {
			return nil, err
		}
		switch strings.TrimSpace(s) {
		case "1":
			return true, nil
		case "0":
			return false, nil
		}
		return nil, &syntaxErr{fmt.Sprintf("<boolean>%s</boolean>: want 0 or 1", clip(s, 30))}
	case "string":
		return p.text(kind)
	case "dateTime.iso8601":
		s, err := p.text(kind)
		if err != nil {
			return nil, err
		}
		s = strings.TrimSpace(s)
		for _, layout := range []string{"20060102T15:04:05", "2006-01-02T15:04:05", time.RFC3339, "20060102T15:04:05Z07:00"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t, nil
			}
		}
		return nil, &syntaxErr{fmt.Sprintf("<dateTime.iso8601>%s</dateTime.iso8601>: not ISO 8601", clip(s, 30))}
	case "base64":
		s, err := p.text(kind)
		if err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return nil, &syntaxErr{"<base64>: " + err.Error()}
		}
		return b, nil
	case "nil":
		if _, err := p.text(kind); err != nil {
			return nil, err
		}
		return nil, nil
	case "array":
		return p.array()
	case "struct":
		return p.structure()
	}
	return nil, &syntaxErr{fmt.Sprintf("unknown value type <%s>", kind)}
}

func (p *parser) array() (any, error) {
	s, err := p.nextStart()
	if err != nil {
		return nil, err
	}
	if s.Name.Local != "data" {
		return nil, &syntaxErr{fmt.Sprintf("<%s> in <array>: want <data>", s.Name.Local)}
	}
	out := []any{}
	for {
		tok, err := p.token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.EndElement: // </data>
			tok, err := p.token()
			if err != nil {
				return nil, err
			}
			if _, ok := tok.(xml.EndElement); !ok {
				return nil, &syntaxErr{fmt.Sprintf("unexpected %s after </data>", describe(tok))}
			}
			return out, nil
		case xml.StartElement:
			if t.Name.Local != "value" {
				return nil, &syntaxErr{fmt.Sprintf("<%s> in <data>: want <value>", t.Name.Local)}
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		default:
			return nil, &syntaxErr{fmt.Sprintf("unexpected %s in <data>", describe(tok))}
		}
	}
}

func (p *parser) structure() (any, error) {
	out := map[string]any{}
	for {
		tok, err := p.token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return out, nil
		case xml.StartElement:
			if t.Name.Local != "member" {
				return nil, &syntaxErr{fmt.Sprintf("<%s> in <struct>: want <member>", t.Name.Local)}
			}
			n, err := p.nextStart()
			if err != nil {
				return nil, err
			}
			if n.Name.Local != "name" {
				return nil, &syntaxErr{fmt.Sprintf("<%s> in <member>: want <name>", n.Name.Local)}
			}
			name, err := p.text("name")
			if err != nil {
				return nil, err
			}
			v, err := p.valueIn("member")
			if err != nil {
				return nil, err
			}
			out[name] = v
		default:
			return nil, &syntaxErr{fmt.Sprintf("unexpected %s in <struct>", describe(tok))}
		}
	}
}

// EncodeResponse writes a methodResponse carrying v: int/int32/int64 →
// <int> (clamped to 32 bits: the UR controller's integers are 32-bit),
// float64 → <double> (no exponent; NaN/Inf refused), bool → <boolean>,
// string → <string>, []string/[]int/[]float64/[]any → <array>,
// map[string]any → <struct> (members sorted by name), nil → empty
// <string/>.
func EncodeResponse(w io.Writer, v any) error {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0"?>` + "\n<methodResponse><params><param>")
	if err := encodeValue(&b, v, 0); err != nil {
		return err
	}
	b.WriteString("</param></params></methodResponse>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// EncodeFault writes a methodResponse fault.
func EncodeFault(w io.Writer, f *Fault) error {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0"?>` + "\n<methodResponse><fault>")
	_ = encodeValue(&b, map[string]any{"faultCode": f.Code, "faultString": f.String}, 0)
	b.WriteString("</fault></methodResponse>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func encodeValue(b *bytes.Buffer, v any, depth int) error {
	if depth > maxDepth {
		return errors.New("xml-rpc: value nested too deep")
	}
	b.WriteString("<value>")
	switch x := v.(type) {
	case nil:
		b.WriteString("<string></string>")
	case bool:
		if x {
			b.WriteString("<boolean>1</boolean>")
		} else {
			b.WriteString("<boolean>0</boolean>")
		}
	case int:
		writeInt(b, int64(x))
	case int32:
		writeInt(b, int64(x))
	case int64:
		writeInt(b, x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("xml-rpc: %v cannot be encoded as <double>", x)
		}
		// XML-RPC doubles have no exponent: plain decimal notation.
		b.WriteString("<double>" + strconv.FormatFloat(x, 'f', -1, 64) + "</double>")
	case string:
		b.WriteString("<string>")
		writeText(b, x)
		b.WriteString("</string>")
	case []string:
		b.WriteString("<array><data>")
		for _, s := range x {
			if err := encodeValue(b, s, depth+1); err != nil {
				return err
			}
		}
		b.WriteString("</data></array>")
	case []int:
		b.WriteString("<array><data>")
		for _, n := range x {
			if err := encodeValue(b, n, depth+1); err != nil {
				return err
			}
		}
		b.WriteString("</data></array>")
	case []float64:
		b.WriteString("<array><data>")
		for _, n := range x {
			if err := encodeValue(b, n, depth+1); err != nil {
				return err
			}
		}
		b.WriteString("</data></array>")
	case []any:
		b.WriteString("<array><data>")
		for _, e := range x {
			if err := encodeValue(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteString("</data></array>")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("<struct>")
		for _, k := range keys {
			b.WriteString("<member><name>")
			writeText(b, k)
			b.WriteString("</name>")
			if err := encodeValue(b, x[k], depth+1); err != nil {
				return err
			}
			b.WriteString("</member>")
		}
		b.WriteString("</struct>")
	default:
		return fmt.Errorf("xml-rpc: cannot encode %T", v)
	}
	b.WriteString("</value>")
	return nil
}

// writeInt writes <int> for 32-bit values; larger ones are clamped (the
// UR controller's XML-RPC integers are 32-bit).
func writeInt(b *bytes.Buffer, n int64) {
	n = max(math.MinInt32, min(math.MaxInt32, n))
	b.WriteString("<int>" + strconv.FormatInt(n, 10) + "</int>")
}

// writeText escapes s for XML character data; characters XML 1.0 cannot
// carry (control characters other than tab/newline/CR, invalid UTF-8) are
// replaced by U+FFFD.
func writeText(b *bytes.Buffer, s string) {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	_ = xml.EscapeText(b, []byte(s))
}

// clip shortens s to n runes.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
