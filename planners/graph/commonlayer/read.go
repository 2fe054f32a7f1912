package commonlayer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

// MaxFileBytes bounds the size of a CLI file ReadFile accepts.
var MaxFileBytes int64 = 1 << 30

// maxHeaderBytes bounds the header search, so a file without $$HEADEREND is
// rejected without scanning gigabytes.
const maxHeaderBytes = 1 << 20

// Binary command indices (CLI 2.0 §5.3).
const (
	cmdLayerLong     = 127
	cmdLayerShort    = 128
	cmdPolylineShort = 129
	cmdPolylineLong  = 130
	cmdHatchesShort  = 131
	cmdHatchesLong   = 132
)

// ReadFile reads and parses a CLI file (ASCII or binary).
func ReadFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > MaxFileBytes {
		return nil, fileErr(path, ErrTooLarge, "file is %d bytes, limit %d", st.Size(), MaxFileBytes)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", path, err)
	}
	if int64(len(data)) > MaxFileBytes {
		return nil, fileErr(path, ErrTooLarge, "file is larger than %d bytes", MaxFileBytes)
	}
	return Parse(path, data)
}

// Parse parses a whole CLI file held in data; name is used in errors.
func Parse(name string, data []byte) (*File, error) {
	p := &parser{file: name, data: data, skipped: map[string]int{}}
	return p.parse()
}

type parser struct {
	file    string
	data    []byte
	f       File
	skipped map[string]int
	// parameter state (vendor lines), persistent across layers
	params map[string]float64
	cur    []Param
}

// command is one "$$NAME/args" of the text parts.
type command struct {
	name string
	args string
	line int
}

func (p *parser) parse() (*File, error) {
	d := p.data
	start := 0
	// tolerate a UTF-8 BOM and leading blank space
	if bytes.HasPrefix(d, []byte("\xef\xbb\xbf")) {
		start = 3
	}
	for start < len(d) && isSpace(d[start]) {
		start++
	}
	if len(d) == start {
		return nil, fileErr(p.file, ErrHeader, "empty file")
	}
	if !bytes.HasPrefix(d[start:], []byte("$$HEADERSTART")) {
		return nil, lineErr(p.file, 1+bytes.Count(d[:start], nl), ErrHeader, "file does not start with $$HEADERSTART")
	}
	limit := min(len(d), start+maxHeaderBytes)
	end := bytes.Index(d[start:limit], []byte("$$HEADEREND"))
	if end < 0 {
		if limit == len(d) {
			return nil, fileErr(p.file, ErrHeader, "file ends before $$HEADEREND")
		}
		return nil, fileErr(p.file, ErrHeader, "no $$HEADEREND in the first %d bytes", maxHeaderBytes)
	}
	end += start
	headerCmds, err := p.splitCommands(d[start:end], 1+bytes.Count(d[:start], nl))
	if err != nil {
		return nil, err
	}
	if err := p.header(headerCmds, 1+bytes.Count(d[:end], nl)); err != nil {
		return nil, err
	}
	geo := end + len("$$HEADEREND")
	if p.f.Header.Encoding == Binary {
		err = p.binary(geo)
	} else {
		err = p.ascii(geo)
	}
	if err != nil {
		return nil, err
	}
	if len(p.skipped) > 0 {
		p.f.Skipped = p.skipped
	}
	return &p.f, nil
}

var nl = []byte{'\n'}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\r' || b == '\n' || b == '\f' || b == '\v'
}

// splitCommands cuts text into "$$NAME/args" commands. Arguments may
// continue over several lines (line breaks count as blanks); comments
// "//…//" (or "//" to the end of the line) are removed. line is the line
// number of text[0].
func (p *parser) splitCommands(text []byte, line int) ([]command, error) {
	var out []command
	i := 0
	for i < len(text) {
		// skip blanks and comments between commands
		c := text[i]
		if isSpace(c) {
			if c == '\n' {
				line++
			}
			i++
			continue
		}
		if c == '/' && i+1 < len(text) && text[i+1] == '/' {
			i, line = skipComment(text, i, line)
			continue
		}
		if c != '$' || i+1 >= len(text) || text[i+1] != '$' {
			j := i
			for j < len(text) && text[j] != '\n' && j-i < 40 {
				j++
			}
			return nil, lineErr(p.file, line, ErrSyntax, "text outside a $$ command: %q", string(text[i:j]))
		}
		cmdLine := line
		i += 2
		j := i
		for j < len(text) && (isAlnum(text[j])) {
			j++
		}
		name := string(text[i:j])
		if name == "" {
			return nil, lineErr(p.file, line, ErrSyntax, "\"$$\" without a command name")
		}
		i = j
		var args strings.Builder
		if i < len(text) && text[i] == '/' {
			i++
		}
		for i < len(text) {
			c := text[i]
			if c == '$' && i+1 < len(text) && text[i+1] == '$' {
				break
			}
			if c == '/' && i+1 < len(text) && text[i+1] == '/' {
				i, line = skipComment(text, i, line)
				args.WriteByte(' ')
				continue
			}
			if c == '\n' {
				line++
			}
			if c == '\n' || c == '\r' || c == '\t' {
				c = ' '
			}
			args.WriteByte(c)
			i++
		}
		out = append(out, command{name: name, args: strings.TrimSpace(args.String()), line: cmdLine})
	}
	return out, nil
}

