package timing

import (
	"strconv"
	"strings"

	"fabcell/processes/gcode/parse"
)

// CuraLegacyModel names the machine model of CuraEngine's fixed-constant
// TimeEstimateCalculator (SlicerLimits).
const CuraLegacyModel = "CuraEngine ≤ 2.4 TimeEstimateCalculator"

// CuraLegacyLimits is the machine model CuraEngine's TimeEstimateCalculator
// (timeEstimate.cpp) used while its limits were compile-time constants
// (legacy Cura 13.x–15.x and Cura 2.0–2.4; later versions read them from
// the machine settings): max feed {600, 600, 40, 25} mm/s, minimum feed
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

// SlicerLimits returns the machine model the slicer that wrote a file used
// for its embedded estimate, when that model is fixed in the slicer (does
// not depend on a printer profile the file does not record), with its
// name; ok is false for every other file. Known: CuraEngine before
// settings-driven limits ("Cura_SteamEngine 2.0–2.4", legacy 13.x–15.x).
func SlicerLimits(m *parse.Meta, lookahead int) (l Limits, name string, ok bool) {
	if m.Slicer != parse.SlicerCura {
		return Limits{}, "", false
	}
	major, minor, ok := curaVersion(m.Generator)
	if !ok {
		return Limits{}, "", false
	}
	if major == 2 && minor <= 4 || major >= 13 && major <= 15 {
		return CuraLegacyLimits(lookahead), CuraLegacyModel, true
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
