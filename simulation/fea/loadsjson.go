package fea

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/golang/geo/r3"
)

// The conmech loads format (github.com/yijiangh/conmech, tests/test_data/
// *_loads.json; SOURCES.md §3). Two layouts are accepted:
//
//	{"loadcases": {"0": {"ploads": [...], "eloads": [...], "gravity": {...}}, "1": {...}}}
//	{"ploads": [...], "eloads": [...], "gravity": {...}}          (one case, named "0")
//
//	pload:   {"node_ind": i, "force": [fx, fy, fz], "force_unit": "kN",
//	          "moment": [mx, my, mz], "moment_unit": "kNm"}
//	eload:   {"q": [qx, qy, qz], "q_unit": "kN/m",
//	          "elem_tags": ["tag", ...] | "elem_inds": [j, ...] | "elem_ind": j,
//	          "is_local": false}
//	gravity: {"force": [gx, gy, gz], "force_unit": "kN"}  or  [gx, gy, gz]
//
// Rules:
//   - force, moment and q are global-axis vectors (q in local element axes
//     when "is_local" is true); a missing force or moment is zero;
//   - units: force N, kN, MN, lbf, kip (default kN); moment N*m/Nm/N.m,
//     kN*m/kNm/kN.m, MNm, lbf*in, kip*in, kip*ft (default kNm); q N/m, kN/m,
//     N/mm, kN/mm, lbf/in, kip/in, kip/ft (default kN/m) — conmech's units;
//   - gravity is a dimensionless factor on every element's own weight
//     γ·A (conmech writes [0, 0, −1] with a nominal "kN" unit, which is
//     accepted and ignored); self-weight is applied only when a case has it;
//   - an eload names elements by tag (matched against the model's
//     elem_tag), by 0-based index, or both; an eload that names none applies
//     to every element (the conmech convention of an empty elem_tags list);
//   - unknown keys are errors (keys starting with '_' are comments; "name",
//     "lc_ind" and "description" are accepted metadata), so a misspelt
//     "pload" cannot silently drop loads;
//   - loadcases are returned sorted by name (numerically when all names are
//     integers).

// MaxLoadsBytes bounds the size of a loads file.
const MaxLoadsBytes = 256 << 20

// ReadLoads reads a loads file for frame f; tags are the model's element
// tags per element (nil when the model has none).
func ReadLoads(path string, f *Frame, tags []string) ([]LoadCase, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("loads: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxLoadsBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", path, err)
	}
	if len(data) > MaxLoadsBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxLoadsBytes)
	}
	return ParseLoads(data, path, f, tags)
}

// ParseLoads parses a loads file held in data (file names it in errors).
func ParseLoads(data []byte, file string, f *Frame, tags []string) ([]LoadCase, error) {
	p := loadsParser{file: file, data: data, f: f, tags: tags}
	return p.parse()
}

type loadsParser struct {
	file string
	data []byte
	f    *Frame
	tags []string
}

func (p *loadsParser) errf(path, format string, args ...any) error {
	if path == "" {
		return fmt.Errorf("%s: %s", p.file, fmt.Sprintf(format, args...))
	}
	return fmt.Errorf("%s: %s: %s", p.file, path, fmt.Sprintf(format, args...))
}

// syntax turns a JSON decoding error into a one-line message with a line.
func (p *loadsParser) syntax(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("%s:%d: invalid JSON: %v", p.file, 1+bytes.Count(p.data[:min(int(se.Offset), len(p.data))], []byte("\n")), se)
	case errors.As(err, &te):
		return fmt.Errorf("%s:%d: %s: want %v, got JSON %s", p.file, 1+bytes.Count(p.data[:min(int(te.Offset), len(p.data))], []byte("\n")), te.Field, te.Type, te.Value)
	}
	return fmt.Errorf("%s: %v", p.file, err)
}

