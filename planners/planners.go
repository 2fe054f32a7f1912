// Package planners defines the contract between toolpath planners and
// fabrication processes, after Huang et al. 2024 ("Learning Based Toolpath
// Planner on Diverse Graphs for 3D Printing"; spec lsg-dqn.md):
//
//   - a Process (wire-frame, CCF, LPBF, or the test process "travel") turns a
//     graph into a Session: the mutable state of one partial toolpath, with
//     the coverage rule, the feasible 1-ring moves, the step reward
//     (Eqs. 5–13), the jump rule (§7.3 / spec §11) and the metrics;
//   - a Planner (lsg-dqn, bfs, greedy, random, and process baselines) drives
//     a Session to completion and emits every move as soon as it is decided,
//     so a controller can execute while the planner runs ahead.
//
// Planners explore by Apply/Undo on the Session; a Session must restore its
// exact previous state on Undo, so that rewards are reproducible and can be
// memoised per action prefix.
//
// Dependencies point down: planners imports graph and config only.
package planners

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"fabcell/config"
	"fabcell/planners/graph"

	"github.com/golang/geo/r3"
)

// MoveKind says what the tool does along a move.
type MoveKind uint8

const (
	// Print deposits material along a graph edge (or, for LPBF, scans the
	// pixel link).
	Print MoveKind = iota
	// Travel moves along an already printed edge without depositing.
	Travel
	// Jump lifts the tool and moves to a node not adjacent through an edge
	// that may be used (nozzle retracted, laser off).
	Jump
)

var kindNames = [...]string{"print", "travel", "jump"}

func (k MoveKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("MoveKind(%d)", int(k))
}

