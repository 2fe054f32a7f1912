package config

// GCode configures the G-code re-compiler (processes/gcode) and its time
// model. Machine limits given in a file (M201/M203/M204/M205) override
// these defaults, which are Marlin 2.x's (spec robot-protocols.md §5).
type GCode struct {
	// Matching selects how odd vertices are paired with travel edges:
	// "greedy" (Li 2020's closest-pair-first) or "improved" (greedy then
	// 2-opt pair exchanges; never longer than greedy).
	Matching string `yaml:"matching"`
	// ReorderRuns ("on"/"off") runs the 2-opt / Or-opt pass over the runs
	// of the Euler tour.
	ReorderRuns string `yaml:"reorder_runs"`
	// Seams: "keep" prints closed perimeter loops from their original seam
	// as units; "free" lets the tour enter them anywhere.
	Seams string `yaml:"seams"`
	// WallOrder: "keep" prints the perimeter loops of each island or hole
	// in the input's order (the outer wall of an overhang leans on the
	// inner ones); "free" lets run reordering choose. Needs seams: keep.
	WallOrder string `yaml:"wall_order"`
	// Scope: "layer" reorders within a layer (between pinned commands);
	// "feature" only within runs of one ";TYPE:" feature.
	Scope string `yaml:"scope"`
	// RetractWhen: "crossing" retracts on travels that cross a perimeter;
	// "travel" on every travel longer than the file's threshold.
	RetractWhen string `yaml:"retract_when"`
	// RetractMinTravelMM is the shortest travel that may retract when the
	// file gives no evidence of its own threshold.
	RetractMinTravelMM float64 `yaml:"retract_min_travel_mm"`
	// Comb ("on"/"off", or "true"/"false"): a travel crossing a perimeter is routed around the
	// perimeters (inside the same region, within the layer's printed area)
	// without retraction when that is faster than retracting. Default
	// "off" (opt-in: it costs throughput for little time on most files).
	Comb string `yaml:"comb"`
	// CombMaxDetour bounds a combed path's length relative to the straight
	// travel (1..100).
	CombMaxDetour float64 `yaml:"comb_max_detour"`
	// CombClearanceMM is the clearance of combed paths from perimeters,
	// about half the line width (mm, 0.01..5).
	CombClearanceMM float64 `yaml:"comb_clearance_mm"`

	// Defaults for the time model when the file gives no limits.
	MaxFeedMMS          Vec4    `yaml:"max_feed_mm_s"`   // X, Y, Z, E
	MaxAccelMMS2        Vec4    `yaml:"max_accel_mm_s2"` // X, Y, Z, E
	PrintAccelMMS2      float64 `yaml:"print_accel_mm_s2"`
	RetractAccelMMS2    float64 `yaml:"retract_accel_mm_s2"`
	TravelAccelMMS2     float64 `yaml:"travel_accel_mm_s2"`
	JunctionDeviationMM float64 `yaml:"junction_deviation_mm"`
	// Junction: "auto" (classic jerk when the file sets M205 X/Y without
	// M205 J, else junction deviation), "deviation" or "jerk".
	Junction string `yaml:"junction"`
	JerkMMS  Vec4   `yaml:"jerk_mm_s"`
	// LookaheadBlocks is the planner buffer (Marlin BLOCK_BUFFER_SIZE).
	LookaheadBlocks int `yaml:"lookahead_blocks"`
	// ArcSegmentMM is the chord length G2/G3 are split into for timing
	// (Marlin MM_PER_ARC_SEGMENT).
	ArcSegmentMM float64 `yaml:"arc_segment_mm"`
	// G90ResetsE: G90 also switches E to absolute (Marlin 2 behaviour).
	G90ResetsE bool `yaml:"g90_resets_e"`
	// UltiGCodeFilamentMM is the filament diameter (mm) that turns the
	// volumetric E (mm³) of Cura's UltiGCode flavour into length for the
	// time model (the file does not record it; Ultimaker 2 printers use
	// 2.85 mm). M200 D sets it for other files.
	UltiGCodeFilamentMM float64 `yaml:"ultigcode_filament_diameter_mm"`

	// ZHopMM and RetractMM are inserted on travels that cross perimeters
	// when the original file never retracts (0 = never insert).
	ZHopMM    float64 `yaml:"z_hop_mm"`
	RetractMM float64 `yaml:"retract_mm"`
}