func (p *loadsParser) parse() ([]LoadCase, error) {
	var top map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(p.data))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, p.errf("", "empty file")
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, p.errf("", "invalid JSON: unexpected end of file (truncated?)")
		}
		return nil, p.syntax(err)
	}
	if top == nil {
		return nil, p.errf("", "want a JSON object")
	}
	if dec.More() {
		return nil, p.errf("", "trailing data after the JSON object")
	}
	_, hasLC := top["loadcases"]
	flat := false
	for _, k := range []string{"ploads", "eloads", "gravity"} {
		if _, ok := top[k]; ok {
			flat = true
		}
	}
	switch {
	case hasLC && flat:
		return nil, p.errf("", "both \"loadcases\" and top-level ploads/eloads/gravity: use one layout")
	case flat:
		for k := range top {
			if !isMeta(k) && k != "ploads" && k != "eloads" && k != "gravity" && !isTopMeta(k) {
				return nil, p.errf("", "unknown key %q (want ploads, eloads, gravity)", k)
			}
		}
		lc, err := p.loadCase("", "0", top)
		if err != nil {
			return nil, err
		}
		return []LoadCase{lc}, nil
	case hasLC:
		for k := range top {
			if k != "loadcases" && !isMeta(k) && !isTopMeta(k) {
				return nil, p.errf("", "unknown key %q next to \"loadcases\"", k)
			}
		}
		var cases map[string]map[string]json.RawMessage
		if err := json.Unmarshal(top["loadcases"], &cases); err != nil {
			return nil, p.errf("loadcases", "want an object of load cases {\"0\": {...}}: %v", err)
		}
		if len(cases) == 0 {
			return nil, p.errf("loadcases", "no load cases")
		}
		names := make([]string, 0, len(cases))
		for n := range cases {
			names = append(names, n)
		}
		sortCaseNames(names)
		out := make([]LoadCase, 0, len(names))
		for _, n := range names {
			lc, err := p.loadCase("loadcases."+n, n, cases[n])
			if err != nil {
				return nil, err
			}
			out = append(out, lc)
		}
		return out, nil
	}
	return nil, p.errf("", "no \"loadcases\" and no ploads/eloads/gravity: not a loads file")
}

func isMeta(k string) bool { return strings.HasPrefix(k, "_") }

func isTopMeta(k string) bool {
	switch k {
	case "model_name", "unit", "generate_time", "name", "description", "dimension":
		return true
	}
	return false
}

func sortCaseNames(names []string) {
	allInt := true
	for _, n := range names {
		if _, err := strconv.Atoi(n); err != nil {
			allInt = false
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		if allInt {
			x, _ := strconv.Atoi(a)
			y, _ := strconv.Atoi(b)
			return x - y
		}
		return strings.Compare(a, b)
	})
}

func (p *loadsParser) loadCase(path, name string, m map[string]json.RawMessage) (LoadCase, error) {
	lc := LoadCase{Name: name}
	at := func(s string) string {
		if path == "" {
			return s
		}
		return path + "." + s
	}
	for k := range m {
		switch k {
		case "ploads", "eloads", "gravity", "name", "lc_ind", "description":
		default:
			if !isMeta(k) && !(path == "" && isTopMeta(k)) {
				return lc, p.errf(path, "unknown key %q (want ploads, eloads, gravity)", k)
			}
		}
	}
	if raw, ok := m["ploads"]; ok {
		var list []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return lc, p.errf(at("ploads"), "want a list of point loads: %v", err)
		}
		for i, pl := range list {
			q := fmt.Sprintf("%s[%d]", at("ploads"), i)
			load, err := p.pointLoad(q, pl)
			if err != nil {
				return lc, err
			}
			lc.Points = append(lc.Points, load)
		}
	}
	if raw, ok := m["eloads"]; ok {
		var list []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return lc, p.errf(at("eloads"), "want a list of element loads: %v", err)
		}
		for i, el := range list {
			q := fmt.Sprintf("%s[%d]", at("eloads"), i)
			loads, err := p.elemLoad(q, el)
			if err != nil {
				return lc, err
			}
			lc.Elems = append(lc.Elems, loads...)
		}
	}
	if raw, ok := m["gravity"]; ok {
		g, err := p.gravity(at("gravity"), raw)
		if err != nil {
			return lc, err
		}
		lc.Gravity = g
	}
	return lc, nil
}

