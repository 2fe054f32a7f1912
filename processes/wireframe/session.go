package wireframe

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/golang/geo/r3"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"
	"fabcell/simulation/collision"
	"fabcell/simulation/fea"
	"fabcell/simulation/geom"
)

// Status says how a print move was executed.
type Status uint8

const (
	// StatusOK: the head axis is collision-free and the arm check passed.
	StatusOK Status = iota
	// StatusHeadCollision: no sampled head axis avoids the printed
	// structure, the bed and the keep-out boxes (Eq. 7's penalty case).
	StatusHeadCollision
	// StatusArm: the head is free at some axis but the arm-level check
	// fails at all of them.
	StatusArm
	// StatusFloating: the strut was printed from a node that is neither
	// grounded nor on the printed structure (nothing to attach to).
	StatusFloating
)

var statusText = [...]string{"ok", "head collision", "arm check failed", "floating (no support at the start node)"}

func (s Status) String() string {
	if int(s) < len(statusText) {
		return statusText[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// rec is the process state recorded per applied move.
type rec struct {
	axis   int32 // head axis index used by a print (−1 otherwise)
	yaw    int16
	status Status
	after  int32 // head axis index after the move (the previous axis of the next)
	fail   armFail
}

// orient is the answer of Eq. 6 for one move in one state.
type orient struct {
	axis   int32 // −1: none
	yaw    int16
	status Status
	fail   armFail // most specific arm failure when status == StatusArm
}

type orientKey struct {
	hash uint64
	edge int32
	rev  bool
	prev int32
}

// maxOrientCache bounds the orientation memo (entries); it is cleared when
// full.
const maxOrientCache = 1 << 20

// Session is the planning state of one wire-frame toolpath
// (planners.Session): the coverage (every strut printed exactly once),
// the printed structure in the FEA session and the collision world, the
// head axis of every print, and the memo of Eq. 6 answers per state.
//
// Candidates are the unprinted struts at the tool's node when that node is
// grounded or on the printed structure (so every strut hangs on something
// when it is extruded), that have a collision-free head axis (Eq. 6) and
// pass the arm-level check, whose lowest point lies within layer_band_mm
// of the lowest still-printable strut (a bottom-up front: a strut printed
// above unprinted ones blocks their head) and, with lookahead_mm, that
// leave every nearby unprinted strut a free axis. Other struts are
// postponed. When no strut anywhere passes band and lookahead, they are
// lifted (mode relaxed); when nothing is printable at all the coverage
// ends (Done) under skip_unreachable and the rest is reported by
// Unreachable. The first strut starts at a grounded node (Starts). The
// jump rule uses the same test, so a jump always lands on a candidate.
//
// Reward (Eqs. 5–8, real units, undiscounted; planners apply D(k)):
//
//	print:  r = r_c − w·d − w_p·max(0, d − D) − c·(z̄(e) − z̄(e_prev))
//	        d = d_max(P ∪ e) [mm], z̄ [mm]
//	        r_c = −ang(o*, o_prev) [rad], or −collision_penalty when no
//	        axis is free, the start node is unsupported, the strut is
//	        already printed or the FEA finds the structure unstable (the
//	        last three: r = −collision_penalty alone)
//	travel: −travel_weight_per_mm · length
//	jump:   −(jump_penalty + travel_weight_per_mm · distance)
//
// with w = displacement_weight_per_mm (Eq. 8), c = climb_weight_per_mm
// and d_max from the global FEA or the LSG window (fea_scope). The peak
// term is a fabcell extension (w_p = peak_displacement_weight_per_mm):
// D is the running maximum of d over the prints applied since Begin
// (D = 0 before the first), part of the session state and restored by
// Undo. Along any sequence the peak terms telescope to −w_p·max_k d_k,
// the max_displacement_mm metric (with fea_scope global), so a
// look-ahead planner minimises the maximum sag within its horizon where
// Eq. 8's −w·d_k sums the sag of every partial structure — provided it
// does not discount them: the session reports the peak term as the
// undiscounted part of the reward (planners.UndiscountedRewarder).
type Session struct {
	*planners.Tracker
	p   *Process
	cfg config.WireframeProcess

	fs      *fea.Session // global FEA of the printed set
	win     *fea.Session // LSG window (fea_scope lsg)
	winHash uint64
	winNode int
	winOK   bool
	rings   int
	ringBuf []int
	mark    []uint32
	markEp  uint32

	world *collision.World
	chk   *collision.Checker
	// mc memoises chk's swept-head tests per (strut, direction, axis)
	// across printed sets (key moveKey); answers equal chk's
	mc     *collision.MoveCache
	arm    *arm // nil when wireframe.arm_check is off
	strutR float64
	bedZ   float64
	// BedToBase is the bed frame in the robot base frame (mm).
	bedToBase geom.Pose
	frameSrc  string

	onStruct []int32 // printed struts meeting each node
	hash     uint64
	recs     []rec
	maxZ     []float64 // highest printed point (mm) after each applied move; maxZ[0] = bed
	// peakMM[k] is D after k applied moves: the largest d (mm) of the
	// reward's sag term over the prints among them (peakMM[0] = 0)
	peakMM  []float64
	nSkipPr int // skipped (unreachable) struts printed anyway (replays)

	cache map[orientKey]orient
	// forward check (lookahead_mm): unprinted struts in their own grid,
	// the last free head axis found per strut, memo of kills per state
	open     *collision.World
	hint     []int32
	killMemo map[[2]uint64]int32
	modeMemo map[uint64]int8
	// global d_max (mm) of printed set + strut, per (printed-set hash,
	// strut): rewards and DisplacementSeries share it
	dispMemo map[[2]uint64]float64
	// bottom-up band (layer_band_mm)
	frontMemo map[uint64]float64
	scratch   []planners.Move
	dead      []bool // struts without any free head axis on the current path
	deadStk   []deadRec
	byMinZ    []int32
	skip      []bool // statically unreachable struts (skip_unreachable)
	nSkip     int

	static []Unreachable
	starts []int
	zSpan  float64

	metricsKey [2]uint64
	metrics    map[string]float64
	dispMM     []float64 // global d_max after each move (metrics)
}

var (
	_ planners.Session              = (*Session)(nil)
	_ planners.RewardBounder        = (*Session)(nil)
	_ planners.PotentialBounder     = (*Session)(nil)
	_ planners.UndiscountedRewarder = (*Session)(nil)
)

// Unreachable names a strut that cannot be printed and why.
type Unreachable struct {
	Edge   int    `json:"edge"`
	A      int    `json:"a"`
	B      int    `json:"b"`
	Reason string `json:"reason"`
}

// NewSession implements planners.Process.
func (p *Process) NewSession(g *graph.Graph) (planners.Session, error) { return p.Open(g) }

// Open is NewSession returning the concrete type.
func (p *Process) Open(g *graph.Graph) (*Session, error) {
	if g == nil || g.NumEdges() == 0 {
		return nil, fmt.Errorf("wireframe: %w", graph.ErrNoEdges)
	}
	if g.NumGrounded() == 0 {
		return nil, fmt.Errorf("wireframe: %s has no grounded node (nodes below wireframe.ground_z_mm %v mm, or is_grounded flags): nothing to print the first strut from", g.Name, p.cfg.Wireframe.GroundZMM)
	}
	frame, err := p.frame(g)
	if err != nil {
		return nil, fmt.Errorf("wireframe: %w", err)
	}
	fopt := fea.SessionOptions{Method: fea.Woodbury, States: 16}
	if p.noDelta {
		fopt.MaxDelta = -1
	}
	fs, err := frame.NewSession(fea.SelfWeight(), fopt)
	if err != nil {
		return nil, fmt.Errorf("wireframe: %w", err)
	}
	w := p.cfg.Wireframe
	s := &Session{
		Tracker:   planners.NewTracker(g, planners.EdgesOnce),
		p:         p,
		cfg:       w,
		fs:        fs,
		strutR:    collision.StrutRadiusMM(w),
		onStruct:  make([]int32, g.NumNodes()),
		cache:     map[orientKey]orient{},
		modeMemo:  map[uint64]int8{},
		dispMemo:  map[[2]uint64]float64{},
		frontMemo: map[uint64]float64{},
		skip:      make([]bool, g.NumEdges()),
		mark:      make([]uint32, g.NumNodes()),
		maxZ:      []float64{math.Inf(-1)},
		peakMM:    []float64{0},
	}
	s.rings = w.FEAWindowRings
	if s.rings == 0 {
		s.rings = max(1, p.cfg.Planner.Ring)
	}
	lo, hi := g.Bounds()
	s.bedZ = lo.Z
	s.maxZ[0] = lo.Z
	s.zSpan = hi.Z - lo.Z
	s.bedToBase, s.frameSrc = p.BedFrame(g)
	s.world, err = collision.NewWorld(collision.Options{BedZMM: s.bedZ})
	if err != nil {
		return nil, fmt.Errorf("wireframe: %w", err)
	}
	keep, err := s.keepOutShapes()
	if err != nil {
		return nil, err
	}
	for i, k := range keep {
		if _, err := s.world.AddObstacle(fmt.Sprintf("safety.keep_out[%d]", i), k); err != nil {
			return nil, fmt.Errorf("wireframe: %w", err)
		}
	}
	s.chk, err = collision.NewChecker(s.world, p.head, p.axes, w.CollisionClearanceMM)
	if err != nil {
		return nil, fmt.Errorf("wireframe: %w", err)
	}
	if !p.noMoveCache {
		if s.mc, err = collision.NewMoveCache(s.chk, 2*g.NumEdges()); err != nil {
			return nil, fmt.Errorf("wireframe: %w", err)
		}
	}
	if w.ArmCheck {
		s.arm, err = p.newArm(g, s.bedToBase, s.bedZ, keep)
		if err != nil {
			return nil, err
		}
		if p.noMoveCache {
			s.arm.clear = nil // reference mode: every link check queries the world
		}
	}
	s.hint = make([]int32, g.NumEdges())
	s.dead = make([]bool, g.NumEdges())
	if err := s.findUnreachable(); err != nil {
		return nil, err
	}
	if w.LookaheadMM > 0 && w.CollisionOn() {
		if s.open, err = collision.NewWorld(collision.Options{NoBed: true}); err != nil {
			return nil, fmt.Errorf("wireframe: %w", err)
		}
		s.killMemo = map[[2]uint64]int32{}
		s.resetOpen()
	}
	s.byMinZ = make([]int32, g.NumEdges())
	for e := range s.byMinZ {
		s.byMinZ[e] = int32(e)
	}
	sort.SliceStable(s.byMinZ, func(i, j int) bool { return s.minZ(int(s.byMinZ[i])) < s.minZ(int(s.byMinZ[j])) })
	s.findStarts()
	return s, nil
}

// keepOutShapes converts safety.keep_out boxes (robot base frame, mm) to
// oriented boxes in the bed frame.
func (s *Session) keepOutShapes() ([]collision.Shape, error) {
	baseToBed := s.bedToBase.Inverse()
	var out []collision.Shape
	for i, b := range s.p.cfg.Safety.KeepOut {
		c := r3.Vector{X: (b.MinMM[0] + b.MaxMM[0]) / 2, Y: (b.MinMM[1] + b.MaxMM[1]) / 2, Z: (b.MinMM[2] + b.MaxMM[2]) / 2}
		half := r3.Vector{X: (b.MaxMM[0] - b.MinMM[0]) / 2, Y: (b.MaxMM[1] - b.MinMM[1]) / 2, Z: (b.MaxMM[2] - b.MinMM[2]) / 2}
		pose := baseToBed.Mul(geom.Pose{R: geom.Identity(), P: c})
		box, err := collision.NewBox(pose, half)
		if err != nil {
			return nil, fmt.Errorf("wireframe: safety.keep_out[%d]: %w", i, err)
		}
		out = append(out, box)
	}
	return out, nil
}

// Process returns the session's process.
func (s *Session) Process() *Process { return s.p }

// BedFrame returns the bed frame in the robot base frame (mm) and its
// source ("config" or "model").
func (s *Session) BedFrame() (geom.Pose, string) { return s.bedToBase, s.frameSrc }

// ArmBranch returns the arm configuration branch every motion stays on,
// and false when the arm check is off.
func (s *Session) ArmBranch() (Branch, bool) {
	if s.arm == nil {
		return Branch{}, false
	}
	return s.arm.branch, true
}

// supported reports whether a strut extruded from v hangs on something:
// v is grounded or on the printed structure.
func (s *Session) supported(v int) bool { return s.G.Grounded[v] || s.onStruct[v] > 0 }

// curAxis is the head axis index after the last move (0 = vertical before
// any print).
func (s *Session) curAxis() int {
	if n := len(s.recs); n > 0 {
		return int(s.recs[n-1].after)
	}
	return 0
}

// findOrient solves Eq. 6 for printing edge e from node from with the head
// at axis index prev, memoised per printed set.
func (s *Session) findOrient(e, from, prev int) orient {
	ed := s.G.Edges[e]
	key := orientKey{hash: s.hash, edge: int32(e), rev: from != ed.A, prev: int32(prev)}
	if o, ok := s.cache[key]; ok {
		return o
	}
	o := s.solveOrient(e, from, prev)
	if len(s.cache) >= maxOrientCache {
		clear(s.cache)
	}
	s.cache[key] = o
	return o
}

func (s *Session) solveOrient(e, from, prev int) orient {
	ed := s.G.Edges[e]
	pa, pb := s.G.Pos[from], s.G.Pos[ed.Other(from)]
	axes := s.p.axes
	best := armUnknown
	accept := func(idx int) (int16, bool) {
		if s.arm == nil {
			return 0, true
		}
		for y := range s.arm.nYaw {
			f := s.arm.checkStatic(e, idx, y)
			if f == armOK && !s.arm.linksClear(s.arm.key(e, idx, y), s.world, s.strutR, s.maxZ[len(s.maxZ)-1]) {
				f = armStrut
			}
			if f == armOK {
				return int16(y), true
			}
			best = max(best, f)
		}
		return 0, false
	}
	if !s.cfg.CollisionOn() {
		// no head collision test: the axis nearest the previous one that
		// the arm accepts
		order := axesByAngle(axes, axes[prev])
		for _, i := range order {
			if y, ok := accept(i); ok {
				return orient{axis: int32(i), yaw: y}
			}
		}
		return orient{axis: -1, status: StatusArm, fail: best}
	}
	var yaw int16
	tried := false
	o, ok := s.bestAccept(s.moveKey(e, from), pa, pb, axes[prev], func(o collision.Orientation) bool {
		tried = true
		y, ok := accept(o.Index)
		yaw = y
		return ok
	})
	if ok {
		return orient{axis: int32(o.Index), yaw: yaw}
	}
	if tried {
		return orient{axis: -1, status: StatusArm, fail: best}
	}
	return orient{axis: -1, status: StatusHeadCollision}
}

// moveKey is the MoveCache key of printing strut e from node from.
func (s *Session) moveKey(e, from int) int {
	if from == s.G.Edges[e].A {
		return 2 * e
	}
	return 2*e + 1
}

// moveFree is the Eq. 5 test of printing a → b (move key) at axis index
// i, through the move cache.
func (s *Session) moveFree(key int, a, b r3.Vector, i int) bool {
	if s.mc == nil {
		return s.chk.MoveFree(a, b, s.p.axes[i])
	}
	return s.mc.Free(key, a, b, i)
}

// bestAccept is Checker.BestAccept through the move cache.
func (s *Session) bestAccept(key int, a, b, prev r3.Vector, accept func(collision.Orientation) bool) (collision.Orientation, bool) {
	if s.mc == nil {
		return s.chk.BestAccept(a, b, prev, accept)
	}
	return s.mc.BestAccept(key, a, b, prev, accept)
}

// axesByAngle returns axis indices by increasing angle from ref (ties by
// index).
func axesByAngle(axes []r3.Vector, ref r3.Vector) []int {
	out := make([]int, len(axes))
	for i := range out {
		out[i] = i
	}
	sort.SliceStable(out, func(i, j int) bool { return axes[out[i]].Dot(ref) > axes[out[j]].Dot(ref) })
	return out
}

// axisIndex returns the index of axis a among the candidate axes, or −1.
func (s *Session) axisIndex(a r3.Vector) int {
	if a == (r3.Vector{}) {
		return -1
	}
	a = a.Normalize()
	for i, x := range s.p.axes {
		if x.Dot(a) > 1-1e-9 {
			return i
		}
	}
	return -1
}

// Starts implements planners.Session: grounded nodes from which a strut
// can be printed into the empty scene, those with a strut along the bed
// (both ends grounded) first, then by index.
func (s *Session) Starts() []int { return append([]int(nil), s.starts...) }

func (s *Session) findStarts() {
	type st struct {
		v   int
		bed bool
	}
	var list []st
	for v := range s.G.NumNodes() {
		if !s.G.Grounded[v] {
			continue
		}
		ok, bed := false, false
		for _, h := range s.G.Neighbors(v) {
			e := int(h.Edge)
			if s.skip[e] {
				continue
			}
			if s.findOrient(e, v, 0).axis >= 0 {
				ok = true
				bed = bed || s.G.Grounded[h.To]
			}
		}
		if ok {
			list = append(list, st{v, bed})
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].bed && !list[j].bed })
	for _, x := range list {
		s.starts = append(s.starts, x.v)
	}
}

// Begin implements planners.Session.
func (s *Session) Begin(v int) error {
	if err := s.Tracker.Begin(v); err != nil {
		return err
	}
	for len(s.fs.PrintedElems()) > 0 {
		if err := s.fs.Remove(int(s.fs.PrintedElems()[0])); err != nil {
			return err
		}
	}
	s.world.Clear()
	clear(s.onStruct)
	s.hash = 0
	s.recs = s.recs[:0]
	s.maxZ = s.maxZ[:1]
	s.peakMM = s.peakMM[:1]
	s.nSkipPr = 0
	s.winOK = false
	clear(s.dead)
	s.deadStk = s.deadStk[:0]
	if s.open != nil {
		s.resetOpen()
	}
	return nil
}

// resetOpen fills the forward-check grid with every printable strut.
func (s *Session) resetOpen() {
	s.open.Clear()
	for e, ed := range s.G.Edges {
		if !s.skip[e] {
			if err := s.open.Add(e, s.G.Pos[ed.A], s.G.Pos[ed.B], s.strutR); err != nil {
				panic(fmt.Sprintf("wireframe: %v", err)) // coordinates were validated by the main world
			}
		}
	}
}

// hasFreeAxis reports whether strut f has a head axis clear of the current
// world (and, with the arm check, statically reachable), trying the last
// axis found first.
func (s *Session) hasFreeAxis(f int) bool {
	ed := s.G.Edges[f]
	pa, pb := s.G.Pos[ed.A], s.G.Pos[ed.B]
	ok := func(i int) bool {
		if !s.moveFree(s.moveKey(f, ed.A), pa, pb, i) {
			return false
		}
		if s.arm == nil {
			return true
		}
		for y := range s.arm.nYaw {
			if s.arm.checkStatic(f, i, y) == armOK {
				return true
			}
		}
		return false
	}
	h := int(s.hint[f])
	if ok(h) {
		return true
	}
	for i := range s.p.axes {
		if i != h && ok(i) {
			s.hint[f] = int32(i)
			return true
		}
	}
	return false
}

// kills returns an unprinted strut within lookahead_mm of e that has a
// clear head axis now but none once e is printed (so it could never be
// printed), or −1. Memoised per printed set.
func (s *Session) kills(e int) int {
	if s.open == nil {
		return -1
	}
	key := [2]uint64{s.hash, uint64(e)}
	if k, ok := s.killMemo[key]; ok {
		return int(k)
	}
	ed := s.G.Edges[e]
	pa, pb := s.G.Pos[ed.A], s.G.Pos[ed.B]
	r := s.cfg.LookaheadMM
	var near []int
	s.open.QueryBox(geom.SegmentAABB(pa, pb, s.strutR), r, func(f int, c collision.Capsule) bool {
		if f != e {
			if _, _, d := geom.SegmentSegment(pa, pb, c.A, c.B); d-2*s.strutR <= r {
				near = append(near, f)
			}
		}
		return true
	})
	killed := -1
	if len(near) > 0 {
		if err := s.world.Add(e, pa, pb, s.strutR); err != nil {
			panic(fmt.Sprintf("wireframe: %v", err))
		}
		for _, f := range near {
			if s.hasFreeAxis(f) {
				continue
			}
			s.world.Remove(e)
			alive := s.hasFreeAxis(f)
			if err := s.world.Add(e, pa, pb, s.strutR); err != nil {
				panic(fmt.Sprintf("wireframe: %v", err))
			}
			if alive {
				killed = f
				break
			}
		}
		s.world.Remove(e)
	}
	if len(s.killMemo) >= maxOrientCache {
		clear(s.killMemo)
	}
	s.killMemo[key] = int32(killed)
	return killed
}

// Remaining implements planners.Session: 1 for an unprinted strut, 0 for
// a printed or unreachable (skipped) one.
func (s *Session) Remaining(e int) int {
	if s.skip[e] {
		return 0
	}
	return s.Tracker.Remaining(e)
}

// Progress implements planners.Session: printed struts and the number to
// print (unreachable struts skipped under skip_unreachable excluded).
func (s *Session) Progress() (int, int) {
	d, t := s.Tracker.Progress()
	return d - s.nSkipPr, t - s.nSkip
}

// Done implements planners.Session.
func (s *Session) Done() bool {
	d, t := s.Progress()
	if d == t {
		return true
	}
	if !s.cfg.SkipUnreachable || s.Current() < 0 {
		return false
	}
	if v := s.Current(); s.printableAt(v, s.curAxis()) {
		return false
	}
	return s.mode() == modeNone
}

// strictOK reports whether e (with a free head axis) also passes the
// bottom-up band and the forward check.
func (s *Session) strictOK(e int) bool {
	if b := s.cfg.LayerBandMM; b > 0 && s.minZ(e) > s.front()+b {
		return false
	}
	return s.kills(e) < 0
}

func (s *Session) minZ(e int) float64 {
	ed := s.G.Edges[e]
	return math.Min(s.G.Pos[ed.A].Z, s.G.Pos[ed.B].Z)
}

// front returns the lowest point (mm) of the lowest unprinted strut that
// still has a collision-free head axis (+Inf if none), memoised per
// printed set.
func (s *Session) front() float64 {
	if z, ok := s.frontMemo[s.hash]; ok {
		return z
	}
	z := math.Inf(1)
	for _, e := range s.byMinZ {
		if s.skip[e] || s.Passes(int(e)) > 0 {
			continue
		}
		if !s.cfg.CollisionOn() || s.aliveNow(int(e)) {
			z = s.minZ(int(e))
			break
		}
	}
	if len(s.frontMemo) >= maxOrientCache {
		clear(s.frontMemo)
	}
	s.frontMemo[s.hash] = z
	return z
}

// aliveNow is hasFreeAxis for the current state, remembering dead struts:
// free axes only shrink as struts are added, so a strut found dead at
// print count d stays dead until an Undo goes below d.
func (s *Session) aliveNow(f int) bool {
	if s.dead[f] {
		return false
	}
	if s.hasFreeAxis(f) {
		return true
	}
	d, _ := s.Tracker.Progress()
	s.dead[f] = true
	s.deadStk = append(s.deadStk, deadRec{f: int32(f), depth: int32(d)})
	return false
}

type deadRec struct{ f, depth int32 }

// Print modes of a state (see mode).
const (
	modeStrict  int8 = iota // some strut passes the forward check
	modeRelaxed             // struts are printable, but each blocks another
	modeNone                // nothing is printable
)

// mode classifies the current printed set: whether any unprinted strut
// can be printed from a supported node and passes the forward check
// (strict), can only be printed by blocking another one (relaxed: then
// the forward check is lifted, since completing the coverage is impossible
// anyway and printing more is better), or cannot be printed at all.
// Memoised per printed set.
func (s *Session) mode() int8 {
	if md, ok := s.modeMemo[s.hash]; ok {
		return md
	}
	prev := s.curAxis()
	band := s.cfg.LayerBandMM
	limit := math.Inf(1)
	if band > 0 {
		limit = s.front() + band
	}
	md := modeNone
	// by height: in-band struts first; past the band only the existence of
	// a printable strut is left to decide
	for _, e32 := range s.byMinZ {
		e := int(e32)
		if s.skip[e] || s.Passes(e) > 0 {
			continue
		}
		inBand := s.minZ(e) <= limit
		if !inBand && md == modeRelaxed {
			break
		}
		ed := s.G.Edges[e]
		ok := false
		for _, v := range [2]int{ed.A, ed.B} {
			if s.supported(v) && s.findOrient(e, v, prev).axis >= 0 {
				ok = true
				break
			}
		}
		if !ok {
			continue
		}
		if inBand && s.kills(e) < 0 {
			md = modeStrict
			break
		}
		md = modeRelaxed
		if !inBand {
			break
		}
	}
	if len(s.modeMemo) >= maxOrientCache {
		clear(s.modeMemo)
	}
	s.modeMemo[s.hash] = md
	return md
}

// Candidates implements planners.Session: the printable unprinted struts
// at the current node, each with the head axis Eq. 6 chose in Move.Axis.
func (s *Session) Candidates(dst []planners.Move) []planners.Move {
	v := s.Current()
	if v < 0 {
		return dst
	}
	return s.candidatesAt(v, s.curAxis(), dst)
}

// candidatesAt appends the print moves from node v with the head at axis
// index prev: the unprinted struts with a head axis (Eq. 6) that pass the
// bottom-up band and the forward check, or, when no strut anywhere does
// (mode relaxed), every strut with a head axis. Candidates and the jump
// rule both use it, so a jump always lands where there is a candidate.
func (s *Session) candidatesAt(v, prev int, dst []planners.Move) []planners.Move {
	if !s.supported(v) {
		return dst
	}
	n := len(dst)
	for pass := 0; pass < 2; pass++ {
		for _, h := range s.G.Neighbors(v) {
			e := int(h.Edge)
			if s.skip[e] || s.Passes(e) > 0 {
				continue
			}
			o := s.findOrient(e, v, prev)
			if o.axis < 0 || (pass == 0 && !s.strictOK(e)) {
				continue
			}
			dst = append(dst, planners.Move{From: v, To: int(h.To), Kind: planners.Print, Edge: e, Axis: s.p.axes[o.axis]})
		}
		if len(dst) > n || s.mode() != modeRelaxed {
			break
		}
	}
	return dst
}

// MaxStepReward implements planners.RewardBounder: every term of a print
// reward is ≤ 0 except the climb term, which is at most
// climb_weight_per_mm × the model's height; travels and jumps are ≤ 0.
func (s *Session) MaxStepReward() float64 { return s.cfg.ClimbWeightPerMM * s.zSpan }

// Potential implements planners.PotentialBounder: φ = c·z̄ (c the climb
// weight, z̄ the strut's mid height, mm) for print moves, none for
// travels and jumps. The climb term −c·(z̄(e) − z̄(last print)) is then
// φ(last) − φ(e) and every other term of a print is ≤ 0, except that a
// print charged the collision penalty alone skips the climb term (see
// PotentialState's slack); travels and jumps are ≤ 0.
func (s *Session) Potential(m planners.Move) (float64, bool) {
	if m.Kind != planners.Print || m.Edge < 0 {
		return 0, false
	}
	return s.cfg.ClimbWeightPerMM * s.midZ(m.Edge), true
}

// PotentialState implements planners.PotentialBounder: the potential of
// the last print, the floor c·min z̄ over the unprinted struts (skipped
// ones included; +Inf when none is left) and the slack max(0, c·Δz −
// collision_penalty), Δz the model's height (≥ the spread of z̄), which
// covers a print charged the penalty instead of its climb.
func (s *Session) PotentialState() (last float64, lastOK bool, floor, slack float64) {
	c := s.cfg.ClimbWeightPerMM
	if e := s.lastPrintEdge(); e >= 0 {
		last, lastOK = c*s.midZ(e), true
	}
	lo := math.Inf(1)
	for _, e32 := range s.byMinZ {
		e := int(e32)
		if s.minZ(e) >= lo {
			break // every later strut has z̄ ≥ its minimum ≥ lo
		}
		if s.Passes(e) == 0 {
			lo = math.Min(lo, s.midZ(e))
		}
	}
	return last, lastOK, c * lo, math.Max(0, c*s.zSpan-s.cfg.CollisionPenalty)
}

// Reward implements planners.Session (Eqs. 5–8; see Session).
func (s *Session) Reward(m planners.Move) float64 {
	t := s.rewardTerms(m)
	return t.collision + t.displacement + t.peak + t.climb + t.move
}

// RewardSplit implements planners.UndiscountedRewarder: Reward(m) and,
// with wireframe.peak_undiscounted, its peak-rise term (≤ 0), which
// telescopes to −w_p × the largest sag along a sequence only if no step of
// it is discounted, so look-ahead planners weight it 1 at every depth.
func (s *Session) RewardSplit(m planners.Move) (r, u float64) {
	t := s.rewardTerms(m)
	r = t.collision + t.displacement + t.peak + t.climb + t.move
	if s.cfg.PeakUndiscounted {
		u = t.peak
	}
	return r, u
}

// rewardTerms are the parts of a step reward (see Session).
type rewardTerms struct {
	collision    float64 // −rotation (rad) or −collision_penalty
	displacement float64 // −w·d_max (mm), Eq. 8
	peak         float64 // −w_p·max(0, d_max − D) (mm), fabcell extension
	climb        float64 // −c·Δz̄ (mm)
	move         float64 // travel/jump cost
}

func (t *rewardTerms) add(u rewardTerms) {
	t.collision += u.collision
	t.displacement += u.displacement
	t.peak += u.peak
	t.climb += u.climb
	t.move += u.move
}

// printSagMM returns d (mm), the d_max of the printed set plus the strut
// of print move m on the configured scope, when the reward's sag terms
// apply to m (a printable strut from a supported node whose structure the
// FEA finds stable); ok is false when m is charged the collision penalty
// alone. Reward and Apply (the running maximum D) both use it.
func (s *Session) printSagMM(m planners.Move) (d float64, ok bool) {
	e := m.Edge
	if e < 0 || e >= s.G.NumEdges() || s.Passes(e) > 0 || !s.supported(m.From) {
		return 0, false
	}
	d, err := s.candidateDispMM(e)
	return d, err == nil
}

// PeakDisplacementMM returns D, the running maximum (mm) of the sag term's
// d_max over the prints applied since Begin (0 before the first): the
// reference of the peak-rise reward term. It is tracked only while
// peak_displacement_weight_per_mm > 0 (0 otherwise).
func (s *Session) PeakDisplacementMM() float64 { return s.peakMM[len(s.peakMM)-1] }

func (s *Session) rewardTerms(m planners.Move) rewardTerms {
	switch m.Kind {
	case planners.Travel:
		return rewardTerms{move: -s.cfg.TravelWeightPerMM * s.dist(m.From, m.To)}
	case planners.Jump:
		return rewardTerms{move: -(s.cfg.JumpPenalty + s.cfg.TravelWeightPerMM*s.dist(m.From, m.To))}
	}
	pen := s.cfg.CollisionPenalty
	e := m.Edge
	d, ok := s.printSagMM(m)
	if !ok {
		return rewardTerms{collision: -pen}
	}
	var t rewardTerms
	if s.cfg.CollisionOn() || s.arm != nil {
		prev := s.curAxis()
		o := s.findOrient(e, m.From, prev)
		switch {
		case o.axis < 0:
			t.collision = -pen
		case s.cfg.CollisionOn():
			t.collision = -geom.AngleBetween(s.p.axes[prev], s.p.axes[o.axis])
		}
	}
	t.displacement = -s.cfg.DisplacementWeightPerMM * d
	if wp := s.cfg.PeakDisplacementWeightPerMM; wp > 0 {
		t.peak = -wp * math.Max(0, d-s.PeakDisplacementMM())
	}
	if c := s.cfg.ClimbWeightPerMM; c > 0 {
		if last := s.lastPrintEdge(); last >= 0 {
			t.climb = -c * (s.midZ(e) - s.midZ(last))
		}
	}
	return t
}

// returnTerms sums the undiscounted step rewards of the applied moves,
// each in its own context, by undoing them all and applying them again
// (the state is restored exactly; the memos make the replay cheap after
// planning).
func (s *Session) returnTerms() rewardTerms {
	ms := append([]planners.Move(nil), s.Moves()...)
	for range ms {
		s.Undo()
	}
	var sum rewardTerms
	for _, m := range ms {
		sum.add(s.rewardTerms(m))
		s.Apply(m)
	}
	return sum
}

func (s *Session) dist(a, b int) float64 { return s.G.Pos[a].Sub(s.G.Pos[b]).Norm() }

func (s *Session) midZ(e int) float64 {
	ed := s.G.Edges[e]
	return (s.G.Pos[ed.A].Z + s.G.Pos[ed.B].Z) / 2
}

func (s *Session) lastPrintEdge() int {
	ms := s.Moves()
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Kind == planners.Print {
			return ms[i].Edge
		}
	}
	return -1
}

// candidateDispMM returns d_max (mm) of the printed set plus strut e on
// the configured scope.
func (s *Session) candidateDispMM(e int) (float64, error) {
	if s.cfg.FEAScope == "lsg" {
		w, err := s.window()
		if err != nil {
			return 0, err
		}
		d, err := w.WithCandidate(e)
		return d * 1e3, err
	}
	key := [2]uint64{s.hash, uint64(e)}
	if d, ok := s.dispMemo[key]; ok {
		return d, nil
	}
	d, err := s.fs.WithCandidate(e)
	if err == nil {
		if len(s.dispMemo) >= maxOrientCache {
			clear(s.dispMemo)
		}
		s.dispMemo[key] = d * 1e3
	}
	return d * 1e3, err
}

// window returns the LSG-local FEA window around the current node: the
// nodes within s.rings graph rings, the printed struts among them, nodes
// with printed struts leading out fixed (spec §8.1). One window per state.
func (s *Session) window() (*fea.Session, error) {
	v := s.Current()
	if s.winOK && s.winHash == s.hash && s.winNode == v {
		return s.win, nil
	}
	s.markEp++
	if s.markEp == 0 {
		clear(s.mark)
		s.markEp = 1
	}
	nodes := append(s.ringBuf[:0], v)
	s.mark[v] = s.markEp
	for ring, lo := 0, 0; ring < s.rings; ring++ {
		hi := len(nodes)
		for _, u := range nodes[lo:hi] {
			for _, h := range s.G.Neighbors(u) {
				if w := int(h.To); s.mark[w] != s.markEp {
					s.mark[w] = s.markEp
					nodes = append(nodes, w)
				}
			}
		}
		lo = hi
	}
	s.ringBuf = nodes
	w, err := s.fs.Window(nodes, s.win)
	if err != nil {
		s.winOK = false
		return nil, err
	}
	s.win, s.winHash, s.winNode, s.winOK = w, s.hash, v, true
	return w, nil
}

// zobrist is the hash key of strut e (splitmix64).
func zobrist(e int) uint64 {
	z := uint64(e) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Apply implements planners.Session. A print move gets the head axis of
// Eq. 6 (Move.Axis is filled in when zero; a given axis from the candidate
// set is kept and verified) and its execution status is recorded.
func (s *Session) Apply(m planners.Move) {
	prev := s.curAxis()
	peak := s.PeakDisplacementMM()
	if m.Kind != planners.Print {
		s.ApplyBase(m)
		s.recs = append(s.recs, rec{axis: -1, after: int32(prev), yaw: 0})
		s.maxZ = append(s.maxZ, s.maxZ[len(s.maxZ)-1])
		s.peakMM = append(s.peakMM, peak)
		return
	}
	if s.cfg.PeakDisplacementWeightPerMM > 0 {
		// D follows exactly the d the reward's sag term charged (computed
		// in this state, before the strut is added; memoised)
		if d, ok := s.printSagMM(m); ok {
			peak = math.Max(peak, d)
		}
	}
	e := m.Edge
	r := rec{axis: int32(prev), status: StatusOK}
	switch {
	case !s.supported(m.From):
		r.status = StatusFloating
		if i := s.axisIndex(m.Axis); i >= 0 {
			r.axis = int32(i)
		}
	default:
		o := s.findOrient(e, m.From, prev)
		given := s.axisIndex(m.Axis)
		switch {
		case given >= 0 && int32(given) != o.axis:
			r.axis = int32(given)
			r.status, r.yaw, r.fail = s.verifyAxis(e, m.From, given)
		case o.axis >= 0:
			r.axis, r.yaw = o.axis, o.yaw
		default:
			r.status, r.fail = o.status, o.fail
		}
	}
	r.after = r.axis
	m.Axis = s.p.axes[r.axis]
	s.ApplyBase(m)
	ed := s.G.Edges[e]
	if err := s.world.Add(e, s.G.Pos[ed.A], s.G.Pos[ed.B], s.strutR); err != nil {
		panic(fmt.Sprintf("wireframe: collision world: %v", err)) // programmer error: edge applied twice
	}
	if err := s.fs.Add(e); err != nil {
		panic(fmt.Sprintf("wireframe: fea: %v", err))
	}
	s.onStruct[ed.A]++
	s.onStruct[ed.B]++
	s.hash ^= zobrist(e)
	if s.open != nil {
		s.open.Remove(e)
	}
	if s.skip[e] {
		s.nSkipPr++
	}
	top := math.Max(s.G.Pos[ed.A].Z, s.G.Pos[ed.B].Z) + s.strutR
	s.maxZ = append(s.maxZ, math.Max(s.maxZ[len(s.maxZ)-1], top))
	s.peakMM = append(s.peakMM, peak)
	s.recs = append(s.recs, r)
}

// verifyAxis checks a print of e from node from at the given axis index
// (a move whose axis was chosen elsewhere).
func (s *Session) verifyAxis(e, from, axis int) (Status, int16, armFail) {
	ed := s.G.Edges[e]
	pa, pb := s.G.Pos[from], s.G.Pos[ed.Other(from)]
	if s.cfg.CollisionOn() && !s.moveFree(s.moveKey(e, from), pa, pb, axis) {
		return StatusHeadCollision, 0, armUnknown
	}
	if s.arm == nil {
		return StatusOK, 0, armOK
	}
	best := armUnknown
	for y := range s.arm.nYaw {
		f := s.arm.checkStatic(e, axis, y)
		if f == armOK && !s.arm.linksClear(s.arm.key(e, axis, y), s.world, s.strutR, s.maxZ[len(s.maxZ)-1]) {
			f = armStrut
		}
		if f == armOK {
			return StatusOK, int16(y), armOK
		}
		best = max(best, f)
	}
	return StatusArm, 0, best
}

// Undo implements planners.Session.
func (s *Session) Undo() {
	m := s.UndoBase()
	s.recs = s.recs[:len(s.recs)-1]
	s.maxZ = s.maxZ[:len(s.maxZ)-1]
	s.peakMM = s.peakMM[:len(s.peakMM)-1]
	if m.Kind != planners.Print {
		return
	}
	e := m.Edge
	ed := s.G.Edges[e]
	s.world.Remove(e)
	if err := s.fs.Remove(e); err != nil {
		panic(fmt.Sprintf("wireframe: fea: %v", err))
	}
	s.onStruct[ed.A]--
	s.onStruct[ed.B]--
	s.hash ^= zobrist(e)
	if s.open != nil && !s.skip[e] {
		if err := s.open.Add(e, s.G.Pos[ed.A], s.G.Pos[ed.B], s.strutR); err != nil {
			panic(fmt.Sprintf("wireframe: %v", err))
		}
	}
	if s.skip[e] {
		s.nSkipPr--
	}
	d, _ := s.Tracker.Progress()
	for n := len(s.deadStk); n > 0 && int(s.deadStk[n-1].depth) > d; n-- {
		s.dead[s.deadStk[n-1].f] = false
		s.deadStk = s.deadStk[:n-1]
	}
}

// printableAt reports whether some unprinted strut can be printed from v
// now (head axis prev).
func (s *Session) printableAt(v, prev int) bool {
	s.scratch = s.candidatesAt(v, prev, s.scratch[:0])
	return len(s.scratch) > 0
}

// Jump implements planners.Session with the rule of §7.3: the nearest node
// (in hops over printed struts, at most travel_max_hops) that has a
// printable strut is reached by travel moves over printed struts;
// otherwise the tool lifts and jumps to the printable node (grounded or on
// the structure) nearest in space. nil when done or nothing is printable.
func (s *Session) Jump() []planners.Move {
	if s.Done() || s.Current() < 0 {
		return nil
	}
	prev := s.curAxis()
	want := func(v int) bool { return s.printableAt(v, prev) }
	if s.cfg.TravelMaxHops > 0 {
		if tr := s.TravelPathToNearest(want, s.cfg.TravelMaxHops); tr != nil {
			return tr
		}
	}
	cur := s.Current()
	type cand struct {
		v int
		d float64
	}
	var list []cand
	for v := range s.G.NumNodes() {
		if v == cur || !s.supported(v) {
			continue
		}
		open := false
		for _, h := range s.G.Neighbors(v) {
			if e := int(h.Edge); !s.skip[e] && s.Passes(e) == 0 {
				open = true
				break
			}
		}
		if open {
			list = append(list, cand{v, s.G.Pos[v].Sub(s.G.Pos[cur]).Norm2()})
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].d != list[j].d {
			return list[i].d < list[j].d
		}
		return list[i].v < list[j].v
	})
	for _, c := range list {
		if want(c.v) {
			return []planners.Move{{From: cur, To: c.v, Kind: planners.Jump, Edge: -1}}
		}
	}
	return nil
}

// findUnreachable marks the struts that can never be printed in this cell
// (structure-independent reasons: no head axis clears the bed and keep-out
// boxes, no arm solution, or no connection to a grounded node) and fails
// unless skip_unreachable is set.
func (s *Session) findUnreachable() error {
	g := s.G
	axes := s.p.axes
	for e, ed := range g.Edges {
		pa, pb := g.Pos[ed.A], g.Pos[ed.B]
		reason := ""
		headFree := false
		best := armUnknown
		found := false
		for i, ax := range axes {
			if s.cfg.CollisionOn() && !s.chk.MoveFree(pa, pb, ax) {
				continue
			}
			headFree = true
			if s.arm == nil {
				found = true
			}
			for y := 0; s.arm != nil && y < s.arm.nYaw; y++ {
				f := s.arm.checkStatic(e, i, y)
				if f == armOK {
					found = true
					break
				}
				best = max(best, f)
			}
			if found {
				s.hint[e] = int32(i)
				break
			}
		}
		switch {
		case found:
			continue
		case !headFree:
			reason = "the head hits the bed or a keep-out box at every sampled axis"
		default:
			reason = "arm: " + best.String()
		}
		s.static = append(s.static, Unreachable{Edge: e, A: ed.A, B: ed.B, Reason: reason})
		s.skip[e] = true
	}
	// struts that cannot connect to any grounded node through printable struts
	parent := make([]int, g.NumNodes())
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for e, ed := range g.Edges {
		if !s.skip[e] {
			parent[find(ed.A)] = find(ed.B)
		}
	}
	grounded := map[int]bool{}
	for v, gr := range g.Grounded {
		if gr {
			grounded[find(v)] = true
		}
	}
	for e, ed := range g.Edges {
		if !s.skip[e] && !grounded[find(ed.A)] {
			s.static = append(s.static, Unreachable{Edge: e, A: ed.A, B: ed.B, Reason: "not connected to any grounded node through printable struts"})
			s.skip[e] = true
		}
	}
	sort.Slice(s.static, func(i, j int) bool { return s.static[i].Edge < s.static[j].Edge })
	s.nSkip = len(s.static)
	if s.nSkip > 0 && !s.cfg.SkipUnreachable {
		var b strings.Builder
		for i, u := range s.static {
			if i == 3 {
				fmt.Fprintf(&b, "; …")
				break
			}
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "strut %d (%d–%d): %s", u.Edge, u.A, u.B, u.Reason)
		}
		return fmt.Errorf("%w: %d of %d struts of %s can never be printed in this cell (%s); move robot.bed_frame or set wireframe.skip_unreachable to plan the rest",
			ErrUnreachable, s.nSkip, g.NumEdges(), g.Name, b.String())
	}
	return nil
}

