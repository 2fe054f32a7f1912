package wireframe

import (
	"errors"
	"hash/fnv"
	"math"

	"fabcell/planners"
	"fabcell/simulation/fea"
	"fabcell/simulation/geom"
)

// DisplacementSeries returns the global d_max (mm) of the printed
// structure after each applied print move, in plan order (spec §8.1: the
// sag of every partial structure), computed with a fresh whole-frame FEA
// session so it does not depend on fea_scope. A partial structure the FEA
// finds unstable (a floating strut of a replayed foreign order) gives NaN
// and is counted in unstable.
func (s *Session) DisplacementSeries() (dispMM []float64, unstable int, err error) {
	key := s.movesKey()
	if s.dispMM != nil && s.metricsKey == key {
		return s.dispMM, countNaN(s.dispMM), nil
	}
	fs, err := s.fs.Frame().NewSession(fea.SelfWeight(), fea.SessionOptions{Method: fea.Woodbury, States: 1})
	if err != nil {
		return nil, 0, err
	}
	var out []float64
	var h uint64
	for _, m := range s.Moves() {
		if m.Kind != planners.Print {
			continue
		}
		if err := fs.Add(m.Edge); err != nil {
			return nil, 0, err
		}
		key := [2]uint64{h, uint64(m.Edge)}
		h ^= zobrist(m.Edge)
		if d, ok := s.dispMemo[key]; ok {
			out = append(out, d)
			continue
		}
		d, _, err := fs.MaxDisplacement()
		switch {
		case errors.Is(err, fea.ErrUnstable):
			out = append(out, math.NaN())
			unstable++
		case err != nil:
			return nil, 0, err
		default:
			out = append(out, d*1e3)
		}
	}
	s.dispMM = out
	s.metricsKey = key
	s.metrics = nil
	return out, unstable, nil
}

func countNaN(x []float64) int {
	n := 0
	for _, v := range x {
		if math.IsNaN(v) {
			n++
		}
	}
	return n
}

// movesKey identifies the applied move sequence.
func (s *Session) movesKey() [2]uint64 {
	h := fnv.New64a()
	var b [12]byte
	for _, m := range s.Moves() {
		for i, x := range [3]int{m.From, m.To, int(m.Kind)} {
			b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(x), byte(x>>8), byte(x>>16), byte(x>>24)
		}
		h.Write(b[:])
	}
	return [2]uint64{h.Sum64(), uint64(len(s.Moves()))}
}

