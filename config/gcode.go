package config

// GCode configures the G-code re-compiler (processes/gcode) and its time
// model. Machine limits given in a file (M201/M203/M204/M205) override
// these defaults, which are Marlin 2.x's (spec robot-protocols.md §5).
type GCode struct {
	// Matching selects how odd vertices are paired with travel edges:
	// "greedy" (Li 2020) or "blossom"-quality "optimal" matching.
	Matching string `yaml:"matching"`
	// Defaults for the time model when the file gives no limits.
	MaxFeedMMS          Vec4    `yaml:"max_feed_mm_s"`   // X, Y, Z, E
	MaxAccelMMS2        Vec4    `yaml:"max_accel_mm_s2"` // X, Y, Z, E
	PrintAccelMMS2      float64 `yaml:"print_accel_mm_s2"`
	RetractAccelMMS2    float64 `yaml:"retract_accel_mm_s2"`
	TravelAccelMMS2     float64 `yaml:"travel_accel_mm_s2"`
	JunctionDeviationMM float64 `yaml:"junction_deviation_mm"`
	// ClassicJerk uses per-axis jerk (JerkMMS) instead of junction deviation.
	ClassicJerk bool `yaml:"classic_jerk"`
	JerkMMS     Vec4 `yaml:"jerk_mm_s"`
	// ZHopMM and RetractMM are inserted on travels that cross perimeters
	// when the original file did not retract there (0 = never insert).
	ZHopMM    float64 `yaml:"z_hop_mm"`
	RetractMM float64 `yaml:"retract_mm"`
}

// Vec4 is an X, Y, Z, E quadruple.
type Vec4 [4]float64

func (g *GCode) applyDefaults() {
	def(&g.Matching, "optimal")
	def(&g.MaxFeedMMS, Vec4{300, 300, 5, 25})
	def(&g.MaxAccelMMS2, Vec4{3000, 3000, 100, 10000})
	def(&g.PrintAccelMMS2, 3000)
	def(&g.RetractAccelMMS2, 3000)
	def(&g.TravelAccelMMS2, 3000)
	def(&g.JunctionDeviationMM, 0.013)
	def(&g.JerkMMS, Vec4{10, 10, 0.3, 5})
}

func (g GCode) validate(v *validator) {
	v.oneOf("gcode.matching", g.Matching, "greedy", "optimal")
	for i := 0; i < 4; i++ {
		v.positive("gcode.max_feed_mm_s", g.MaxFeedMMS[i])
		v.positive("gcode.max_accel_mm_s2", g.MaxAccelMMS2[i])
		v.within("gcode.jerk_mm_s", g.JerkMMS[i], 0, 1000)
	}
	v.positive("gcode.print_accel_mm_s2", g.PrintAccelMMS2)
	v.positive("gcode.retract_accel_mm_s2", g.RetractAccelMMS2)
	v.positive("gcode.travel_accel_mm_s2", g.TravelAccelMMS2)
	v.within("gcode.junction_deviation_mm", g.JunctionDeviationMM, 0, 10)
	v.within("gcode.z_hop_mm", g.ZHopMM, 0, 10)
	v.within("gcode.retract_mm", g.RetractMM, 0, 20)
}