// ErrUnreachable is wrapped by Open when some struts can never be printed
// and wireframe.skip_unreachable is off.
var ErrUnreachable = errors.New("wireframe: unreachable struts")

// Unreachable returns the struts that can never be printed in this cell
// (found by Open) followed, when the coverage is not complete, by the
// unprinted struts that cannot be printed from the current structure, each
// with a reason.
func (s *Session) Unreachable() []Unreachable {
	out := append([]Unreachable(nil), s.static...)
	if d, t := s.Progress(); d == t || s.Current() < 0 {
		return out
	}
	prev := s.curAxis()
	for e, ed := range s.G.Edges {
		if s.skip[e] || s.Passes(e) > 0 {
			continue
		}
		reason := "neither end is grounded or on the printed structure"
		printable := false
		for _, v := range []int{ed.A, ed.B} {
			if !s.supported(v) {
				continue
			}
			o := s.findOrient(e, v, prev)
			if o.axis >= 0 {
				if k := s.kills(e); k >= 0 {
					reason = fmt.Sprintf("postponed: printing it would leave strut %d without a collision-free head axis", k)
					continue
				}
				printable = true
				break
			}
			if o.status == StatusArm {
				reason = "arm: " + o.fail.String()
			} else {
				reason = "the head collides with the printed structure at every sampled axis"
			}
		}
		if printable {
			continue
		}
		if reason != "" {
			out = append(out, Unreachable{Edge: e, A: ed.A, B: ed.B, Reason: reason})
		}
	}
	return out
}

// LastPrint returns the execution status of the last applied print move
// and, for a failed arm check, the reason; ok is false when no print was
// applied yet. A controller checks it before dispatching the print.
func (s *Session) LastPrint() (st Status, reason string, ok bool) {
	ms := s.Moves()
	for i := len(s.recs) - 1; i >= 0; i-- {
		if i < len(ms) && ms[i].Kind == planners.Print {
			r := s.recs[i]
			if r.status == StatusArm {
				reason = r.fail.String()
			}
			return r.status, reason, true
		}
	}
	return StatusOK, "", false
}

// DisplacementMM returns the gravity sag d_max (mm) of the printed
// structure as it stands, from the whole-frame FEA (independent of
// fea_scope), and the node where it occurs.
func (s *Session) DisplacementMM() (float64, int, error) {
	if s.fs.NumPrinted() == 0 {
		return 0, -1, nil
	}
	d, v, err := s.fs.MaxDisplacement()
	return d * 1e3, v, err
}