func (p *loadsParser) checkKeys(path string, m map[string]json.RawMessage, allowed ...string) error {
	for k := range m {
		if isMeta(k) || slices.Contains(allowed, k) {
			continue
		}
		return p.errf(path, "unknown key %q (want %s)", k, strings.Join(allowed, ", "))
	}
	return nil
}

func (p *loadsParser) pointLoad(path string, m map[string]json.RawMessage) (PointLoad, error) {
	var pl PointLoad
	if err := p.checkKeys(path, m, "node_ind", "force", "force_unit", "moment", "moment_unit"); err != nil {
		return pl, err
	}
	raw, ok := m["node_ind"]
	if !ok {
		return pl, p.errf(path, "missing node_ind")
	}
	n, err := p.index(path+".node_ind", raw)
	if err != nil {
		return pl, err
	}
	if n >= p.f.NumNodes() {
		return pl, p.errf(path+".node_ind", "node %d out of range [0,%d)", n, p.f.NumNodes())
	}
	pl.Node = n
	fu, err := p.unit(path+".force_unit", m["force_unit"], forceUnits, "kN")
	if err != nil {
		return pl, err
	}
	mu, err := p.unit(path+".moment_unit", m["moment_unit"], momentUnits, "kNm")
	if err != nil {
		return pl, err
	}
	if raw, ok := m["force"]; ok {
		v, err := p.vector(path+".force", raw)
		if err != nil {
			return pl, err
		}
		pl.ForceN = v.Mul(fu)
	}
	if raw, ok := m["moment"]; ok {
		v, err := p.vector(path+".moment", raw)
		if err != nil {
			return pl, err
		}
		pl.MomentNm = v.Mul(mu)
	}
	return pl, nil
}

func (p *loadsParser) elemLoad(path string, m map[string]json.RawMessage) ([]ElementLoad, error) {
	if err := p.checkKeys(path, m, "q", "q_unit", "elem_tags", "elem_inds", "elem_ind", "is_local"); err != nil {
		return nil, err
	}
	raw, ok := m["q"]
	if !ok {
		return nil, p.errf(path, "missing q")
	}
	q, err := p.vector(path+".q", raw)
	if err != nil {
		return nil, err
	}
	qu, err := p.unit(path+".q_unit", m["q_unit"], lineLoadUnits, "kN/m")
	if err != nil {
		return nil, err
	}
	q = q.Mul(qu)
	local := false
	if raw, ok := m["is_local"]; ok {
		if err := json.Unmarshal(raw, &local); err != nil {
			return nil, p.errf(path+".is_local", "want true or false")
		}
	}
	var elems []int
	named := false
	if raw, ok := m["elem_tags"]; ok {
		var tags []string
		if err := json.Unmarshal(raw, &tags); err != nil {
			return nil, p.errf(path+".elem_tags", "want a list of strings")
		}
		for _, tag := range tags {
			named = true
			if p.tags == nil {
				return nil, p.errf(path+".elem_tags", "tag %q: the model has no element tags (name elements by elem_inds)", tag)
			}
			found := false
			for j, t := range p.tags {
				if t == tag {
					elems = append(elems, j)
					found = true
				}
			}
			if !found {
				return nil, p.errf(path+".elem_tags", "tag %q matches no element of the model", tag)
			}
		}
	}
	addIdx := func(field string, raw json.RawMessage) error {
		j, err := p.index(field, raw)
		if err != nil {
			return err
		}
		if j >= p.f.NumElems() {
			return p.errf(field, "element %d out of range [0,%d)", j, p.f.NumElems())
		}
		elems = append(elems, j)
		named = true
		return nil
	}
	if raw, ok := m["elem_inds"]; ok {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, p.errf(path+".elem_inds", "want a list of element indices")
		}
		for i, r := range list {
			if err := addIdx(fmt.Sprintf("%s.elem_inds[%d]", path, i), r); err != nil {
				return nil, err
			}
		}
	}
	if raw, ok := m["elem_ind"]; ok {
		if err := addIdx(path+".elem_ind", raw); err != nil {
			return nil, err
		}
	}
	if !named {
		for j := 0; j < p.f.NumElems(); j++ {
			elems = append(elems, j)
		}
	}
	slices.Sort(elems)
	elems = slices.Compact(elems)
	out := make([]ElementLoad, 0, len(elems))
	for _, j := range elems {
		w := q
		if local {
			x, y, z := p.f.LocalAxes(j)
			w = x.Mul(q.X).Add(y.Mul(q.Y)).Add(z.Mul(q.Z))
		}
		out = append(out, ElementLoad{Elem: j, WNPerM: w})
	}
	return out, nil
}

