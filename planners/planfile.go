package planners

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// PlanFile is the JSON written by `fabcell plan` and read by `fabcell
// evaluate` and the controller. Unknown fields are ignored on read so that
// newer writers stay readable.
type PlanFile struct {
	Process  string             `json:"process"`
	Planner  string             `json:"planner"`
	Model    string             `json:"model"`
	Nodes    int                `json:"nodes"`
	Edges    int                `json:"edges"`
	Ring     int                `json:"ring,omitempty"`
	Seed     int64              `json:"seed"`
	Path     []int              `json:"path"`
	Moves    []Move             `json:"moves"`
	Metrics  map[string]float64 `json:"metrics"`
	ElapsedS float64            `json:"elapsed_s"`
}

// NewPlanFile fills a PlanFile from a result.
func NewPlanFile(r *Result, ring int, seed int64) PlanFile {
	return PlanFile{
		Process:  r.Process,
		Planner:  r.Planner,
		Model:    r.Model,
		Nodes:    r.Graph.NumNodes(),
		Edges:    r.Graph.NumEdges(),
		Ring:     ring,
		Seed:     seed,
		Path:     PathOf(r.Moves),
		Moves:    r.Moves,
		Metrics:  r.Metrics,
		ElapsedS: r.ElapsedS,
	}
}

// MaxPlanBytes bounds a plan file read from disk or the network.
const MaxPlanBytes = 512 << 20

// ReadOrder reads a node visiting order from any of the accepted forms:
//   - fabcell plan JSON (its "path", or its "moves" when path is absent);
//   - the RL3DP results form: a line "Path: [i, j, ...]";
//   - plain text with one node index per line (blank lines and '#'
//     comments ignored); commas and brackets are tolerated.
//
// It returns the order and, for plan JSON, the moves recorded there.
func ReadOrder(path string) (order []int, moves []Move, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read plan: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxPlanBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read plan %s: %w", path, err)
	}
	if len(data) > MaxPlanBytes {
		return nil, nil, fmt.Errorf("%s: plan larger than %d bytes", path, MaxPlanBytes)
	}
	return ParseOrder(path, data)
}

// ParseOrder is ReadOrder on bytes; name is used in error messages.
func ParseOrder(name string, data []byte) ([]int, []Move, error) {
	trim := bytes.TrimSpace(data)
	if len(trim) == 0 {
		return nil, nil, fmt.Errorf("%s: empty plan", name)
	}
	if trim[0] == '{' {
		var pf PlanFile
		if err := json.Unmarshal(trim, &pf); err != nil {
			return nil, nil, fmt.Errorf("%s: plan JSON: %v", name, err)
		}
		if len(pf.Path) == 0 && len(pf.Moves) > 0 {
			pf.Path = PathOf(pf.Moves)
		}
		if len(pf.Path) == 0 {
			return nil, nil, fmt.Errorf("%s: plan JSON has neither path nor moves", name)
		}
		return pf.Path, pf.Moves, nil
	}
	var order []int
	depth, open := 0, 0 // '[' / '(' nesting of the node lists, and the line that opened it
	sc := bufio.NewScanner(bytes.NewReader(trim))
	sc.Buffer(make([]byte, 1<<20), MaxPlanBytes)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		if i := strings.IndexByte(s, ':'); i >= 0 {
			key := strings.TrimSpace(s[:i])
			if !strings.EqualFold(key, "path") {
				continue // other "Key: value" lines of result files
			}
			s = s[i+1:]
		}
		for _, r := range s {
			switch r {
			case '[', '(':
				if depth == 0 {
					open = line
				}
				depth++
			case ']', ')':
				if depth--; depth < 0 {
					return nil, nil, fmt.Errorf("%s:%d: %q closes a list that was not opened", name, line, r)
				}
			}
		}
		for _, tok := range strings.FieldsFunc(s, func(r rune) bool {
			return r == ',' || r == '[' || r == ']' || r == ' ' || r == '\t' || r == '(' || r == ')'
		}) {
			v, err := strconv.Atoi(tok)
			if err != nil {
				fv, ferr := strconv.ParseFloat(tok, 64)
				if ferr != nil || fv != float64(int(fv)) {
					return nil, nil, fmt.Errorf("%s:%d: %q is not a node index", name, line, tok)
				}
				v = int(fv)
			}
			order = append(order, v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: %v", name, err)
	}
	if depth > 0 {
		// a truncated file: its last index may be cut short too
		return nil, nil, fmt.Errorf("%s:%d: the node list opened here is never closed (truncated file?)", name, open)
	}
	if len(order) == 0 {
		return nil, nil, fmt.Errorf("%s: no node indices found", name)
	}
	return order, nil, nil
}

// Replay applies a node order to a fresh session, classifying each step
// with Session.MoveTo, and returns the applied moves. Node indices are
// checked against the graph. Replay does not require the order to be
// complete or feasible — Evaluate reports what it achieves.
func Replay(s Session, order []int) ([]Move, error) {
	n := s.Graph().NumNodes()
	for i, v := range order {
		if v < 0 || v >= n {
			return nil, fmt.Errorf("path[%d] = %d: node index out of range [0,%d)", i, v, n)
		}
	}
	if err := s.Begin(order[0]); err != nil {
		return nil, err
	}
	for i := 1; i < len(order); i++ {
		if order[i] == order[i-1] {
			continue // repeated node: no move
		}
		s.Apply(s.MoveTo(order[i]))
	}
	return append([]Move(nil), s.Moves()...), nil
}

// Evaluate computes the metrics of a node order with exactly the code that
// `plan` uses: the process's Session.Metrics over the replayed moves.
func Evaluate(s Session, order []int) (map[string]float64, []Move, error) {
	moves, err := Replay(s, order)
	if err != nil {
		return nil, nil, err
	}
	return s.Metrics(), moves, nil
}