// MarshalText implements encoding.TextMarshaler.
func (k MoveKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *MoveKind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if string(b) == n {
			*k = MoveKind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown move kind %q (want print, travel or jump)", b)
}

// Move is one step of a toolpath between two nodes.
type Move struct {
	From int      `json:"from"`
	To   int      `json:"to"`
	Kind MoveKind `json:"kind"`
	// Edge is the graph edge used by Print and Travel moves, -1 for Jump.
	Edge int `json:"edge"`
	// Axis is the print-head axis for this move (unit vector in the bed
	// frame, pointing from the nozzle tip up into the head), chosen by the
	// process's collision check (Eq. 6). Zero when the process has none.
	Axis r3.Vector `json:"-"`
}

// AxisOrNil returns Axis as a JSON-friendly slice, nil when unset.
func (m Move) axisSlice() []float64 {
	if m.Axis == (r3.Vector{}) {
		return nil
	}
	return []float64{m.Axis.X, m.Axis.Y, m.Axis.Z}
}

// Coverage is the completion rule of a process (spec lsg-dqn.md §2).
type Coverage uint8

const (
	// EdgesOnce: every edge printed exactly once (wire-frame); continuity
	// not required.
	EdgesOnce Coverage = iota
	// EdgesOnceOrTwice: every edge covered at least once and at most its
	// pass count (2 for the doubled CCF lists) in one continuous stroke.
	EdgesOnceOrTwice
	// NodesOnce: every node visited exactly once (LPBF pixels).
	NodesOnce
)

func (c Coverage) String() string {
	switch c {
	case EdgesOnce:
		return "edges-once"
	case EdgesOnceOrTwice:
		return "edges-once-or-twice"
	case NodesOnce:
		return "nodes-once"
	}
	return fmt.Sprintf("Coverage(%d)", int(c))
}

// Session is the mutable planning state of one toolpath over one graph.
// Methods are not safe for concurrent use; planners that search in
// parallel create one Session per goroutine.
type Session interface {
	// Graph returns the graph being planned.
	Graph() *graph.Graph
	// Coverage returns the completion rule.
	Coverage() Coverage
	// Starts lists legal start nodes, most preferred first (wire-frame:
	// grounded nodes with an edge; CCF: interior nodes; LPBF: node 0 first).
	Starts() []int
	// Begin resets the session and places the tool at start node v.
	Begin(v int) error
	// Current returns the node the tool is at (-1 before Begin).
	Current() int
	// Moves returns the moves applied so far; the slice is shared and valid
	// until the next Apply/Undo/Begin.
	Moves() []Move
	// Candidates appends to dst the feasible moves from Current(): the
	// 1-ring moves the coverage rule and the process allow (never jumps).
	Candidates(dst []Move) []Move
	// Reward returns the undiscounted step reward of m from the current
	// state. It must not change the state observable through this
	// interface, and must be deterministic for a given state.
	Reward(m Move) float64
	// Apply performs m. m must come from Candidates, Jump or MoveTo.
	Apply(m Move)
	// Undo reverts the last Apply.
	Undo()
	// Done reports whether the coverage rule is met.
	Done() bool
	// Jump returns the moves that get the tool out of a dead end (no
	// candidates, not done): a chain of Travel moves over printed edges or a
	// single Jump (§7.3). nil means the process forbids jumping (CCF
	// continuity) or nothing is left.
	Jump() []Move
	// MoveTo classifies a step from Current() to node v the way `evaluate`
	// reads a foreign node order: along a still-printable edge = Print,
	// along a used edge = Travel, otherwise Jump.
	MoveTo(v int) Move
	// Remaining returns how many more print passes edge e allows (0 = used
	// up or forbidden). It defines the LSG adjacency matrix (spec §5.1).
	Remaining(e int) int
	// Progress returns covered units and their total (edges or nodes).
	Progress() (done, total int)
	// Metrics computes the process metrics of the moves applied so far.
	// Keys carry units (max_displacement_mm, length_mm, ...).
	Metrics() map[string]float64
}

// HeatSource is implemented by sessions whose state includes a per-node
// temperature (LPBF); the LSG state carries it (spec §5.1, §8.3).
type HeatSource interface {
	NodeHeat(v int) float64
}

// StateIdentifier is implemented by sessions that name their move
// history: StateID returns an id that changes on every Begin and Apply and
// that Undo restores to its value before the undone Apply, so two calls
// return the same id only if the session holds the same move sequence
// (every Apply mints a fresh id; ids are never reused). ok = false means
// the session cannot tell (a wrapper of a session without ids). The LSG
// explorer uses it to check in O(1) that nobody changed the session behind
// its memo; Tracker implements it for every process session.
type StateIdentifier interface {
	StateID() (id uint64, ok bool)
}

// RewardBounder is implemented by sessions that know an upper bound of the
// step reward: no Reward(m), and no summed reward of one Jump() chain,
// exceeds MaxStepReward. Exhaustive planners use it for exact branch and
// bound.
type RewardBounder interface {
	MaxStepReward() float64
}

// PotentialBounder is implemented by sessions whose step rewards are
// bounded by the drop of a potential φ carried by some moves (the
// wire-frame climb term: φ = climb weight × a strut's mid height), which
// gives exhaustive planners a much tighter branch and bound than a per-step
// maximum. The contract, along any sequence of moves applied from the
// current state (Jump chains included):
//   - a move m with a potential, taken when the latest earlier move with
//     one (in the sequence, or applied before it) is p, has
//     Reward(m) ≤ φ(p) − φ(m) + slack;
//   - a move with a potential and no such earlier move, every move
//     without one, and every summed Jump chain have reward ≤ slack;
//   - φ(m) ≥ floor for every move with a potential still possible.
//
// With a non-increasing step weighting D ≥ 0 the discounted rewards of
// steps k, k+1, … after a move with reference potential φ₀ then sum to at
// most D(k)·max(0, φ₀ − floor) + slack·Σ_{j≥k} D(j) (Abel summation; see
// lsg.Bound).
type PotentialBounder interface {
	// Potential returns φ(m), ok = false for moves without one.
	Potential(m Move) (phi float64, ok bool)
	// PotentialState returns, in the current state, the potential of the
	// latest applied move that has one (lastOK = false if none) and the
	// floor and slack of the contract above.
	PotentialState() (last float64, lastOK bool, floor, slack float64)
}

// UndiscountedRewarder is implemented by sessions whose step reward holds
// a term that telescopes along any move sequence, such as a rise of a
// running maximum (summed over a sequence: the maximum it reached).
// Look-ahead planners that weight the k-th step of an episode by a
// discount D(k) (lsg.Explorer) weight this part by 1 instead, so its sum
// over an episode stays the telescoped value: discounted, a rise k steps
// ahead would look D(k) times as cheap as the same rise now, and the
// search would defer rises rather than avoid them.
type UndiscountedRewarder interface {
	// RewardSplit returns r = Reward(m) and the part u of it that is not
	// to be discounted (in one evaluation). u ≤ 0, so the bounds of
	// RewardBounder stay valid for the weighted return.
	RewardSplit(m Move) (r, u float64)
}

// Objective is implemented by sessions that can score the whole move
// sequence applied since Begin on the measures a job is judged by (lower
// is better in every component), for planners that compare complete
// toolpaths (the fortified rollout of lsg-dqn, planner.fortify_every).
// ObjectiveCost returns a cost vector: hard violations first (collisions,
// struts left out), the figure of merit last (wire-frames: [collisions,
// unreachable, max_displacement_mm], the metrics of the same names).
// Planners compare two vectors componentwise (NoWorse), so a plan
// accepted as no worse is no worse in each measure, or lexicographically
// (CompareCost) to rank. It must depend only on the applied moves, not on
// how the session got there (Apply/Undo history, memos).
type Objective interface {
	ObjectiveCost() []float64
}

// ObjectiveBounder is implemented by sessions that know, cheaply (O(1)),
// a componentwise lower bound of ObjectiveCost over every continuation of
// the moves applied so far (running maxima and counts that can only grow;
// wire-frames: the running maximum sag). Planners comparing complete
// toolpaths stop completing one as soon as the bound is already worse
// than what they compare it with.
type ObjectiveBounder interface {
	ObjectiveBound() []float64
}

// NoWorse reports whether cost vector a is at most b in every component
// (vectors of different length are incomparable: false). NaN is never at
// most anything, so an undefined cost is never accepted. The relation is a
// partial order: transitive, so a chain of NoWorse steps is NoWorse than
// its start.
func NoWorse(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !(a[i] <= b[i]) {
			return false
		}
	}
	return true
}