// Metrics implements planners.Session. Besides the tracker's base metrics
// (moves, prints, travels, jumps, print_mm, travel_mm, jump_mm, coverage)
// it reports, for the applied moves:
//
//	max_displacement_mm    max over partial structures of the global d_max
//	final_displacement_mm  d_max of the last partial structure
//	displacement_limit_mm  the nozzle limit (wireframe.max_displacement_mm)
//	over_limit_states      partial structures above the limit
//	unstable_states        partial structures the FEA found unstable
//	collisions             prints without a clear head axis or arm, or
//	                       printed from an unsupported node, plus robot
//	                       motions (transitions, lifts) the check could not
//	                       clear
//	head_collisions, arm_failures, floating_prints, motion_collisions
//	unreachable            struts that cannot be printed (see Unreachable)
//	print_time_s           estimated robot time of the program (trapezoidal
//	                       moves, dwell), absent if a motion has no IK
//	lifts                  lifts over the structure in the program
//	max_tilt_deg, mean_tilt_deg, rotation_deg_total (head axis changes
//	between consecutive prints), reorientations
//	arm_branch             0..7 (see Branch.Code), −1 with the arm check off
//	total_reward           Σ undiscounted step rewards (Eqs. 5–8 + travel),
//	                       and its parts reward_collision (rotation or
//	                       penalty), reward_displacement (Eq. 8),
//	                       reward_displacement_peak (peak-rise extension:
//	                       −w_p × the largest sag the reward charged),
//	                       reward_climb, reward_travel
func (s *Session) Metrics() map[string]float64 {
	key := s.movesKey()
	if s.metrics != nil && s.metricsKey == key {
		out := make(map[string]float64, len(s.metrics))
		for k, v := range s.metrics {
			out[k] = v
		}
		return out
	}
	m := s.BaseMetrics()
	d, t := s.Progress()
	m["covered"] = float64(d)
	m["coverage_total"] = float64(t)
	m["complete"] = b2f(d == t && s.nSkip == 0 && s.Current() >= 0)
	unr := s.Unreachable()
	m["unreachable"] = float64(len(unr))

	// the return first: with fea_scope global its FEA answers fill the memo
	// the displacement series reads
	rt := s.returnTerms()
	m["total_reward"] = round6(rt.collision + rt.displacement + rt.peak + rt.climb + rt.move)
	m["reward_collision"] = round6(rt.collision)
	m["reward_displacement"] = round6(rt.displacement)
	m["reward_displacement_peak"] = round6(rt.peak)
	m["reward_climb"] = round6(rt.climb)
	m["reward_travel"] = round6(rt.move)

	disp, unstable, err := s.DisplacementSeries()
	if err == nil {
		maxD, over := 0.0, 0
		lim := s.cfg.DisplacementLimitMM()
		for _, x := range disp {
			if math.IsNaN(x) {
				continue
			}
			maxD = math.Max(maxD, x)
			if x > lim {
				over++
			}
		}
		m["max_displacement_mm"] = round6(maxD)
		if n := len(disp); n > 0 && !math.IsNaN(disp[n-1]) {
			m["final_displacement_mm"] = round6(disp[n-1])
		} else {
			m["final_displacement_mm"] = 0
		}
		m["displacement_limit_mm"] = lim
		m["over_limit_states"] = float64(over)
		m["unstable_states"] = float64(unstable)
	}

	var head, armF, floating int
	tiltMax, tiltSum, rot := 0.0, 0.0, 0.0
	reorient, prints := 0, 0
	prevAxis := -1
	for i, mv := range s.Moves() {
		if mv.Kind != planners.Print {
			continue
		}
		r := s.recs[i]
		switch r.status {
		case StatusHeadCollision:
			head++
		case StatusArm:
			armF++
		case StatusFloating:
			floating++
		}
		ax := s.p.axes[r.axis]
		tilt := math.Acos(math.Max(-1, math.Min(1, ax.Z))) * 180 / math.Pi
		tiltMax = math.Max(tiltMax, tilt)
		tiltSum += tilt
		prints++
		if prevAxis >= 0 && prevAxis != int(r.axis) {
			reorient++
			rot += geom.AngleBetween(s.p.axes[prevAxis], ax) * 180 / math.Pi
		}
		prevAxis = int(r.axis)
	}
	m["head_collisions"] = float64(head)
	m["arm_failures"] = float64(armF)
	m["floating_prints"] = float64(floating)
	m["max_tilt_deg"] = round6(tiltMax)
	if prints > 0 {
		m["mean_tilt_deg"] = round6(tiltSum / float64(prints))
	}
	m["rotation_deg_total"] = round6(rot)
	m["reorientations"] = float64(reorient)
	if b, ok := s.ArmBranch(); ok {
		m["arm_branch"] = float64(b.Code())
	} else {
		m["arm_branch"] = -1
	}

	motionColl := 0
	if mo, err := s.replayMotions(); err == nil {
		m["print_time_s"] = round6(mo.DurationS())
		m["lifts"] = float64(mo.Lifts())
		// print moves with a bad status are already counted above
		motionColl = mo.Collisions() - head - armF - floating
		if motionColl < 0 {
			motionColl = 0
		}
	} else {
		m["motion_errors"] = 1
	}
	m["motion_collisions"] = float64(motionColl)
	m["collisions"] = float64(head + armF + floating + motionColl)

	s.metrics = m
	s.metricsKey = key
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

var _ planners.Objective = (*Session)(nil)

// ObjectiveCost implements planners.Objective with the metrics a
// wire-frame job is judged by, compared lexicographically:
//
//	[print collisions + unstable_states, unreachable, max_displacement_mm]
//
// print collisions are the prints Metrics counts as head_collisions,
// arm_failures and floating_prints; the other values are Metrics' own
// (max_displacement_mm rounded the same way; NaN if the FEA fails), so a
// plan with the lower cost reads lower in `fabcell bench`/`evaluate`.
// Printing fewer struts or colliding is worse than any sag. Robot motions
// between struts (motion_collisions) are not part of it: they need the
// whole program rebuilt on a fresh session (replayMotions), which costs
// more than the greedy completion a comparison needs.
func (s *Session) ObjectiveCost() []float64 {
	bad := 0
	for i, mv := range s.Moves() {
		if mv.Kind != planners.Print {
			continue
		}
		switch s.recs[i].status {
		case StatusHeadCollision, StatusArm, StatusFloating:
			bad++
		}
	}
	maxD := math.NaN() // the FEA failed: never better than a measured plan
	disp, unstable, err := s.DisplacementSeries()
	if err == nil {
		bad += unstable
		maxD = 0
		for _, x := range disp {
			if !math.IsNaN(x) {
				maxD = math.Max(maxD, x)
			}
		}
		maxD = round6(maxD)
	}
	return []float64{float64(bad), float64(len(s.Unreachable())), maxD}
}

var _ planners.ObjectiveBounder = (*Session)(nil)

// ObjectiveBound implements planners.ObjectiveBounder: [0, the struts
// unreachable in any order, the running maximum sag D rounded like
// max_displacement_mm]. D bounds the final max_displacement_mm from below
// when it is the same quantity: with fea_scope global and the peak term on
// (D is then tracked from the same memoised FEA answers the metric reads);
// otherwise the sag component is 0.
func (s *Session) ObjectiveBound() []float64 {
	d := 0.0
	if s.cfg.FEAScope != "lsg" && s.cfg.PeakDisplacementWeightPerMM > 0 {
		d = round6(s.PeakDisplacementMM())
	}
	return []float64{0, float64(len(s.static)), d}
}

// replayMotions builds the robot steps of the applied moves on a fresh
// session.
func (s *Session) replayMotions() (*Motions, error) {
	fresh, err := s.p.Open(s.G)
	if err != nil {
		return nil, err
	}
	mo, err := fresh.newMotions()
	if err != nil {
		return nil, err
	}
	mo.Start()
	for _, m := range s.Moves() {
		if _, err := mo.Next(m); err != nil {
			return nil, err
		}
	}
	if _, err := mo.Finish(); err != nil {
		return nil, err
	}
	return mo, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }
