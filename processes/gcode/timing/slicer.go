package timing

import (
	"strconv"
	"strings"

	"fabcell/processes/gcode/parse"
)

// CuraLegacyModel names the machine model of legacy Cura's fixed-constant
// TimeEstimateCalculator (SlicerLimits).
const CuraLegacyModel = "legacy Cura 13.x–15.x TimeEstimateCalculator"

// CuraLegacyLimits is the machine model CuraEngine's TimeEstimateCalculator
// (timeEstimate.cpp) used while its limits were compile-time constants
// (legacy Cura 13.x–15.x; Cura 2.x and later read them from the machine
// settings, CuraDefaultLimits): max feed {600, 600, 40, 25} mm/s, minimum feed
// 0.01 mm/s, one acceleration of 3000 mm/s² for every move, max
// acceleration {9000, 9000, 100, 10000} mm/s², XY-vector jerk 20 mm/s, Z
// jerk 0.4, E jerk 5, MINIMUM_PLANNER_SPEED 0.05 mm/s, Marlin 1.0 junctions
// (Marlin1Jerk). The look-ahead is the caller's (Cura plans a whole layer;
// 16 blocks and 1024 give the same totals within 0.01 % on the sample
// files).
//
// Source: the constants as recalled from CuraEngine's timeEstimate.cpp;
// the later fdmprinter.def.json defaults that replaced them
// (machine_max_acceleration_x/y/z/e 9000/9000/100/10000,
// machine_max_jerk_xy/z/e 20/0.4/5) agree where they overlap. The feeds
// and the 3000 mm/s² acceleration could not be checked against a source
// here.
func CuraLegacyLimits(lookahead int) Limits {
	return Limits{
		MaxFeedMMS:         [4]float64{600, 600, 40, 25},
		MaxAccelMMS2:       [4]float64{9000, 9000, 100, 10000},
		PrintAccel:         3000,
		RetractAccel:       3000,
		TravelAccel:        3000,
		Junction:           Marlin1Jerk,
		JunctionDevMM:      0.013,
		JerkMMS:            [4]float64{20, 20, 0.4, 5},
		MinFeedMMS:         0.01,
		MinTravelMMS:       0.01,
		MinPlannerSpeedMMS: 0.05,
		Lookahead:          lookahead,
	}
}

// CuraModel names the machine model of CuraEngine 2.x–5.x's
// TimeEstimateCalculator with the limits of fdmprinter.def.json (the
// printer settings every Cura printer profile starts from).
const CuraModel = "CuraEngine TimeEstimateCalculator, fdmprinter defaults"

// CuraUnlimitedFeedMMS is fdmprinter.def.json's default for
// machine_max_feedrate_x/y/z/e, 299 792 458 000 mm/s (the speed of
// light: "no limit").
const CuraUnlimitedFeedMMS = 299792458000

// CuraDefaultLimits is the machine model CuraEngine's
// TimeEstimateCalculator uses when the printer profile keeps
// fdmprinter.def.json's defaults (as the Creality Ender-3 profile does):
// machine_acceleration 4000 mm/s² for every move (acceleration_enabled
// false; when it is true the file carries M204 S per feature, which
// overrides it), machine_max_acceleration_x/y/z/e 9000/9000/100/10000
// mm/s², machine_max_feedrate_* unlimited, machine_max_jerk_xy/z/e
// 20/0.4/5 mm/s (M205 X/Y per feature when jerk_enabled),
// machine_minimum_feedrate 0, MINIMUM_PLANNER_SPEED 0.05 mm/s, Marlin 1.0
// junctions (Marlin1Jerk).
//
// Source: the defaults of fdmprinter.def.json in Debian's cura 4.13.0
// package. Checked against the CuraEngine 4.13.0 binary (Debian
// cura-engine 1:4.13.0-1+b1): on files it sliced, the estimate with this
// model is within 0.2–0.7 % of the engine's own total (TestCuraEngine413).
// Printer profiles that override the machine_max_* or
// machine_acceleration settings (about a quarter of Cura's printer
// definitions) are estimated with these defaults all the same: the file
// does not record the profile's values.
func CuraDefaultLimits(lookahead int) Limits {
	return Limits{
		MaxFeedMMS:         [4]float64{CuraUnlimitedFeedMMS, CuraUnlimitedFeedMMS, CuraUnlimitedFeedMMS, CuraUnlimitedFeedMMS},
		MaxAccelMMS2:       [4]float64{9000, 9000, 100, 10000},
		PrintAccel:         4000,
		RetractAccel:       4000,
		TravelAccel:        4000,
		Junction:           Marlin1Jerk,
		JunctionDevMM:      0.013,
		JerkMMS:            [4]float64{20, 20, 0.4, 5},
		MinPlannerSpeedMMS: 0.05,
		Lookahead:          lookahead,
	}
}

// SlicerLimits returns the machine model the slicer that wrote a file used
// for its embedded estimate, with its name, when the file itself does not
// say (no M201–M205 before the first move); ok is false for slicers whose
// model depends on a printer profile that the file does not name
// (PrusaSlicer writes its limits into the file). Known: Cura 2.0 and later
// (CuraDefaultLimits) and legacy Cura 13.x–15.x (CuraLegacyLimits).
func SlicerLimits(m *parse.Meta, lookahead int) (l Limits, name string, ok bool) {
	if m.Slicer != parse.SlicerCura {
		return Limits{}, "", false
	}
	major, _, ok := curaVersion(m.Generator)
	if !ok {
		return Limits{}, "", false
	}
	switch {
	case major >= 13 && major <= 15:
		return CuraLegacyLimits(lookahead), CuraLegacyModel, true
	case major >= 2 && major < 13:
		return CuraDefaultLimits(lookahead), CuraModel, true
	}
	return Limits{}, "", false
}

// curaVersion reads "major.minor" after "Cura_SteamEngine" (or "Cura") in
// a generator comment such as "Generated with Cura_SteamEngine 2.3.1".
func curaVersion(gen string) (major, minor int, ok bool) {
	var rest string
	if i := strings.Index(gen, "Cura_SteamEngine"); i >= 0 {
		rest = gen[i+len("Cura_SteamEngine"):]
	} else if i := strings.Index(gen, "Cura"); i >= 0 {
		rest = gen[i+len("Cura"):]
	} else {
		return 0, 0, false
	}
	rest = strings.TrimSpace(rest)
	f := strings.FieldsFunc(rest, func(r rune) bool { return r == '.' || r == ' ' || r == '-' || r == '_' })
	if len(f) < 2 {
		return 0, 0, false
	}
	a, err1 := strconv.Atoi(f[0])
	b, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || a < 0 || b < 0 {
		return 0, 0, false
	}
	return a, b, true
}
