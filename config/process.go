package config

import (
	"fmt"
	"strconv"
	"strings"
)

// WireframeProcess configures robotic wire-frame printing (paper §4.1.1,
// §4.2.1; spec lsg-dqn.md §8.1).
type WireframeProcess struct {
	// NozzleDiameterMM is the extrusion nozzle (hardware: 1.0 mm).
	NozzleDiameterMM float64 `yaml:"nozzle_diameter_mm"`
	// StrutDiameterMM is the printed strut diameter used for FEA sections
	// and collision capsules (RL3DP release: r = 1 mm → 2 mm).
	StrutDiameterMM float64 `yaml:"strut_diameter_mm"`
	// Material names a preset in Materials (pla, abs, pla-rl3dp).
	Material string `yaml:"material"`
	// UseModelMaterial takes the material/section a model file declares
	// (assembly_instances, conmech) instead of Material/StrutDiameterMM.
	UseModelMaterial bool `yaml:"use_model_material"`
	// GroundZMM: nodes below this height are grounded (RL3DP rule: 1 mm).
	GroundZMM float64 `yaml:"ground_z_mm"`
	// MaxDisplacementMM bounds the gravity sag of every partial structure;
	// 0 = half the nozzle diameter (paper §4.2.1).
	MaxDisplacementMM float64 `yaml:"max_displacement_mm"`

	// Print head geometry along the tool axis, from the nozzle tip up
	// (RL3DP release: cone h 41 / r 32 on a cylinder h 150 / r 32).
	ConeHeightMM     float64 `yaml:"cone_height_mm"`
	ConeRadiusMM     float64 `yaml:"cone_radius_mm"`
	CylinderHeightMM float64 `yaml:"cylinder_height_mm"`
	CylinderRadiusMM float64 `yaml:"cylinder_radius_mm"`
	// NozzleLengthMM is the length of the nozzle below the cone, measured
	// from the tip along the tool axis. The collision model (package
	// simulation/collision) cuts the head there: printed struts may touch
	// the nozzle within this length of the tip (they necessarily touch the
	// node being printed), anything reaching the head above it collides.
	// Must exceed strut_diameter_mm/2 + collision_clearance_mm.
	NozzleLengthMM float64 `yaml:"nozzle_length_mm"`
	// OrientationSamples is the number of candidate tool axes sampled on the
	// Gauss sphere (Eq. 6); MaxTiltDeg limits them to a cone around vertical.
	OrientationSamples int     `yaml:"orientation_samples"`
	MaxTiltDeg         float64 `yaml:"max_tilt_deg"`
	// CollisionClearanceMM is the extra gap required between head and struts.
	CollisionClearanceMM float64 `yaml:"collision_clearance_mm"`
	// Collision turns collision checking on (default true; the authors'
	// release ships it off, fabcell does not). Set "collision: false" only
	// for experiments.
	Collision *bool `yaml:"collision"`

	// Reward constants (Eqs. 5–8). DisplacementWeightPerMM multiplies
	// d_max in mm (release: −10·d[cm] = −1·d[mm]). CollisionPenalty is the
	// reward for "no collision-free orientation". ClimbWeightPerMM is the
	// release's "don't climb" term −c·(z̄(e_k) − z̄(e_k−1)) (not in the
	// paper; 0 disables). fabcell defaults it to 1 (release 0.1): with the
	// collision check on, a bottom-up order keeps struts reachable for the
	// head (Femur, greedy: 741 of 772 struts printable vs 701 at 0.1).
	DisplacementWeightPerMM float64 `yaml:"displacement_weight_per_mm"`
	CollisionPenalty        float64 `yaml:"collision_penalty"`
	ClimbWeightPerMM        float64 `yaml:"climb_weight_per_mm"`
	// PeakDisplacementWeightPerMM weighs the sag term's fabcell extension
	// (not in the paper): the rise of the running maximum,
	// −w_peak·max(0, d_max(P ∪ e_k) − D_{k−1}) [mm], with D_{k−1} the
	// largest d_max of the partial structures printed so far in the job.
	// Over a whole sequence these terms sum to −w_peak × the maximum sag
	// of the sequence — the metric max_displacement_mm — whereas Eq. 8's
	// per-step term (DisplacementWeightPerMM) sums d_max over the steps.
	// Both terms apply (set either weight to 0 to use the other alone).
	// Rises are micrometres, so useful weights are 10³–10⁴ per mm.
	PeakDisplacementWeightPerMM float64 `yaml:"peak_displacement_weight_per_mm"`
	// PeakUndiscounted makes look-ahead planners weight the peak-rise
	// term 1 at every step of an episode instead of the discount D(k)
	// (planners.UndiscountedRewarder): only then do the terms of an
	// episode sum to −w_peak × the largest sag it reaches, so the n-step
	// search minimises the maximum sag within its horizon; discounted, a
	// rise k steps ahead looks D(k) times as cheap and is deferred
	// rather than avoided.
	PeakUndiscounted bool `yaml:"peak_undiscounted"`

	// Extrusion control for generated URScript: tool digital output that
	// switches the extruder, standard analog output for the feed rate
	// (fraction 0..1), and the cooling dwell after each strut.
	ExtrudeToolOutput int     `yaml:"extrude_tool_output"`
	FeedAnalogOutput  int     `yaml:"feed_analog_output"`
	FeedFraction      float64 `yaml:"feed_fraction"`
	CoolingDwellS     float64 `yaml:"cooling_dwell_s"`

	// FEAScope selects the structure the reward's d_max term (Eq. 8) is
	// computed on: "global" (the whole printed set, exact) or "lsg" (the
	// paper's LSG-local analysis: printed struts within FEAWindowRings
	// rings of the tool, window boundary fixed; faster, approximate).
	// Metrics and the nozzle limit always use the global analysis.
	FEAScope string `yaml:"fea_scope"`
	// FEAWindowRings is the window radius of fea_scope "lsg" in graph
	// rings around the tool node; 0 = planner.ring.
	FEAWindowRings int `yaml:"fea_window_rings"`
	// TravelWeightPerMM is the reward per mm of a travel move over printed
	// struts (negated); JumpPenalty is charged per lift/jump on top of
	// its distance (the planner sees these at dead ends, §7.3).
	TravelWeightPerMM float64 `yaml:"travel_weight_per_mm"`
	JumpPenalty       float64 `yaml:"jump_penalty"`
	// TravelMaxHops bounds the travel chain over printed struts that the
	// jump rule (§7.3) prefers to a lift; farther targets are jumped to.
	TravelMaxHops int `yaml:"travel_max_hops"`
	// ArmCheck turns on the arm-level check (paper §7.5 limitation): IK
	// along every strut on one arm configuration branch, joint limits,
	// singularity margins, joint speed, and the arm links clear of the
	// printed structure, the bed and safety.keep_out (default true).
	ArmCheck bool `yaml:"arm_check"`
	// ArmSampleMM is the spacing of the IK/link samples along a strut.
	ArmSampleMM float64 `yaml:"arm_sample_mm"`
	// YawSamples is the number of tool rotations about the head axis tried
	// per axis (the head is axisymmetric; the yaw only moves the wrist).
	YawSamples int `yaml:"yaw_samples"`
	// ArmClearanceMM is the gap required between the arm link capsules and
	// struts, bed and keep-out boxes (the capsules are estimates).
	ArmClearanceMM float64 `yaml:"arm_clearance_mm"`
	// LiftClearanceMM is the height of a lift (jump) above the printed
	// structure, counted from the lowest point of the head.
	LiftClearanceMM float64 `yaml:"lift_clearance_mm"`
	// SkipUnreachable plans what can be printed when some struts cannot:
	// struts no head axis/arm pose reaches in this cell are skipped, and
	// planning ends when no remaining strut can be printed (the printed
	// structure blocks it); both are reported in the metric unreachable
	// with reasons. False makes the former an error naming the struts and
	// the latter a planner failure (default true).
	SkipUnreachable bool `yaml:"skip_unreachable"`
	// LookaheadMM is the forward check of the collision rule: a strut is
	// postponed while printing it would leave an unprinted strut within
	// this distance (mm, capsule to capsule) without any collision-free
	// head axis — such a strut could never be printed afterwards, since
	// free axes only shrink as the structure grows. 0 disables the check.
	LookaheadMM float64 `yaml:"lookahead_mm"`
	// LayerBandMM keeps printing near the bottom of what is left: a strut
	// is a candidate only while its lowest point is at most this far (mm)
	// above the lowest point of the lowest unprinted strut that still has
	// a collision-free head axis. A strut printed above unprinted ones
	// blocks their head (it reaches 190 mm up the tool axis), so a
	// bottom-up front keeps them printable. Lifted when no strut inside
	// the band can be printed. 0 disables.
	LayerBandMM float64 `yaml:"layer_band_mm"`
}