func (p *loadsParser) gravity(path string, raw json.RawMessage) (r3.Vector, error) {
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] == '[' {
		return p.vector(path, raw)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return r3.Vector{}, p.errf(path, "want {\"force\": [gx, gy, gz]} or [gx, gy, gz]")
	}
	if err := p.checkKeys(path, m, "force", "force_unit"); err != nil {
		return r3.Vector{}, err
	}
	if _, err := p.unit(path+".force_unit", m["force_unit"], forceUnits, "kN"); err != nil {
		return r3.Vector{}, err
	}
	f, ok := m["force"]
	if !ok {
		return r3.Vector{}, p.errf(path, "missing force (the gravity direction factor)")
	}
	return p.vector(path+".force", f)
}

func (p *loadsParser) vector(path string, raw json.RawMessage) (r3.Vector, error) {
	var a []json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&a); err != nil {
		return r3.Vector{}, p.errf(path, "want 3 numbers [x, y, z], got %s", short(raw))
	}
	if len(a) != 3 {
		return r3.Vector{}, p.errf(path, "want 3 numbers [x, y, z], got %d", len(a))
	}
	var v [3]float64
	for i, n := range a {
		x, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
			return r3.Vector{}, p.errf(path, "component %d (%s) is not a finite number", i, n)
		}
		v[i] = x
	}
	return r3.Vector{X: v[0], Y: v[1], Z: v[2]}, nil
}

func (p *loadsParser) index(path string, raw json.RawMessage) (int, error) {
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&n); err != nil {
		return 0, p.errf(path, "want a non-negative integer index, got %s", short(raw))
	}
	x, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(n), 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<40 {
			return 0, p.errf(path, "want a non-negative integer index, got %s", n)
		}
		x = int64(f)
	}
	if x < 0 || x > math.MaxInt32 {
		return 0, p.errf(path, "index %d out of range", x)
	}
	return int(x), nil
}

func (p *loadsParser) unit(path string, raw json.RawMessage, table map[string]float64, def string) (float64, error) {
	name := def
	if raw != nil {
		if err := json.Unmarshal(raw, &name); err != nil {
			return 0, p.errf(path, "want a unit string, got %s", short(raw))
		}
	}
	f, ok := table[strings.ReplaceAll(strings.TrimSpace(name), " ", "")]
	if !ok {
		known := make([]string, 0, len(table))
		for k := range table {
			known = append(known, k)
		}
		slices.Sort(known)
		return 0, p.errf(path, "unknown unit %q (known: %s)", name, strings.Join(known, ", "))
	}
	return f, nil
}

func short(raw json.RawMessage) string {
	s := string(bytes.TrimSpace(raw))
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

const (
	lbfN  = 4.4482216152605
	inchM = 0.0254
	footM = 0.3048
)

var forceUnits = map[string]float64{"N": 1, "kN": 1e3, "MN": 1e6, "lbf": lbfN, "kip": 1e3 * lbfN}

var momentUnits = map[string]float64{
	"Nm": 1, "N*m": 1, "N.m": 1, "N·m": 1,
	"kNm": 1e3, "kN*m": 1e3, "kN.m": 1e3, "kN·m": 1e3,
	"MNm": 1e6, "MN*m": 1e6,
	"lbf*in": lbfN * inchM, "kip*in": 1e3 * lbfN * inchM, "kip*ft": 1e3 * lbfN * footM,
}

var lineLoadUnits = map[string]float64{
	"N/m": 1, "kN/m": 1e3, "N/mm": 1e3, "kN/mm": 1e6,
	"lbf/in": lbfN / inchM, "kip/in": 1e3 * lbfN / inchM, "kip/ft": 1e3 * lbfN / footM,
}