// Vec4 is an X, Y, Z, E quadruple.
type Vec4 [4]float64

func (g *GCode) applyDefaults() {
	def(&g.Matching, "improved")
	def(&g.ReorderRuns, "on")
	def(&g.Seams, "keep")
	def(&g.WallOrder, "keep")
	def(&g.Scope, "layer")
	def(&g.RetractWhen, "crossing")
	def(&g.RetractMinTravelMM, 1.5)
	def(&g.Comb, "off")
	def(&g.CombMaxDetour, 3)
	def(&g.CombClearanceMM, 0.2)
	def(&g.MaxFeedMMS, Vec4{300, 300, 5, 25})
	def(&g.MaxAccelMMS2, Vec4{3000, 3000, 100, 10000})
	def(&g.PrintAccelMMS2, 3000)
	def(&g.RetractAccelMMS2, 3000)
	def(&g.TravelAccelMMS2, 3000)
	def(&g.JunctionDeviationMM, 0.013)
	def(&g.Junction, "auto")
	def(&g.JerkMMS, Vec4{10, 10, 0.3, 5})
	def(&g.LookaheadBlocks, 16)
	def(&g.ArcSegmentMM, 1)
	def(&g.UltiGCodeFilamentMM, 2.85)
}

func (g GCode) validate(v *validator) {
	v.oneOf("gcode.matching", g.Matching, "greedy", "improved")
	v.oneOf("gcode.reorder_runs", g.ReorderRuns, "on", "off")
	v.oneOf("gcode.seams", g.Seams, "keep", "free")
	v.oneOf("gcode.wall_order", g.WallOrder, "keep", "free")
	v.oneOf("gcode.scope", g.Scope, "layer", "feature")
	v.oneOf("gcode.retract_when", g.RetractWhen, "crossing", "travel")
	v.oneOf("gcode.junction", g.Junction, "auto", "deviation", "jerk")
	v.within("gcode.retract_min_travel_mm", g.RetractMinTravelMM, 0, 1000)
	v.oneOf("gcode.comb", g.Comb, "on", "off", "true", "false")
	v.within("gcode.comb_max_detour", g.CombMaxDetour, 1, 100)
	v.within("gcode.comb_clearance_mm", g.CombClearanceMM, 0.01, 5)
	for i := 0; i < 4; i++ {
		v.positive("gcode.max_feed_mm_s", g.MaxFeedMMS[i])
		v.positive("gcode.max_accel_mm_s2", g.MaxAccelMMS2[i])
		v.within("gcode.jerk_mm_s", g.JerkMMS[i], 0, 1000)
	}
	v.positive("gcode.print_accel_mm_s2", g.PrintAccelMMS2)
	v.positive("gcode.retract_accel_mm_s2", g.RetractAccelMMS2)
	v.positive("gcode.travel_accel_mm_s2", g.TravelAccelMMS2)
	v.within("gcode.junction_deviation_mm", g.JunctionDeviationMM, 0, 10)
	if g.LookaheadBlocks < 2 || g.LookaheadBlocks > 4096 {
		v.add("gcode.lookahead_blocks", "must be in [2, 4096], got %d", g.LookaheadBlocks)
	}
	v.within("gcode.arc_segment_mm", g.ArcSegmentMM, 0.01, 100)
	v.within("gcode.z_hop_mm", g.ZHopMM, 0, 10)
	v.within("gcode.retract_mm", g.RetractMM, 0, 20)
	v.within("gcode.ultigcode_filament_diameter_mm", g.UltiGCodeFilamentMM, 0.5, 10)
}