// CollisionOn reports whether collision checking is enabled.
func (w WireframeProcess) CollisionOn() bool { return w.Collision == nil || *w.Collision }

// DisplacementLimitMM returns MaxDisplacementMM or, when unset, half the
// nozzle diameter.
func (w WireframeProcess) DisplacementLimitMM() float64 {
	if w.MaxDisplacementMM > 0 {
		return w.MaxDisplacementMM
	}
	return w.NozzleDiameterMM / 2
}

// defaultPeakDisplacementWeightPerMM is the default of
// wireframe.peak_displacement_weight_per_mm: 10³ per mm (measured: with it
// look-ahead planners beat greedy's maximum sag on the Femur, Bunny and
// Duck, where Eq. 8 alone, 0, left the Bunny 1.13× above greedy).
const defaultPeakDisplacementWeightPerMM = 1000

func (w *WireframeProcess) applyDefaults() {
	def(&w.NozzleDiameterMM, 1.0)
	def(&w.StrutDiameterMM, 2.0)
	def(&w.Material, "abs")
	def(&w.GroundZMM, 1.0)
	def(&w.ConeHeightMM, 41)
	def(&w.ConeRadiusMM, 32)
	def(&w.CylinderHeightMM, 150)
	def(&w.CylinderRadiusMM, 32)
	def(&w.NozzleLengthMM, 3)
	def(&w.OrientationSamples, 64)
	def(&w.MaxTiltDeg, 60)
	def(&w.CollisionClearanceMM, 0.5)
	def(&w.DisplacementWeightPerMM, 1.0)
	def(&w.CollisionPenalty, 1000)
	def(&w.ClimbWeightPerMM, 1)
	def(&w.PeakDisplacementWeightPerMM, defaultPeakDisplacementWeightPerMM)
	def(&w.PeakUndiscounted, true)
	def(&w.FeedFraction, 0.5)
	def(&w.CoolingDwellS, 0.5)
	def(&w.ArmCheck, true)
	def(&w.SkipUnreachable, true)
	def(&w.FEAScope, "global")
	def(&w.TravelWeightPerMM, 0.01)
	def(&w.JumpPenalty, 1)
	def(&w.TravelMaxHops, 4)
	def(&w.ArmSampleMM, 5)
	def(&w.YawSamples, 4)
	def(&w.ArmClearanceMM, 5)
	def(&w.LiftClearanceMM, 10)
	def(&w.LookaheadMM, 0)
	def(&w.LayerBandMM, 5)
}

