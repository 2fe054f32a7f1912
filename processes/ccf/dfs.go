package ccf

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"fabcell/planners"
)

func init() {
	planners.RegisterPlanner("dfs",
		"CCF baseline: depth-first search with backtracking that avoids sharp turns (after Huang et al. 2023), bounded by ccf.dfs_backtrack_budget per avoided turn and ccf.dfs_time_limit_s",
		[]string{"ccf"}, func(o planners.Options) (planners.Planner, error) { return NewDFS(o) })
}

// DFS is the depth-first baseline in the flavour of Huang et al. 2023
// (Addit. Manuf. 68:103501), whose planner searches a continuous fibre
// path depth-first over the lattice (their "dual graph": the moves between
// lattice nodes) and backtracks when the path would need a sharp turn.
// fabcell's version works directly on the session:
//
//   - at every node the candidates (already filtered by the dead-end guard,
//     so the search never needs to backtrack for completeness) are tried in
//     the order: non-sharp before sharp (θ ≤ ccf.sharp_turn_deg), first
//     passes before re-traversals, then the smaller turning angle;
//   - only non-sharp moves are taken while searching; when every non-sharp
//     move at a node has been tried, the search backtracks chronologically;
//   - each avoided sharp turn may cost at most BacktrackBudget undone moves
//     (ccf.dfs_backtrack_budget); when the budget is spent, the search
//     returns to the deepest state it got stuck in, takes the least sharp
//     move there and never backtracks above that point again (the budget
//     is renewed);
//   - after TimeLimit (ccf.dfs_time_limit_s) it stops backtracking
//     altogether and finishes with the least sharp move at every stuck
//     node, which takes linear time.
//
// The search runs to completion before the first move is emitted (a move
// may still be undone until then). Without a timeout the result is
// deterministic.
type DFS struct {
	opts      planners.Options
	rp        RewardParams
	sharpRad  float64
	TimeLimit time.Duration
	Budget    int
	now       func() time.Time // injectable clock (tests)

	// Stats of the last Plan.
	Stats DFSStats
}

// DFSStats count what the last Plan did.
type DFSStats struct {
	Applied    int  // moves applied while searching
	Backtracks int  // moves undone
	Accepted   int  // sharp turns accepted after the budget ran out
	TimedOut   bool // the time limit stopped backtracking
}

var _ planners.Planner = (*DFS)(nil)

// NewDFS builds the baseline from the ccf settings of o.Process.
func NewDFS(o planners.Options) (*DFS, error) {
	c := ccfConfig(o)
	rp, err := ParamsFromConfig(c)
	if err != nil {
		return nil, err
	}
	if !(c.DFSTimeLimitS > 0) || c.DFSBacktrackBudget < 1 {
		return nil, fmt.Errorf("dfs: ccf.dfs_time_limit_s and ccf.dfs_backtrack_budget must be positive, got %v and %d", c.DFSTimeLimitS, c.DFSBacktrackBudget)
	}
	return &DFS{opts: o, rp: rp, sharpRad: c.SharpTurnDeg * math.Pi / 180,
		TimeLimit: time.Duration(c.DFSTimeLimitS * float64(time.Second)), Budget: c.DFSBacktrackBudget, now: time.Now}, nil
}

// Name implements planners.Planner.
func (d *DFS) Name() string { return "dfs" }

type dfsCand struct {
	m     planners.Move
	sharp bool
	retr  bool
	theta float64
}

// Plan implements planners.Planner. It continues a begun session from its
// current state (never undoing moves it did not make).
func (d *DFS) Plan(ctx context.Context, s planners.Session, emit func(planners.Move) error) error {
	d.Stats = DFSStats{}
	if s.Current() < 0 {
		if planners.NothingToCover(s) {
			return nil // the empty plan is complete
		}
		starts := s.Starts()
		if len(starts) == 0 {
			return fmt.Errorf("%w: no start node", planners.ErrStuck)
		}
		if err := s.Begin(starts[0]); err != nil {
			return err
		}
	}
	g := s.Graph()
	base := len(s.Moves())
	floor := base // never backtrack below this many moves
	deadline := d.now().Add(d.TimeLimit)
	budget := d.Budget
	var frames [][]dfsCand // frames[k]: candidates at depth floor+k
	var nexts []int
	var record []planners.Move // deepest state we got stuck in
	recordLen := -1
	var buf []planners.Move
	candidates := func() []dfsCand {
		buf = s.Candidates(buf[:0])
		prev := -1
		if ms := s.Moves(); len(ms) > 0 && ms[len(ms)-1].To == s.Current() {
			prev = ms[len(ms)-1].From
		}
		out := make([]dfsCand, len(buf))
		for i, m := range buf {
			th := 0.0
			if prev >= 0 {
				th = planners.TurnAngle(g, prev, m.From, m.To)
			}
			out[i] = dfsCand{m: m, sharp: th > d.sharpRad, retr: s.Remaining(m.Edge) < g.PassesOf(m.Edge), theta: th}
		}
		sort.SliceStable(out, func(i, j int) bool {
			a, b := out[i], out[j]
			if a.sharp != b.sharp {
				return !a.sharp
			}
			if a.sharp {
				// least sharp first
				if a.theta != b.theta {
					return a.theta < b.theta
				}
				return !a.retr && b.retr
			}
			if a.retr != b.retr {
				return !a.retr
			}
			return a.theta < b.theta
		})
		return out
	}
	iter := 0
	for !s.Done() {
		iter++
		if iter&255 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !d.Stats.TimedOut && d.now().After(deadline) {
				d.Stats.TimedOut = true
			}
		}
		depth := len(s.Moves())
		k := depth - floor
		if k == len(frames) {
			frames = append(frames, candidates())
			nexts = append(nexts, 0)
		}
		fr := frames[k]
		if nexts[k] < len(fr) && !fr[nexts[k]].sharp {
			m := fr[nexts[k]].m
			nexts[k]++
			s.Apply(m)
			d.Stats.Applied++
			continue
		}
		// every non-sharp continuation from here has been tried
		if depth > recordLen {
			recordLen = depth
			record = append(record[:0], s.Moves()...)
		}
		if !d.Stats.TimedOut && budget > 0 && depth > floor {
			s.Undo()
			frames, nexts = frames[:k], nexts[:k]
			budget--
			d.Stats.Backtracks++
			continue
		}
		// accept a sharp turn at the deepest stuck state
		ms := s.Moves()
		common := floor
		for common < len(ms) && common < recordLen && ms[common] == record[common] {
			common++
		}
		for len(s.Moves()) > common {
			s.Undo()
		}
		for _, m := range record[common:recordLen] {
			s.Apply(m)
		}
		cs := candidates()
		if len(cs) == 0 {
			dn, tot := s.Progress()
			return fmt.Errorf("%w at node %d (%d of %d edges covered)", planners.ErrStuck, s.Current(), dn, tot)
		}
		s.Apply(cs[0].m)
		d.Stats.Applied++
		if cs[0].sharp {
			d.Stats.Accepted++
		}
		floor = len(s.Moves())
		frames, nexts = frames[:0], nexts[:0]
		budget = d.Budget
		recordLen = -1
	}
	for _, m := range s.Moves()[base:] {
		if err := emit(m); err != nil {
			return err
		}
		if d.opts.Progress != nil {
			dn, tot := s.Progress()
			d.opts.Progress(dn, tot)
		}
	}
	return nil
}