func skipComment(text []byte, i, line int) (int, int) {
	j := i + 2
	for j < len(text) {
		if text[j] == '\n' {
			return j, line // unterminated: comment ends at the line end
		}
		if text[j] == '/' && j+1 < len(text) && text[j+1] == '/' {
			return j + 2, line
		}
		j++
	}
	return j, line
}

func isAlnum(b byte) bool {
	return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_'
}

func (p *parser) header(cmds []command, endLine int) error {
	h := &p.f.Header
	var sawEnc, sawUnits bool
	for _, c := range cmds {
		if err := p.noArgs(c, "HEADERSTART", "ASCII", "BINARY", "ALIGN"); err != nil {
			return err
		}
		switch strings.ToUpper(c.name) {
		case "HEADERSTART":
		case "ASCII", "BINARY":
			if sawEnc {
				return lineErr(p.file, c.line, ErrHeader, "second encoding line $$%s", c.name)
			}
			sawEnc = true
			if strings.EqualFold(c.name, "BINARY") {
				h.Encoding = Binary
			} else {
				h.Encoding = ASCII
			}
		case "UNITS":
			u, err := strconv.ParseFloat(c.args, 64)
			if err != nil || !(u > 0) || math.IsInf(u, 0) {
				return lineErr(p.file, c.line, ErrUnit, "$$UNITS/%s: want a positive number of millimetres per unit", c.args)
			}
			h.UnitsMM, sawUnits = u, true
		case "VERSION":
			v, err := strconv.Atoi(c.args)
			if err != nil || v < 0 {
				return lineErr(p.file, c.line, ErrHeader, "$$VERSION/%s: want an integer such as 200", c.args)
			}
			h.Version = v
		case "DATE":
			h.Date = c.args
		case "DIMENSION":
			fs := strings.Split(c.args, ",")
			if len(fs) != 6 {
				return lineErr(p.file, c.line, ErrHeader, "$$DIMENSION: want x1,y1,z1,x2,y2,z2, got %d values", len(fs))
			}
			var dim [6]float64
			for k, s := range fs {
				v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
				if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
					return lineErr(p.file, c.line, ErrHeader, "$$DIMENSION value %d %q is not a finite number", k+1, s)
				}
				dim[k] = v
			}
			h.Dimension = &dim
		case "LAYERS":
			n, err := strconv.Atoi(c.args)
			if err != nil || n < 0 {
				return lineErr(p.file, c.line, ErrHeader, "$$LAYERS/%s: want a non-negative integer", c.args)
			}
			h.Layers = n
		case "LABEL":
			id, text, _ := strings.Cut(c.args, ",")
			n, err := strconv.Atoi(strings.TrimSpace(id))
			if err != nil {
				return lineErr(p.file, c.line, ErrHeader, "$$LABEL/%s: want id,text", c.args)
			}
			h.Labels = append(h.Labels, Label{ID: n, Text: text})
		case "ALIGN":
			h.Align = true
		default:
			s := c.name
			if c.args != "" {
				s += "/" + c.args
			}
			h.Extra = append(h.Extra, s)
		}
	}
	if !sawEnc {
		return lineErr(p.file, endLine, ErrHeader, "header declares neither $$ASCII nor $$BINARY")
	}
	if !sawUnits {
		return lineErr(p.file, endLine, ErrUnit, "header has no $$UNITS (millimetres per coordinate unit)")
	}
	if h.Encoding == Binary && h.Align {
		return lineErr(p.file, endLine, ErrUnsupported, "$$ALIGN binary layout is not supported")
	}
	return nil
}

// noArgs rejects text after the argument-less commands in names.
func (p *parser) noArgs(c command, names ...string) error {
	if c.args == "" {
		return nil
	}
	for _, n := range names {
		if strings.EqualFold(c.name, n) {
			a := c.args
			if len(a) > 40 {
				a = a[:40] + "..."
			}
			return lineErr(p.file, c.line, ErrSyntax, "unexpected text %q after $$%s", a, c.name)
		}
	}
	return nil
}

// setParam records a vendor parameter; the next vector blocks carry it.
func (p *parser) setParam(name string, v float64) {
	if p.params == nil {
		p.params = map[string]float64{}
	}
	if old, ok := p.params[name]; ok && old == v {
		return
	}
	p.params[name] = v
	p.cur = make([]Param, 0, len(p.params))
	for n, x := range p.params {
		p.cur = append(p.cur, Param{Name: n, Value: x})
	}
	sort.Slice(p.cur, func(i, j int) bool { return p.cur[i].Name < p.cur[j].Name })
}

func (p *parser) ascii(pos int) error {
	line := 1 + bytes.Count(p.data[:pos], nl)
	cmds, err := p.splitCommands(p.data[pos:], line)
	if err != nil {
		return err
	}
	u := p.f.Header.UnitsMM
	started, ended := false, false
	var layer *Layer
	lastLine := line + bytes.Count(p.data[pos:], nl)
	for _, c := range cmds {
		name := strings.ToUpper(c.name)
		if ended {
			return lineErr(p.file, c.line, ErrSyntax, "$$%s after $$GEOMETRYEND", c.name)
		}
		if err := p.noArgs(c, "GEOMETRYSTART", "GEOMETRYEND"); err != nil {
			return err
		}
		switch name {
		case "GEOMETRYSTART":
			if started || layer != nil {
				return lineErr(p.file, c.line, ErrSyntax, "second $$GEOMETRYSTART")
			}
			started = true
		case "GEOMETRYEND":
			ended = true
		case "LAYER":
			z, err := parseNum(c.args)
			if err != nil {
				return lineErr(p.file, c.line, errKind(err), "$$LAYER/%s: z %v", c.args, err)
			}
			p.f.Layers = append(p.f.Layers, Layer{ZMM: z * u})
			layer = &p.f.Layers[len(p.f.Layers)-1]
		case "POLYLINE":
			if layer == nil {
				return lineErr(p.file, c.line, ErrSyntax, "$$POLYLINE before the first $$LAYER")
			}
			fs := splitArgs(c.args)
			if len(fs) < 3 {
				return lineErr(p.file, c.line, ErrSyntax, "$$POLYLINE: want id,dir,n,x1,y1,..., got %d values", len(fs))
			}
			var hdr [3]int
			for k := range hdr {
				v, err := parseInt(fs[k])
				if err != nil {
					return lineErr(p.file, c.line, ErrSyntax, "$$POLYLINE %s %q: %v", [3]string{"id", "dir", "n"}[k], fs[k], err)
				}
				hdr[k] = v
			}
			if hdr[1] < 0 || hdr[1] > 2 {
				return lineErr(p.file, c.line, ErrRange, "$$POLYLINE dir %d: want 0 (cw), 1 (ccw) or 2 (open)", hdr[1])
			}
			n := hdr[2]
			if n < 0 || len(fs)-3 != 2*n {
				return lineErr(p.file, c.line, ErrSyntax, "$$POLYLINE declares %d points but holds %d coordinates", n, len(fs)-3)
			}
			pts := make([]Point, n)
			for k := range pts {
				x, err := parseNum(fs[3+2*k])
				if err == nil {
					pts[k].Y, err = parseNum(fs[4+2*k])
				}
				if err != nil {
					return lineErr(p.file, c.line, errKind(err), "$$POLYLINE point %d: %v", k+1, err)
				}
				pts[k].X = x * u
				pts[k].Y *= u
			}
			layer.Polylines = append(layer.Polylines, Polyline{ID: hdr[0], Dir: Dir(hdr[1]), Points: pts, Params: p.cur})
		case "HATCHES":
			if layer == nil {
				return lineErr(p.file, c.line, ErrSyntax, "$$HATCHES before the first $$LAYER")
			}
			fs := splitArgs(c.args)
			if len(fs) < 2 {
				return lineErr(p.file, c.line, ErrSyntax, "$$HATCHES: want id,n,x1s,y1s,x1e,y1e,..., got %d values", len(fs))
			}
			id, err := parseInt(fs[0])
			if err != nil {
				return lineErr(p.file, c.line, ErrSyntax, "$$HATCHES id %q: %v", fs[0], err)
			}
			n, err := parseInt(fs[1])
			if err != nil {
				return lineErr(p.file, c.line, ErrSyntax, "$$HATCHES n %q: %v", fs[1], err)
			}
			if n < 0 || len(fs)-2 != 4*n {
				return lineErr(p.file, c.line, ErrSyntax, "$$HATCHES declares %d hatches but holds %d coordinates", n, len(fs)-2)
			}
			segs := make([]Segment, n)
			for k := range segs {
				var v [4]float64
				for m := range v {
					x, err := parseNum(fs[2+4*k+m])
					if err != nil {
						return lineErr(p.file, c.line, errKind(err), "$$HATCHES hatch %d: %v", k+1, err)
					}
					v[m] = x * u
				}
				segs[k] = Segment{Point{v[0], v[1]}, Point{v[2], v[3]}}
			}
			layer.Hatches = append(layer.Hatches, Hatches{ID: id, Segments: segs, Params: p.cur})
		default:
			// vendor extension: a single number is a parameter
			if v, err := parseNum(c.args); err == nil && !strings.Contains(c.args, ",") {
				p.setParam(name, v)
			} else {
				p.skipped[name]++
			}
		}
	}
	if started && !ended {
		return lineErr(p.file, lastLine, ErrTruncated, "file ends without $$GEOMETRYEND (truncated?)")
	}
	return nil
}

func splitArgs(s string) []string {
	if s == "" {
		return nil
	}
	fs := strings.Split(s, ",")
	if len(fs) > 1 && strings.TrimSpace(fs[len(fs)-1]) == "" {
		fs = fs[:len(fs)-1] // tolerate one trailing comma
	}
	return fs
}

type numError struct {
	msg       string
	nonFinite bool
}

func (e *numError) Error() string { return e.msg }

func errKind(err error) error {
	if ne, ok := err.(*numError); ok && ne.nonFinite {
		return ErrNonFinite
	}
	return ErrSyntax
}

func parseNum(s string) (float64, error) {
	s = strings.TrimSpace(s)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && !math.IsInf(v, 0) {
		return 0, &numError{msg: fmt.Sprintf("%q is not a number", s)}
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, &numError{msg: fmt.Sprintf("%q is not finite", s), nonFinite: true}
	}
	return v, nil
}

func parseInt(s string) (int, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.Atoi(s)
	if err == nil {
		return n, nil
	}
	v, ferr := strconv.ParseFloat(s, 64)
	if ferr != nil || v != math.Trunc(v) || math.Abs(v) > 1<<31 {
		return 0, fmt.Errorf("not an integer")
	}
	return int(v), nil
}

// binary walks the little-endian command stream after $$HEADEREND.
func (p *parser) binary(pos int) error {
	d := p.data
	// Some writers end the header line before the binary data; a CR/LF can
	// never start a valid command (indices 127..132 have a zero high byte).
	for pos < len(d) && (d[pos] == '\r' || d[pos] == '\n') {
		pos++
	}
	if bytes.HasPrefix(d[pos:], []byte("$$GEOMETRYSTART")) {
		pos += len("$$GEOMETRYSTART")
		for pos < len(d) && (d[pos] == '\r' || d[pos] == '\n') {
			pos++
		}
	}
	u := p.f.Header.UnitsMM
	le := binary.LittleEndian
	// 16-bit coordinates: signed unless $$DIMENSION shows coordinates that
	// only the unsigned reading can hold (see Header.ShortUnsigned).
	if dim := p.f.Header.Dimension; dim != nil {
		lim := 32767.5 * u
		p.f.Header.ShortUnsigned = dim[0] >= 0 && dim[1] >= 0 && (dim[3] > lim || dim[4] > lim)
	}
	s16 := func(at int) float64 {
		if p.f.Header.ShortUnsigned {
			return float64(le.Uint16(d[at:]))
		}
		return float64(int16(le.Uint16(d[at:])))
	}
	var layer *Layer
	need := func(at int, n int, what string) error {
		if n < 0 || len(d)-at < n {
			return offErr(p.file, int64(at), ErrTruncated, "truncated %s: need %d bytes, %d left", what, n, len(d)-at)
		}
		return nil
	}
	f32 := func(at int) (float64, bool) {
		v := float64(math.Float32frombits(le.Uint32(d[at:])))
		return v, !math.IsNaN(v) && !math.IsInf(v, 0)
	}
	for pos < len(d) {
		at := pos
		if err := need(at, 2, "command index"); err != nil {
			return err
		}
		ci := le.Uint16(d[at:])
		pos += 2
		switch ci {
		case cmdLayerLong:
			if err := need(pos, 4, "layer"); err != nil {
				return err
			}
			z, ok := f32(pos)
			if !ok {
				return offErr(p.file, int64(at), ErrNonFinite, "layer z is not finite")
			}
			pos += 4
			p.f.Layers = append(p.f.Layers, Layer{ZMM: z * u})
			layer = &p.f.Layers[len(p.f.Layers)-1]
		case cmdLayerShort:
			if err := need(pos, 2, "layer"); err != nil {
				return err
			}
			p.f.Layers = append(p.f.Layers, Layer{ZMM: float64(le.Uint16(d[pos:])) * u})
			layer = &p.f.Layers[len(p.f.Layers)-1]
			pos += 2
		case cmdPolylineShort, cmdPolylineLong:
			long := ci == cmdPolylineLong
			if layer == nil {
				return offErr(p.file, int64(at), ErrSyntax, "polyline before the first layer")
			}
			var id, dir, n int
			if long {
				if err := need(pos, 12, "polyline header"); err != nil {
					return err
				}
				id, dir, n = int(int32(le.Uint32(d[pos:]))), int(int32(le.Uint32(d[pos+4:]))), int(int32(le.Uint32(d[pos+8:])))
				pos += 12
			} else {
				if err := need(pos, 6, "polyline header"); err != nil {
					return err
				}
				id, dir, n = int(le.Uint16(d[pos:])), int(le.Uint16(d[pos+2:])), int(le.Uint16(d[pos+4:]))
				pos += 6
			}
			if dir < 0 || dir > 2 {
				return offErr(p.file, int64(at), ErrRange, "polyline dir %d: want 0 (cw), 1 (ccw) or 2 (open)", dir)
			}
			if n < 0 {
				return offErr(p.file, int64(at), ErrRange, "polyline declares %d points", n)
			}
			size := 4
			if long {
				size = 8
			}
			if int64(n)*int64(size) > int64(len(d)-pos) {
				return offErr(p.file, int64(at), ErrTruncated, "truncated polyline: declares %d points (%d bytes), %d bytes left", n, n*size, len(d)-pos)
			}
			pts := make([]Point, n)
			for k := range pts {
				if long {
					x, okx := f32(pos)
					y, oky := f32(pos + 4)
					if !okx || !oky {
						return offErr(p.file, int64(at), ErrNonFinite, "polyline point %d is not finite", k+1)
					}
					pts[k] = Point{x * u, y * u}
				} else {
					pts[k] = Point{s16(pos) * u, s16(pos+2) * u}
				}
				pos += size
			}
			layer.Polylines = append(layer.Polylines, Polyline{ID: id, Dir: Dir(dir), Points: pts})
		case cmdHatchesShort, cmdHatchesLong:
			long := ci == cmdHatchesLong
			if layer == nil {
				return offErr(p.file, int64(at), ErrSyntax, "hatches before the first layer")
			}
			var id, n int
			if long {
				if err := need(pos, 8, "hatches header"); err != nil {
					return err
				}
				id, n = int(int32(le.Uint32(d[pos:]))), int(int32(le.Uint32(d[pos+4:])))
				pos += 8
			} else {
				if err := need(pos, 4, "hatches header"); err != nil {
					return err
				}
				id, n = int(le.Uint16(d[pos:])), int(le.Uint16(d[pos+2:]))
				pos += 4
			}
			if n < 0 {
				return offErr(p.file, int64(at), ErrRange, "hatches block declares %d hatches", n)
			}
			size := 8
			if long {
				size = 16
			}
			if int64(n)*int64(size) > int64(len(d)-pos) {
				return offErr(p.file, int64(at), ErrTruncated, "truncated hatches: declares %d hatches (%d bytes), %d bytes left", n, n*size, len(d)-pos)
			}
			segs := make([]Segment, n)
			for k := range segs {
				var v [4]float64
				for m := range v {
					if long {
						x, ok := f32(pos + 4*m)
						if !ok {
							return offErr(p.file, int64(at), ErrNonFinite, "hatch %d is not finite", k+1)
						}
						v[m] = x * u
					} else {
						v[m] = s16(pos+2*m) * u
					}
				}
				segs[k] = Segment{Point{v[0], v[1]}, Point{v[2], v[3]}}
				pos += size
			}
			layer.Hatches = append(layer.Hatches, Hatches{ID: id, Segments: segs})
		default:
			return offErr(p.file, int64(at), ErrSyntax, "unknown binary command index %d (want 127..132)", ci)
		}
	}
	return nil
}

func sortStrings(s []string) { sort.Strings(s) }