func (w WireframeProcess) validate(v *validator) {
	v.within("wireframe.nozzle_diameter_mm", w.NozzleDiameterMM, 0.1, 5)
	v.within("wireframe.strut_diameter_mm", w.StrutDiameterMM, 0.1, 20)
	if _, err := LookupMaterial(w.Material); err != nil {
		v.add("wireframe.material", "%v", err)
	}
	v.within("wireframe.ground_z_mm", w.GroundZMM, 1e-6, 100)
	v.within("wireframe.max_displacement_mm", w.MaxDisplacementMM, 0, 100)
	v.positive("wireframe.cone_height_mm", w.ConeHeightMM)
	v.positive("wireframe.cone_radius_mm", w.ConeRadiusMM)
	v.within("wireframe.cylinder_height_mm", w.CylinderHeightMM, 0, 2000)
	v.within("wireframe.cylinder_radius_mm", w.CylinderRadiusMM, 0, 500)
	if !(w.NozzleLengthMM > 0 && w.NozzleLengthMM < w.ConeHeightMM) {
		v.add("wireframe.nozzle_length_mm", "must be in (0, cone_height_mm %v), got %v", w.ConeHeightMM, w.NozzleLengthMM)
	} else if touch := w.StrutDiameterMM/2 + w.CollisionClearanceMM; !(w.NozzleLengthMM > touch) {
		v.add("wireframe.nozzle_length_mm", "%v must exceed strut_diameter_mm/2 + collision_clearance_mm = %v, else every strut meeting the node being printed collides with the head", w.NozzleLengthMM, touch)
	}
	if w.OrientationSamples < 1 || w.OrientationSamples > 100000 {
		v.add("wireframe.orientation_samples", "must be in [1, 100000], got %d", w.OrientationSamples)
	}
	v.within("wireframe.max_tilt_deg", w.MaxTiltDeg, 0, 90)
	v.within("wireframe.collision_clearance_mm", w.CollisionClearanceMM, 0, 50)
	v.within("wireframe.displacement_weight_per_mm", w.DisplacementWeightPerMM, 0, 1e6)
	v.within("wireframe.peak_displacement_weight_per_mm", w.PeakDisplacementWeightPerMM, 0, 1e7)
	v.within("wireframe.collision_penalty", w.CollisionPenalty, 0, 1e9)
	v.within("wireframe.climb_weight_per_mm", w.ClimbWeightPerMM, 0, 1e6)
	v.within("wireframe.extrude_tool_output", float64(w.ExtrudeToolOutput), 0, 1)
	v.within("wireframe.feed_analog_output", float64(w.FeedAnalogOutput), 0, 1)
	v.within("wireframe.feed_fraction", w.FeedFraction, 0, 1)
	v.within("wireframe.cooling_dwell_s", w.CoolingDwellS, 0, 600)
	v.oneOf("wireframe.fea_scope", w.FEAScope, "global", "lsg")
	v.within("wireframe.fea_window_rings", float64(w.FEAWindowRings), 0, 16)
	v.within("wireframe.travel_weight_per_mm", w.TravelWeightPerMM, 0, 1e6)
	v.within("wireframe.jump_penalty", w.JumpPenalty, 0, 1e9)
	v.within("wireframe.travel_max_hops", float64(w.TravelMaxHops), 0, 1000)
	v.within("wireframe.arm_sample_mm", w.ArmSampleMM, 0.1, 1000)
	v.within("wireframe.yaw_samples", float64(w.YawSamples), 1, 360)
	v.within("wireframe.arm_clearance_mm", w.ArmClearanceMM, 0, 500)
	v.within("wireframe.lift_clearance_mm", w.LiftClearanceMM, 0, 1000)
	v.within("wireframe.lookahead_mm", w.LookaheadMM, 0, 1000)
	v.within("wireframe.layer_band_mm", w.LayerBandMM, 0, 10000)
}

// CCFProcess configures continuous-carbon-fibre layers and the dual-nozzle
// head (paper §4.1.2, §4.2.2; spec lsg-dqn.md §8.2), the CCF baselines
// (euler, dfs) and the layer program (processes/ccf).
type CCFProcess struct {
	// Turning-angle reward thresholds (Eq. 9): below Theta1Deg is free,
	// between Theta1Deg and Theta2Deg is tolerated, above is penalised.
	// Kappa is the sigmoid sharpness; ThetaScaleDeg the angle unit of the
	// sigmoid arguments x = (θ − θ_i)/scale (release: 30°).
	Theta1Deg     float64 `yaml:"theta1_deg"`
	Theta2Deg     float64 `yaml:"theta2_deg"`
	Kappa         float64 `yaml:"kappa"`
	ThetaScaleDeg float64 `yaml:"theta_scale_deg"`
	// SharpTurnDeg: a turn above this counts as sharp in metrics.
	SharpTurnDeg float64 `yaml:"sharp_turn_deg"`
	// RetraversalPenalty selects Eq. 10's form: "length" (−l/l_max, paper)
	// or "unit" (−1, release default). Default "unit": with "length" a
	// straight second pass earns r_θ − l/l_max > 0, so every planner that
	// maximises the step reward prints most edges twice (measured in
	// processes/ccf/README.md).
	RetraversalPenalty string `yaml:"retraversal_penalty"`
	// UTurnPenalty and UTurnBoundaryPenalty are the release's U-turn terms
	// (interior / boundary node).
	UTurnPenalty         float64 `yaml:"u_turn_penalty"`
	UTurnBoundaryPenalty float64 `yaml:"u_turn_boundary_penalty"`
	// DefaultPasses is the pass limit of every edge of a model whose format
	// carries no multiplicity (the RL3DP CCF files list each edge twice,
	// which means 2). 1..255.
	DefaultPasses int `yaml:"default_passes"`
	// HoleAreaFactor: a bounded face of the planar graph whose area is at
	// least this multiple of the median face area is a hole (a bore of the
	// part) rather than a lattice cell; its rim counts as boundary.
	HoleAreaFactor float64 `yaml:"hole_area_factor"`

	// Baselines. EulerTrail: "open" (two odd nodes stay trail ends — least
	// added length) or "closed" (every degree made even: Euler circuit).
	// EulerTurns: "straightest" (Hierholzer taking the straightest
	// continuation) or "matched" (least-penalty transitions at every node,
	// trails joined by cheapest re-pairing). DFSTimeLimitS bounds the dfs
	// baseline's search; DFSBacktrackBudget bounds the moves undone while
	// trying to avoid one sharp turn.
	EulerTrail         string  `yaml:"euler_trail"`
	EulerTurns         string  `yaml:"euler_turns"`
	DFSTimeLimitS      float64 `yaml:"dfs_time_limit_s"`
	DFSBacktrackBudget int     `yaml:"dfs_backtrack_budget"`

	// Layer program.
	Layers             int     `yaml:"layers"`                // matrix layers
	FiberEvery         int     `yaml:"fiber_every"`           // fibre layer after every k-th matrix layer (0 = one, after the last)
	LayerHeightMM      float64 `yaml:"layer_height_mm"`       // matrix layer height
	FiberLayerHeightMM float64 `yaml:"fiber_layer_height_mm"` // CCF layer height
	MatrixLineWidthMM  float64 `yaml:"matrix_line_width_mm"`
	InfillSpacingMM    float64 `yaml:"infill_spacing_mm"`
	Perimeters         int     `yaml:"perimeters"`
	InfillAngleDeg     float64 `yaml:"infill_angle_deg"` // odd layers use +90°
	FilamentDiameterMM float64 `yaml:"filament_diameter_mm"`
	FiberWidthMM       float64 `yaml:"fiber_width_mm"`
	// FiberFeedRatio is the T1 feed per mm of fibre path (pre-impregnated
	// fibre filament is laid 1:1).
	FiberFeedRatio float64 `yaml:"fiber_feed_ratio"`
	// MatrixRetractMM is retracted on matrix travels of at least
	// RetractMinTravelMM; TravelLiftMM lifts the nozzle for every travel.
	MatrixRetractMM    float64 `yaml:"matrix_retract_mm"`
	RetractMinTravelMM float64 `yaml:"retract_min_travel_mm"`
	TravelLiftMM       float64 `yaml:"travel_lift_mm"`

	// Nozzles and speeds.
	MatrixNozzleMM  float64 `yaml:"matrix_nozzle_mm"`
	MatrixTempC     float64 `yaml:"matrix_temp_degC"`
	FiberTempC      float64 `yaml:"fiber_temp_degC"`
	BedTempC        float64 `yaml:"bed_temp_degC"`
	MatrixFeedMMS   float64 `yaml:"matrix_feed_mm_s"`
	FiberFeedMMS    float64 `yaml:"fiber_feed_mm_s"`
	TravelFeedMMS   float64 `yaml:"travel_feed_mm_s"`
	FiberCutGcode   string  `yaml:"fiber_cut_gcode"` // one or more lines (newline-separated)
	FiberOffsetXYMM Vec3    `yaml:"fiber_offset_mm"` // T1 nozzle offset from T0
	// URScript: tool digital outputs that switch the matrix (T0) and fibre
	// (T1) extruders on the UR5e-carried head.
	MatrixToolOutput int `yaml:"matrix_tool_output"`
	FiberToolOutput  int `yaml:"fiber_tool_output"`
	// FiberCutOutput says what cuts the fibre at the end of a stroke in
	// the URScript artifact: "board" (default) — the head board
	// (fiber_cut_gcode, sent by fabcell run or by the G-code program on the
	// board) while the arm waits — or "standard:N" (N 0..7), a controller
	// standard digital output wired to the cutter, which the program
	// pulses for FiberCutPulseS.
	FiberCutOutput string  `yaml:"fiber_cut_output"`
	FiberCutPulseS float64 `yaml:"fiber_cut_pulse_s"`
}

