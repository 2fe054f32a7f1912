package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// MaxJSONBytes bounds the size of a JSON model file.
var MaxJSONBytes int64 = 256 << 20

// jsonDoc streams a JSON model file token by token so that every error can
// name the line of the record it is about (files written on one line report
// line 1 and the JSON path, e.g. "element_list[17].end_node_ids").
type jsonDoc struct {
	file  string
	data  []byte
	dec   *json.Decoder
	lines []int // offsets of '\n', built lazily
}

func openJSON(path string) (*jsonDoc, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxJSONBytes+1))
	if err != nil {
		return nil, perr(path, 0, ErrSyntax, "read: %v", err)
	}
	if int64(len(data)) > MaxJSONBytes {
		return nil, perr(path, 0, ErrTooLarge, "JSON file larger than %d bytes", MaxJSONBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 BOM
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, perr(path, 0, ErrEmpty, "empty file")
	}
	d := &jsonDoc{file: path, data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	return d, nil
}

// line returns the 1-based line of the first value byte at or after off.
func (d *jsonDoc) line(off int64) int {
	off = max(0, min(off, int64(len(d.data))))
	for off < int64(len(d.data)) {
		c := d.data[off]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == ':' {
			off++
			continue
		}
		break
	}
	if d.lines == nil {
		d.lines = []int{}
		for i, c := range d.data {
			if c == '\n' {
				d.lines = append(d.lines, i)
			}
		}
	}
	return 1 + sort.SearchInts(d.lines, int(off))
}

func (d *jsonDoc) errAt(off int64, sentinel error, format string, args ...any) *ParseError {
	return perr(d.file, d.line(off), sentinel, format, args...)
}

// wrap turns decoder errors into located ParseErrors.
func (d *jsonDoc) wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	var pe *ParseError
	if errors.As(err, &pe) {
		return err
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return d.errAt(se.Offset-1, ErrSyntax, "JSON syntax error in %s: %v", what, se)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := what
		if te.Field != "" {
			field += "." + te.Field
		}
		return d.errAt(te.Offset-1, ErrSyntax, "%s: JSON %s where %s was expected", field, te.Value, jsonKind(te.Type))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return perr(d.file, d.line(int64(len(d.data))), ErrTruncated, "file ends inside %s (truncated JSON)", what)
	}
	return d.errAt(d.dec.InputOffset(), ErrSyntax, "%s: %v", what, err)
}

// object walks a JSON object; fn must consume the value of each key.
func (d *jsonDoc) object(what string, fn func(key string, off int64) error) error {
	off := d.dec.InputOffset()
	tok, err := d.dec.Token()
	if err != nil {
		return d.wrap(err, what)
	}
	if tok != json.Delim('{') {
		return d.errAt(off, ErrSyntax, "%s: want a JSON object, got %v", what, tokString(tok))
	}
	for d.dec.More() {
		koff := d.dec.InputOffset()
		tok, err := d.dec.Token()
		if err != nil {
			return d.wrap(err, what)
		}
		key, ok := tok.(string)
		if !ok {
			return d.errAt(koff, ErrSyntax, "%s: object key expected", what)
		}
		if err := fn(key, d.dec.InputOffset()); err != nil {
			return err
		}
	}
	if _, err := d.dec.Token(); err != nil {
		return d.wrap(err, what)
	}
	return nil
}

// array walks a JSON array; fn must consume each element.
func (d *jsonDoc) array(what string, fn func(i int, off int64) error) error {
	off := d.dec.InputOffset()
	tok, err := d.dec.Token()
	if err != nil {
		return d.wrap(err, what)
	}
	if tok != json.Delim('[') {
		return d.errAt(off, ErrSyntax, "%s: want a JSON array, got %v", what, tokString(tok))
	}
	for i := 0; d.dec.More(); i++ {
		if err := fn(i, d.dec.InputOffset()); err != nil {
			return err
		}
	}
	if _, err := d.dec.Token(); err != nil {
		return d.wrap(err, what)
	}
	return nil
}

// decode decodes the next value into v.
func (d *jsonDoc) decode(v any, what string) error {
	return d.wrap(d.dec.Decode(v), what)
}

// skip consumes the next value.
func (d *jsonDoc) skip(what string) error {
	var raw json.RawMessage
	return d.decode(&raw, what)
}

// end checks that nothing but blank space follows the top-level value.
func (d *jsonDoc) end() error {
	off := d.dec.InputOffset()
	if _, err := d.dec.Token(); err != io.EOF {
		return d.errAt(off, ErrSyntax, "data after the top-level JSON object")
	}
	return nil
}

func tokString(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		return string(v)
	case nil:
		return "null"
	case string:
		return strconv.Quote(v)
	}
	return fmt.Sprint(t)
}

// num parses a JSON number as a finite float64.
func (d *jsonDoc) num(n *json.Number, off int64, field string) (float64, error) {
	if n == nil {
		return 0, d.errAt(off, ErrMissing, "%s: missing", field)
	}
	v, err := strconv.ParseFloat(string(*n), 64)
	if err != nil && !math.IsInf(v, 0) {
		return 0, d.errAt(off, ErrSyntax, "%s: %q is not a number", field, string(*n))
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, d.errAt(off, ErrNonFinite, "%s: %s is not finite", field, string(*n))
	}
	return v, nil
}

// integer parses a JSON number that must be a whole number.
func (d *jsonDoc) integer(n *json.Number, off int64, field string) (int, error) {
	v, err := d.num(n, off, field)
	if err != nil {
		return 0, err
	}
	if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
		return 0, d.errAt(off, ErrSyntax, "%s: %s is not an integer", field, string(*n))
	}
	return int(v), nil
}

// flexBool reads 0/1/true/false; present=false when the field is absent or null.
func (d *jsonDoc) flexBool(raw json.RawMessage, off int64, field string) (val, present bool, err error) {
	s := strings.TrimSpace(string(raw))
	switch s {
	case "", "null":
		return false, false, nil
	case "true", "1", "1.0":
		return true, true, nil
	case "false", "0", "0.0":
		return false, true, nil
	}
	return false, true, d.errAt(off, ErrSyntax, "%s: %s is not a boolean (want true/false or 1/0)", field, s)
}

// fixity reads a 6-entry support condition of 0/1 or booleans; present is
// false for null or [].
func (d *jsonDoc) fixity(raw json.RawMessage, off int64, field string) (c [6]bool, present bool, err error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return c, false, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return c, false, d.errAt(off, ErrSyntax, "%s: want a list of 6 flags", field)
	}
	if len(items) == 0 {
		return c, false, nil
	}
	if len(items) != 6 {
		return c, false, d.errAt(off, ErrSyntax, "%s: want 6 flags (tx ty tz rx ry rz), got %d", field, len(items))
	}
	for k, it := range items {
		v, _, err := d.flexBool(it, off, fmt.Sprintf("%s[%d]", field, k))
		if err != nil {
			return c, false, err
		}
		c[k] = v
	}
	return c, true, nil
}

// nodeIndex maps declared node ids to list indices. With no ids declared
// the list index is the id.
type nodeIndex struct {
	ids map[int]int // nil = identity
	n   int
}

func (x nodeIndex) lookup(id int) (int, bool) {
	if x.ids == nil {
		return id, id >= 0 && id < x.n
	}
	i, ok := x.ids[id]
	return i, ok
}

// edgeChecker rejects self-loops and duplicate edges with the line of the
// offending record.
type edgeChecker struct {
	seen map[[2]int]int
}

func (c *edgeChecker) check(d *jsonDoc, off int64, field string, a, b, i int) error {
	if a == b {
		return d.errAt(off, ErrSelfLoop, "%s: self-loop on node %d", field, a)
	}
	if c.seen == nil {
		c.seen = map[[2]int]int{}
	}
	k := pairKey(a, b)
	if j, ok := c.seen[k]; ok {
		return d.errAt(off, ErrDuplicate, "%s: duplicate edge %d-%d (same as element %d)", field, a, b, j)
	}
	c.seen[k] = i
	return nil
}

// quantity reads "<name>" with its "<name>_unit" from a property block and
// converts it with conv. ok is false when the value is absent.
type props struct {
	d      *jsonDoc
	off    int64
	prefix string
	m      map[string]json.RawMessage
}

func (p props) has(key string) bool {
	v, ok := p.m[key]
	return ok && strings.TrimSpace(string(v)) != "null"
}

func (p props) str(key string) string {
	var s string
	if raw, ok := p.m[key]; ok {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}

func (p props) value(key string) (float64, error) {
	raw, ok := p.m[key]
	if !ok {
		return 0, p.d.errAt(p.off, ErrMissing, "%s.%s: missing", p.prefix, key)
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, p.d.errAt(p.off, ErrSyntax, "%s.%s: %s is not a number", p.prefix, key, strings.TrimSpace(string(raw)))
	}
	return p.d.num(&n, p.off, p.prefix+"."+key)
}

// unit returns the value of key converted by the factor of key+"_unit".
func (p props) unit(key string, factor func(string) (float64, error)) (float64, error) {
	v, err := p.value(key)
	if err != nil {
		return 0, err
	}
	if !p.has(key + "_unit") {
		return 0, p.d.errAt(p.off, ErrMissing, "%s.%s_unit: missing (the unit of %s cannot be guessed)", p.prefix, key, key)
	}
	u := p.str(key + "_unit")
	f, err := factor(u)
	if err != nil {
		return 0, p.d.errAt(p.off, ErrUnit, "%s.%s_unit: %v", p.prefix, key, err)
	}
	return v * f, nil
}

// density reads key/key_unit as either a unit weight or a mass density and
// fills both fields of m.
func (p props) density(key string, m *Material) error {
	v, err := p.value(key)
	if err != nil {
		return err
	}
	if !p.has(key + "_unit") {
		return p.d.errAt(p.off, ErrMissing, "%s.%s_unit: missing (unit weight kN/m3 or mass density kg/m3?)", p.prefix, key)
	}
	f, weight, err := densityFactor(p.str(key + "_unit"))
	if err != nil {
		return p.d.errAt(p.off, ErrUnit, "%s.%s_unit: %v", p.prefix, key, err)
	}
	if !(v > 0) {
		return p.d.errAt(p.off, ErrSyntax, "%s.%s: %v must be > 0", p.prefix, key, v)
	}
	if weight {
		m.UnitWeightNM = v * f
		m.DensityKgM3 = m.UnitWeightNM / standardGravity
	} else {
		m.DensityKgM3 = v * f
		m.UnitWeightNM = m.DensityKgM3 * standardGravity
	}
	return nil
}

func positive(p props, key string, v float64) error {
	if !(v > 0) {
		return p.d.errAt(p.off, ErrSyntax, "%s.%s: %v must be > 0", p.prefix, key, v)
	}
	return nil
}

func areaFactor(u string) (float64, error)    { return powerFactor(u, 2) }
func inertiaFactor(u string) (float64, error) { return powerFactor(u, 4) }

// positionUnit reads the top-level "unit" string.
func (d *jsonDoc) positionUnit(unit *string, off int64) (float64, error) {
	if unit == nil {
		return 0, perr(d.file, 0, ErrMissing, "unit: missing (millimeter, meter, centimeter or inch)")
	}
	f, ok := LengthUnitMM(*unit)
	if !ok {
		return 0, d.errAt(off, ErrUnit, "unit: %q is not a length unit (want millimeter, meter, centimeter or inch)", *unit)
	}
	return f, nil
}

// inferKind applies the LoadOptions kind rule to a 3-D model: forced kind,
// else Planar when all z are equal, else Wireframe.
func inferKind(opts LoadOptions, g *Graph) Kind {
	if opts.Kind != nil {
		return *opts.Kind
	}
	if len(g.Pos) > 1 && g.IsPlanar(0) {
		return Planar
	}
	return Wireframe
}

// jsonKind names the JSON value a Go type decodes from, for error messages
// ("an object", not the package's internal type name).
func jsonKind(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "another value"
	}
	if t == reflect.TypeFor[json.Number]() {
		return "a number"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another value"
}