// CompareCost orders two cost vectors lexicographically: −1 if a < b, 0 if
// equal, +1 if a > b; a shorter vector that is a prefix of the longer is
// smaller. NaN compares above every number (an undefined cost never wins).
func CompareCost(a, b []float64) int {
	for i := 0; i < min(len(a), len(b)); i++ {
		x, y := a[i], b[i]
		xn, yn := x != x, y != y
		switch {
		case xn && yn:
			continue
		case xn:
			return 1
		case yn:
			return -1
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

// Process is a fabrication process as the planner sees it.
type Process interface {
	// Name is the registry name (wireframe, ccf, lpbf, travel).
	Name() string
	// Load reads a model with the process's loading rules (ground height,
	// pixel pitch, ...).
	Load(path string) (*graph.Graph, error)
	// NewSession starts planning over g.
	NewSession(g *graph.Graph) (Session, error)
}

// Artifact is an extra output a process can write from a finished plan
// (URScript, G-code, CLI scan vectors, plots).
type Artifact struct {
	Name  string // flag name, e.g. "urscript"
	Help  string
	Write func(w io.Writer, r *Result) error
	// Partial marks a diagnostic (a report, a plot) that is also written
	// for a plan that could not be completed; the others (programs for a
	// machine) are written only for complete plans.
	Partial bool
}

// ArtifactProvider is implemented by processes that can write artifacts.
type ArtifactProvider interface {
	Artifacts() []Artifact
}

// Result is a finished plan with the session that produced or replayed it.
type Result struct {
	Process string
	Planner string
	Model   string
	Graph   *graph.Graph
	Session Session
	Moves   []Move
	Metrics map[string]float64
	Config  config.Cell
	// ElapsedS is the planning wall time in seconds (0 for evaluate).
	ElapsedS float64
}

// Options configure a planner instance.
type Options struct {
	Config config.Planner
	// Process is the process the planner runs on (some planners, e.g. the
	// CCF euler baseline, need process settings).
	Process Process
	// Progress, if set, is called after every emitted move.
	Progress func(done, total int)
	// Log receives human-readable diagnostics (nil = discard).
	Log io.Writer
}

// Planner drives a session to completion.
type Planner interface {
	Name() string
	// Plan begins s at a start node of its choice (unless s.Current() >= 0,
	// in which case it continues from there), applies moves until s.Done(),
	// and calls emit with each move right after applying it. It returns
	// ctx.Err() when cancelled, the emit error if emit fails, and
	// ErrStuck if no move, jump or restart can complete the coverage.
	Plan(ctx context.Context, s Session, emit func(Move) error) error
}

// ErrStuck is returned when a planner cannot complete the coverage.
var ErrStuck = errors.New("planner stuck: coverage cannot be completed")

// PlannerFactory builds a planner.
type PlannerFactory func(opts Options) (Planner, error)

// ProcessFactory builds a process from the cell configuration.
type ProcessFactory func(cfg config.Cell) (Process, error)

type plannerEntry struct {
	factory   PlannerFactory
	processes []string // nil = every process
	help      string
}

var (
	regMu     sync.RWMutex
	plannersR = map[string]plannerEntry{}
	processR  = map[string]ProcessFactory{}
)

// RegisterPlanner makes a planner available by name. processes restricts it
// to those processes (nil = all). It panics on duplicates.
func RegisterPlanner(name, help string, processes []string, f PlannerFactory) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := plannersR[name]; dup {
		panic("planners: duplicate planner " + name)
	}
	plannersR[name] = plannerEntry{factory: f, processes: processes, help: help}
}

// RegisterProcess makes a process available by name. It panics on duplicates.
func RegisterProcess(name string, f ProcessFactory) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := processR[name]; dup {
		panic("planners: duplicate process " + name)
	}
	processR[name] = f
}

// NewPlanner builds the named planner for process proc.
func NewPlanner(name string, opts Options) (Planner, error) {
	regMu.RLock()
	e, ok := plannersR[name]
	regMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown planner %q (known: %s)", name, strings.Join(PlannerNames(""), ", "))
	}
	if opts.Process != nil && e.processes != nil {
		okp := false
		for _, p := range e.processes {
			okp = okp || p == opts.Process.Name()
		}
		if !okp {
			return nil, fmt.Errorf("planner %q does not support process %q (supports: %s)", name, opts.Process.Name(), strings.Join(e.processes, ", "))
		}
	}
	return e.factory(opts)
}

// NewProcess builds the named process.
func NewProcess(name string, cfg config.Cell) (Process, error) {
	regMu.RLock()
	f, ok := processR[name]
	regMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown process %q (known: %s)", name, strings.Join(ProcessNames(), ", "))
	}
	return f(cfg)
}

// PlannerNames lists planners usable with process ("" = all), sorted.
func PlannerNames(process string) []string {
	regMu.RLock()
	defer regMu.RUnlock()
	var out []string
	for n, e := range plannersR {
		if process == "" || e.processes == nil {
			out = append(out, n)
			continue
		}
		for _, p := range e.processes {
			if p == process {
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out
}

// PlannerHelp returns the one-line description of a planner.
func PlannerHelp(name string) string {
	regMu.RLock()
	defer regMu.RUnlock()
	return plannersR[name].help
}

// ProcessNames lists registered processes, sorted.
func ProcessNames() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(processR))
	for n := range processR {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Stream runs p on s in its own goroutine and delivers moves on a channel
// with capacity buf (the look-ahead buffer). The channel is closed when
// planning ends; wait() then returns the planner's error (nil on
// completion). Cancelling ctx stops the planner; a consumer that stops
// reading must cancel ctx.
func Stream(ctx context.Context, p Planner, s Session, buf int) (<-chan Move, func() error) {
	ch := make(chan Move, buf)
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		defer close(ch)
		err = p.Plan(ctx, s, func(m Move) error {
			select {
			case ch <- m:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	return ch, func() error { <-done; return err }
}

// NothingToCover reports whether s's graph has no coverage units at all
// (no edges, or no nodes for NodesOnce): complete before the first move,
// so a planner returns the empty plan instead of failing for want of a
// start node. A session whose units are all skipped (wire-frame struts
// that are all unreachable, excluded from Progress) is not empty: it has
// nothing printable, which planners report as stuck.
func NothingToCover(s Session) bool {
	g := s.Graph()
	if s.Coverage() == NodesOnce {
		return g.NumNodes() == 0 && s.Done()
	}
	return g.NumEdges() == 0 && s.Done()
}

// Run plans s to completion and returns the moves.
func Run(ctx context.Context, p Planner, s Session, progress func(done, total int)) ([]Move, error) {
	var out []Move
	err := p.Plan(ctx, s, func(m Move) error {
		out = append(out, m)
		if progress != nil {
			d, t := s.Progress()
			progress(d, t)
		}
		return nil
	})
	return out, err
}

// PathOf returns the node visiting order of moves: the first From, then
// every To.
func PathOf(moves []Move) []int {
	if len(moves) == 0 {
		return nil
	}
	out := make([]int, 0, len(moves)+1)
	out = append(out, moves[0].From)
	for _, m := range moves {
		out = append(out, m.To)
	}
	return out
}

// MarshalJSON writes a move with its axis when set.
func (m Move) MarshalJSON() ([]byte, error) {
	type mj struct {
		From int       `json:"from"`
		To   int       `json:"to"`
		Kind MoveKind  `json:"kind"`
		Edge int       `json:"edge"`
		Axis []float64 `json:"axis,omitempty"`
	}
	return json.Marshal(mj{m.From, m.To, m.Kind, m.Edge, m.axisSlice()})
}

// UnmarshalJSON reads a move written by MarshalJSON.
func (m *Move) UnmarshalJSON(b []byte) error {
	var v struct {
		From *int      `json:"from"`
		To   *int      `json:"to"`
		Kind MoveKind  `json:"kind"`
		Edge *int      `json:"edge"`
		Axis []float64 `json:"axis"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.From == nil || v.To == nil {
		return errors.New("move needs from and to")
	}
	*m = Move{From: *v.From, To: *v.To, Kind: v.Kind, Edge: -1}
	if v.Edge != nil {
		m.Edge = *v.Edge
	}
	if len(v.Axis) == 3 {
		m.Axis = r3.Vector{X: v.Axis[0], Y: v.Axis[1], Z: v.Axis[2]}
	} else if v.Axis != nil {
		return fmt.Errorf("move axis needs 3 components, got %d", len(v.Axis))
	}
	return nil
}