// FiberCutStandardOutput returns the standard digital output that cuts
// the fibre, or −1 when the head board cuts (FiberCutOutput "board"); ok
// is false for a malformed value.
func (c CCFProcess) FiberCutStandardOutput() (n int, ok bool) {
	if c.FiberCutOutput == "" || c.FiberCutOutput == "board" {
		return -1, true
	}
	rest, found := strings.CutPrefix(c.FiberCutOutput, "standard:")
	if !found {
		return -1, false
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 0 || n > 7 {
		return -1, false
	}
	return n, true
}

func (c *CCFProcess) applyDefaults() {
	def(&c.Theta1Deg, 60)
	def(&c.Theta2Deg, 120)
	def(&c.Kappa, 10)
	def(&c.ThetaScaleDeg, 30)
	def(&c.SharpTurnDeg, 120)
	def(&c.RetraversalPenalty, "unit")
	def(&c.UTurnPenalty, 1)
	def(&c.UTurnBoundaryPenalty, 0.5)
	def(&c.DefaultPasses, 2)
	def(&c.HoleAreaFactor, 10)
	def(&c.EulerTrail, "open")
	def(&c.EulerTurns, "straightest")
	def(&c.DFSTimeLimitS, 30)
	def(&c.DFSBacktrackBudget, 20000)
	def(&c.Layers, 2)
	def(&c.LayerHeightMM, 0.3)
	def(&c.FiberLayerHeightMM, 0.4)
	def(&c.MatrixLineWidthMM, 0.45)
	def(&c.InfillSpacingMM, 0.45)
	def(&c.Perimeters, 2)
	def(&c.InfillAngleDeg, 45)
	def(&c.FilamentDiameterMM, 1.75)
	def(&c.FiberWidthMM, 1.0)
	def(&c.FiberFeedRatio, 1.0)
	def(&c.MatrixRetractMM, 0.8)
	def(&c.RetractMinTravelMM, 2)
	def(&c.TravelLiftMM, 1)
	def(&c.MatrixNozzleMM, 0.4)
	def(&c.MatrixTempC, 260)
	def(&c.FiberTempC, 240)
	def(&c.BedTempC, 80)
	def(&c.MatrixFeedMMS, 30)
	def(&c.FiberFeedMMS, 5)
	def(&c.TravelFeedMMS, 120)
	def(&c.FiberCutGcode, "M280 P0 S90")
	def(&c.FiberToolOutput, 1)
	def(&c.FiberCutOutput, "board")
	def(&c.FiberCutPulseS, 0.3)
}

// FiberCutLines returns the non-empty lines of FiberCutGcode.
func (c CCFProcess) FiberCutLines() []string {
	var out []string
	for _, l := range strings.Split(c.FiberCutGcode, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (c CCFProcess) validate(v *validator) {
	v.within("ccf.theta1_deg", c.Theta1Deg, 0, 180)
	v.within("ccf.theta2_deg", c.Theta2Deg, 0, 180)
	if c.Theta1Deg >= c.Theta2Deg {
		v.add("ccf.theta1_deg", "must be < theta2_deg (%v), got %v", c.Theta2Deg, c.Theta1Deg)
	}
	v.positive("ccf.kappa", c.Kappa)
	v.within("ccf.theta_scale_deg", c.ThetaScaleDeg, 0.1, 180)
	v.within("ccf.sharp_turn_deg", c.SharpTurnDeg, 0, 180)
	v.oneOf("ccf.retraversal_penalty", c.RetraversalPenalty, "length", "unit")
	v.within("ccf.u_turn_penalty", c.UTurnPenalty, 0, 1e6)
	v.within("ccf.u_turn_boundary_penalty", c.UTurnBoundaryPenalty, 0, 1e6)
	v.within("ccf.default_passes", float64(c.DefaultPasses), 1, 255)
	v.within("ccf.hole_area_factor", c.HoleAreaFactor, 1, 1e9)
	v.oneOf("ccf.euler_trail", c.EulerTrail, "open", "closed")
	v.oneOf("ccf.euler_turns", c.EulerTurns, "straightest", "matched")
	v.within("ccf.dfs_time_limit_s", c.DFSTimeLimitS, 0.001, 86400)
	v.within("ccf.dfs_backtrack_budget", float64(c.DFSBacktrackBudget), 1, 1e9)
	v.within("ccf.layers", float64(c.Layers), 0, 10000)
	v.within("ccf.fiber_every", float64(c.FiberEvery), 0, 10000)
	v.within("ccf.layer_height_mm", c.LayerHeightMM, 0.01, 5)
	v.within("ccf.fiber_layer_height_mm", c.FiberLayerHeightMM, 0.01, 5)
	v.within("ccf.matrix_line_width_mm", c.MatrixLineWidthMM, 0.05, 10)
	v.within("ccf.infill_spacing_mm", c.InfillSpacingMM, 0.05, 100)
	v.within("ccf.perimeters", float64(c.Perimeters), 0, 100)
	v.within("ccf.infill_angle_deg", c.InfillAngleDeg, -180, 180)
	v.within("ccf.filament_diameter_mm", c.FilamentDiameterMM, 0.5, 5)
	v.within("ccf.fiber_width_mm", c.FiberWidthMM, 0.05, 10)
	v.within("ccf.fiber_feed_ratio", c.FiberFeedRatio, 0.01, 100)
	v.within("ccf.matrix_retract_mm", c.MatrixRetractMM, 0, 20)
	v.within("ccf.retract_min_travel_mm", c.RetractMinTravelMM, 0, 1000)
	v.within("ccf.travel_lift_mm", c.TravelLiftMM, 0, 50)
	v.within("ccf.matrix_nozzle_mm", c.MatrixNozzleMM, 0.05, 5)
	v.within("ccf.matrix_temp_degC", c.MatrixTempC, 0, 500)
	v.within("ccf.fiber_temp_degC", c.FiberTempC, 0, 500)
	v.within("ccf.bed_temp_degC", c.BedTempC, 0, 200)
	v.positive("ccf.matrix_feed_mm_s", c.MatrixFeedMMS)
	v.positive("ccf.fiber_feed_mm_s", c.FiberFeedMMS)
	v.positive("ccf.travel_feed_mm_s", c.TravelFeedMMS)
	lines := c.FiberCutLines()
	if len(lines) == 0 {
		v.add("ccf.fiber_cut_gcode", "must hold at least one G-code line")
	}
	for _, l := range lines {
		if msg := gcodeLineProblem(l); msg != "" {
			v.add("ccf.fiber_cut_gcode", "%q: %s", l, msg)
		}
	}
	for _, x := range c.FiberOffsetXYMM {
		v.within("ccf.fiber_offset_mm", x, -200, 200)
	}
	if _, ok := c.FiberCutStandardOutput(); !ok {
		v.add("ccf.fiber_cut_output", "%q: want board or standard:N with N 0..7", c.FiberCutOutput)
	}
	v.within("ccf.fiber_cut_pulse_s", c.FiberCutPulseS, 0.01, 10)
	v.within("ccf.matrix_tool_output", float64(c.MatrixToolOutput), 0, 1)
	v.within("ccf.fiber_tool_output", float64(c.FiberToolOutput), 0, 1)
	if c.MatrixToolOutput == c.FiberToolOutput {
		v.add("ccf.fiber_tool_output", "must differ from matrix_tool_output (%d)", c.MatrixToolOutput)
	}
}

// gcodeLineProblem checks one machine command line the way a Marlin host
// sends it: a G, M or T word first, printable ASCII, no '*' (checksum
// separator) or ';' (comment), at most 80 bytes. It returns "" when fine.
func gcodeLineProblem(l string) string {
	if len(l) > 80 {
		return "longer than 80 bytes"
	}
	switch l[0] {
	case 'G', 'M', 'T', 'g', 'm', 't':
	default:
		return "must start with a G, M or T word"
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; c < 0x20 || c > 0x7e || c == '*' || c == ';' {
			return fmt.Sprintf("byte %d (%q) is not allowed (printable ASCII without '*' or ';')", i, c)
		}
	}
	return ""
}

// LPBFProcess configures laser powder bed fusion scan planning and the
// thermal model (paper §4.1.3, §4.2.3; spec lsg-dqn.md §8.3).
type LPBFProcess struct {
	// SpacingMM is the raster pitch = laser spot (paper: 50 µm).
	SpacingMM float64 `yaml:"spacing_mm"`
	// PowerW and ScanSpeedMMS are written per scan vector; JumpSpeedMMS is
	// the galvo's non-marking speed; JumpDelayS and MarkDelayS are the
	// per-vector settle delays used by the timing estimate.
	PowerW       float64 `yaml:"power_w"`
	ScanSpeedMMS float64 `yaml:"scan_speed_mm_s"`
	JumpSpeedMMS float64 `yaml:"jump_speed_mm_s"`
	JumpDelayS   float64 `yaml:"jump_delay_s"`
	MarkDelayS   float64 `yaml:"mark_delay_s"`
	// LayerThicknessMM is the powder layer thickness (CLI z step).
	LayerThicknessMM float64 `yaml:"layer_thickness_mm"`

	// Thermal model (package simulation/thermal; Eq. 12): kernel radius =
	// HeatRadiusFactor × mean edge length (the pixel pitch), peak and cap
	// HMax (temperatures are in units of HMax). Model "diffusion": per
	// laser step n sub-steps T ← T − rate·L·T of the graph Laplacian L
	// (heat spreads n rings per step; rate ≤ 1/max degree), then × decay,
	// then the kernel added with the cap. Model "decay" (release): the
	// field rebuilt from the last DecayWindow laser nodes, × Decay per
	// step, no diffusion.
	//
	// ThermalCalibration "physical" (default) derives n, rate and decay of
	// the diffusion model from the material and the scan: one laser step
	// lasts Δt = SpacingMM/ScanSpeedMMS, its Fourier number is
	// Fo = ThermalDiffusivityMM2S·Δt/SpacingMM², n = ⌈Fo·(4 +
	// SubstrateConductance)⌉ sub-steps of rate Fo/n, decay (1 −
	// SubstrateConductance·Fo/n)^n (loss to the material under the layer;
	// see simulation/thermal). "manual" uses DiffusionRings,
	// DiffusionRate and Decay as given.
	HeatRadiusFactor       float64 `yaml:"heat_radius_factor"`
	HMax                   float64 `yaml:"h_max"`
	Model                  string  `yaml:"thermal_model"`
	ThermalCalibration     string  `yaml:"thermal_calibration"`
	ThermalDiffusivityMM2S float64 `yaml:"thermal_diffusivity_mm2_s"`
	SubstrateConductance   float64 `yaml:"substrate_conductance"`
	DiffusionRings         int     `yaml:"diffusion_rings"`
	DiffusionRate          float64 `yaml:"diffusion_rate"`
	Decay                  float64 `yaml:"decay"`
	DecayWindow            int     `yaml:"decay_window"`
	// ThermalTolerance bounds the error of the diffusion model's sparse
	// truncation, in units of HMax: values below
	// ThermalTolerance·HMax·(1 − Decay) are dropped after each step, which
	// keeps every temperature within ThermalTolerance·HMax of the
	// untruncated model (package simulation/thermal).
	ThermalTolerance float64 `yaml:"thermal_tolerance"`
	// HotThreshold is the temperature (fraction of HMax) above which a
	// scanned pixel counts as hot in hot_area_mm2 / hot_area_fraction.
	HotThreshold float64 `yaml:"hot_threshold"`

	// Planner-session rules of the LPBF session (fabcell extensions of
	// Eq. 13 and the §11 jump rule, spec lsg-dqn.md §8.3, §11; package
	// processes/lpbf, "Session rules"). They shape the moves the session
	// offers and the reward it returns, so every planner that drives the
	// session (lsg-dqn, greedy, bfs, random) follows them; the zigzag and
	// chessboard baselines replay fixed orders and are not affected, and
	// the shared evaluator is the same for all.
	//
	// MaxResidualHeat is the hot-spot rule, in units of HMax: a scan step
	// onto a pixel whose residual heat (the uncapped field the evaluator
	// reports as peak_temperature) exceeds it is not offered while a
	// cooler neighbour is; when every unvisited neighbour is that hot the
	// laser jumps (§11) — unless no unvisited pixel of the layer is cooler
	// (then the coolest is taken). 0 = off; default 1.8 (chosen from the
	// README comparison: below the lowest zig-zag/chessboard peak there,
	// 1.84; lower values strand hot pixels at the end of a layer).
	MaxResidualHeat float64 `yaml:"max_residual_heat"`
	// Stranding is the Warnsdorff-like rule against pockets: a scan step
	// that leaves an unvisited pixel with no unvisited neighbour (it can
	// only be reached by a jump, or entered as a dead end) is "off" (Eq. 13
	// alone), "mask" (not offered while a step stranding fewer pixels is)
	// or "penalty" (StrandingPenalty·HMax subtracted from its reward per
	// stranded pixel). Default "mask", penalty 1.
	Stranding        string  `yaml:"stranding"`
	StrandingPenalty float64 `yaml:"stranding_penalty"`
	// Warnsdorff is the fewest-neighbours rule: "mask" offers only the
	// scan steps onto the unvisited neighbours that have the fewest
	// unvisited neighbours themselves (Warnsdorff's rule; pixels that
	// would otherwise be left behind beside the track are taken first, so
	// a thin wall is scanned across, while its pixels are still hot, not
	// along and back), applied before the hot-spot rule — when the
	// preferred pixel is too hot the laser jumps rather than scanning on
	// along the track. "off" = no preference. Default "mask".
	Warnsdorff string `yaml:"warnsdorff"`
	// RewardHeat is the temperature Eq. 13 reads: "capped" (the planner's
	// field, capped at HMax as in the release) or "residual" (the
	// uncapped residual heat, so the reward still tells moves apart above
	// the cap; the reward of a scan step is then ≤ HMax but unbounded
	// below). Default "capped".
	RewardHeat string `yaml:"reward_heat"`
	// HotAreaWeight adds the hot-area metric to Eq. 13: every move loses
	// HotAreaWeight·HMax per scanned pixel that is hotter than
	// HotThreshold·HMax after it (the moved-to pixel included), so the
	// planner's return is the hot_area_mm2 integral the evaluator reports
	// — Eq. 13 then sees the step's heat on its neighbourhood, not only on
	// the target pixel. 0 = off; default 0.3 (README "LPBF": greedy gave
	// the same orders at 0.3 and 1 on the table and held-out layers; at
	// 0.1 and below the 4–6 px walls were not helped).
	HotAreaWeight float64 `yaml:"hot_area_weight"`
	// ReheatJump is the reheat rule: when every scan step the session
	// would offer heats at least ReheatJump scanned pixels from at or
	// below HotThreshold·HMax back above it (pixels that had cooled and
	// would count in hot_area_mm2 again), and the §11 jump target reheats
	// at least ReheatJump fewer, no step is offered and the laser jumps.
	// 0 = off; default 1.
	ReheatJump int `yaml:"reheat_jump"`
	// JumpTarget breaks ties between equally cool jump targets (§11):
	// "farthest" (the release: the farthest from the laser) or "nearest"
	// (the nearest, which shortens the laser-off travel; with the reheat
	// rule a target with no scanned pixel in its kernel disc still comes
	// first). Default "nearest" (README "LPBF": with the reheat rule's
	// jumps, "farthest" gave the bracket 14.6 s of scan time).
	JumpTarget string `yaml:"jump_target"`
	// JumpMinRadii: with JumpTarget "nearest", targets closer to the laser
	// than JumpMinRadii kernel radii (heat_radius_factor × spacing_mm each)
	// rank after all farther ones, so a jump does not land in material the
	// track is about to heat. 0..1000; default 2 (README "LPBF": without
	// it lanze#70's peak rose above the baselines').
	JumpMinRadii float64 `yaml:"jump_min_radii"`
	// ThinWidthPX is the thin tie-break: on pixels of local width ≤
	// ThinWidthPX (in no (ThinWidthPX+1)² square of layer pixels), ties of
	// the fewest-neighbours rule go to the neighbours with the fewest
	// unvisited pixels among their eight neighbours, so a thin feature is
	// scanned across (serpentine), leaving nothing beside the track.
	// 0 = off, 0..2; default 2 (README "LPBF": the 2-px walls).
	ThinWidthPX int `yaml:"thin_width_px"`
	// LineRunPX is the line rule: on 1-px lines (pixels in no 2 × 2
	// square) the laser scans runs of at most LineRunPX pixels, then jumps
	// (§11) to the coolest unvisited pixel — pixels with no scanned pixel
	// in their kernel disc first, at least LineJumpRadii kernel radii away
	// — and may split a line there, so a 1-px loop is scanned in short
	// runs spread over it (no heat stacking at its corners). 0 = off,
	// 0..1000; default 2 (README "LPBF": the 1-px loops box#300/#600/#1000).
	LineRunPX int `yaml:"line_run_px"`
	// LineJumpRadii replaces JumpMinRadii for the line rule's jumps: with
	// JumpTarget "nearest" their targets closer than LineJumpRadii kernel
	// radii rank after all farther ones. 0..1000; default 4.
	LineJumpRadii float64 `yaml:"line_jump_radii"`

	// ChessboardIslandMM is the island size of the chessboard baseline.
	// ChessboardOrder is the island order: "checkerboard" (all islands of
	// one colour in raster order, then the other colour) or "raster" (row
	// by row). Islands alternate their scan orientation (x / y) by colour.
	ChessboardIslandMM float64 `yaml:"chessboard_island_mm"`
	ChessboardOrder    string  `yaml:"chessboard_order"`

	// Machine limits used by the simulated LPBF machine and safety.
	FieldSizeMM float64 `yaml:"field_size_mm"`
	// FieldOrigin places layers in the scan field on the machine link:
	// "model" sends model coordinates as they are (the field centre is the
	// model's origin, as in the CLI artifacts, so every layer of a part
	// stacks), "layer" centres each layer on its own bounding box (parts
	// whose layers differ in extent then do not stack). Default "model".
	FieldOrigin string  `yaml:"field_origin"`
	MaxPowerW   float64 `yaml:"max_power_w"`
	// ChunkVectors is how many scan vectors go in one acknowledged MQTT chunk.
	ChunkVectors int `yaml:"chunk_vectors"`
}

// MaxDiffusionSubsteps bounds the Laplacian sub-steps per laser step of the
// physically calibrated diffusion model (its cost grows with them).
const MaxDiffusionSubsteps = 64

func (l *LPBFProcess) applyDefaults() {
	def(&l.SpacingMM, 0.05)
	def(&l.PowerW, 200)
	def(&l.ScanSpeedMMS, 800)
	def(&l.JumpSpeedMMS, 5000)
	def(&l.JumpDelayS, 0.0005)
	def(&l.MarkDelayS, 0.0001)
	def(&l.LayerThicknessMM, 0.03)
	def(&l.HeatRadiusFactor, 3)
	def(&l.HMax, 1)
	def(&l.Model, "diffusion")
	def(&l.ThermalCalibration, "physical")
	def(&l.ThermalDiffusivityMM2S, 4.05)
	def(&l.SubstrateConductance, 1)
	def(&l.DiffusionRings, 2)
	def(&l.DiffusionRate, 0.1)
	def(&l.Decay, 0.52)
	def(&l.DecayWindow, 8)
	def(&l.ThermalTolerance, 1e-4)
	def(&l.HotThreshold, 0.5)
	def(&l.MaxResidualHeat, 1.8)
	def(&l.Stranding, "mask")
	def(&l.StrandingPenalty, 1)
	def(&l.RewardHeat, "capped")
	def(&l.HotAreaWeight, 0.3)
	def(&l.Warnsdorff, "mask")
	def(&l.ReheatJump, 1)
	def(&l.JumpTarget, "nearest")
	def(&l.JumpMinRadii, 2)
	def(&l.ThinWidthPX, 2)
	def(&l.LineRunPX, 2)
	def(&l.LineJumpRadii, 4)
	def(&l.ChessboardIslandMM, 5)
	def(&l.ChessboardOrder, "checkerboard")
	def(&l.FieldSizeMM, 250)
	def(&l.FieldOrigin, "model")
	def(&l.MaxPowerW, 400)
	def(&l.ChunkVectors, 500)
}

func (l LPBFProcess) validate(v *validator) {
	v.within("lpbf.spacing_mm", l.SpacingMM, 0.001, 10)
	v.positive("lpbf.power_w", l.PowerW)
	v.positive("lpbf.scan_speed_mm_s", l.ScanSpeedMMS)
	v.positive("lpbf.jump_speed_mm_s", l.JumpSpeedMMS)
	v.within("lpbf.jump_delay_s", l.JumpDelayS, 0, 1)
	v.within("lpbf.mark_delay_s", l.MarkDelayS, 0, 1)
	v.within("lpbf.layer_thickness_mm", l.LayerThicknessMM, 0.001, 1)
	v.within("lpbf.heat_radius_factor", l.HeatRadiusFactor, 0.5, 20)
	v.positive("lpbf.h_max", l.HMax)
	v.oneOf("lpbf.thermal_model", l.Model, "diffusion", "decay")
	v.oneOf("lpbf.thermal_calibration", l.ThermalCalibration, "physical", "manual")
	v.within("lpbf.thermal_diffusivity_mm2_s", l.ThermalDiffusivityMM2S, 1e-3, 1e3)
	v.within("lpbf.substrate_conductance", l.SubstrateConductance, 0, 10)
	v.within("lpbf.diffusion_rings", float64(l.DiffusionRings), 1, 10)
	v.within("lpbf.diffusion_rate", l.DiffusionRate, 0, 0.25)
	v.within("lpbf.decay", l.Decay, 0, 1)
	if l.Model == "diffusion" && l.ThermalCalibration == "manual" && l.Decay >= 1 {
		v.add("lpbf.decay", "must be < 1 with thermal_model diffusion (the field would never cool), got %v", l.Decay)
	}
	if l.Model == "diffusion" && l.ThermalCalibration == "physical" {
		if !(l.SubstrateConductance > 0) {
			v.add("lpbf.substrate_conductance", "must be > 0 with the physical calibration of thermal_model diffusion (without a loss the field never cools), got %v", l.SubstrateConductance)
		}
		// sub-steps per laser step: ⌈Fo·(4 + G)⌉ (simulation/thermal.Physical)
		// (only for a valid spacing and speed: each names its own error, a
		// zero would only add an infinite step count)
		if n := l.ThermalDiffusivityMM2S / l.ScanSpeedMMS / l.SpacingMM * (4 + l.SubstrateConductance); l.SpacingMM > 0 && l.ScanSpeedMMS > 0 && n > MaxDiffusionSubsteps {
			v.add("lpbf.scan_speed_mm_s", "%v mm/s is too slow for the physical thermal calibration: a laser step of %.3g ms needs %.4g diffusion sub-steps (> %d); scan faster or use thermal_calibration manual",
				l.ScanSpeedMMS, 1e3*l.SpacingMM/l.ScanSpeedMMS, n, MaxDiffusionSubsteps)
		}
	}
	v.within("lpbf.decay_window", float64(l.DecayWindow), 1, 1000)
	v.within("lpbf.thermal_tolerance", l.ThermalTolerance, 1e-12, 0.1)
	v.within("lpbf.hot_threshold", l.HotThreshold, 0, 1)
	v.within("lpbf.max_residual_heat", l.MaxResidualHeat, 0, 1000)
	v.oneOf("lpbf.stranding", l.Stranding, "off", "mask", "penalty")
	v.oneOf("lpbf.warnsdorff", l.Warnsdorff, "off", "mask")
	v.oneOf("lpbf.jump_target", l.JumpTarget, "farthest", "nearest")
	v.within("lpbf.jump_min_radii", l.JumpMinRadii, 0, 1000)
	v.within("lpbf.thin_width_px", float64(l.ThinWidthPX), 0, 2)
	v.within("lpbf.line_run_px", float64(l.LineRunPX), 0, 1000)
	v.within("lpbf.line_jump_radii", l.LineJumpRadii, 0, 1000)
	v.within("lpbf.stranding_penalty", l.StrandingPenalty, 0, 1000)
	v.oneOf("lpbf.reward_heat", l.RewardHeat, "capped", "residual")
	v.within("lpbf.hot_area_weight", l.HotAreaWeight, 0, 1000)
	v.within("lpbf.reheat_jump", float64(l.ReheatJump), 0, 1000)
	v.within("lpbf.chessboard_island_mm", l.ChessboardIslandMM, 0.1, 1000)
	v.oneOf("lpbf.chessboard_order", l.ChessboardOrder, "checkerboard", "raster")
	v.positive("lpbf.field_size_mm", l.FieldSizeMM)
	v.oneOf("lpbf.field_origin", l.FieldOrigin, "model", "layer")
	v.positive("lpbf.max_power_w", l.MaxPowerW)
	if l.PowerW > l.MaxPowerW {
		v.add("lpbf.power_w", "%v W exceeds lpbf.max_power_w %v W", l.PowerW, l.MaxPowerW)
	}
	v.within("lpbf.chunk_vectors", float64(l.ChunkVectors), 1, 1e6)
}
