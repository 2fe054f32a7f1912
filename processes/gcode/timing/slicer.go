package timing

import (
	"math"
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

// CuraUltimaker2Model names CuraDefaultLimits with the Ultimaker 2
// profile's overrides (CuraUltimaker2Limits).
const CuraUltimaker2Model = CuraModel + ", Ultimaker 2 profile"

// CuraUltimaker2Limits is CuraDefaultLimits with the overrides of Cura's
// ultimaker2.def.json (and ultimaker.def.json, which it inherits):
// machine_acceleration 3000 mm/s², machine_max_feedrate_x/y/z/e
// 300/300/40/45 mm/s. Cura writes the UltiGCode flavour only for this
// printer family (ultimaker2.def.json sets it; the Ultimaker 2 variants,
// Mark2 and DXU inherit it), so a ";FLAVOR:UltiGCode" file names its
// profile.
func CuraUltimaker2Limits(lookahead int) Limits {
	l := CuraDefaultLimits(lookahead)
	l.PrintAccel, l.RetractAccel, l.TravelAccel = 3000, 3000, 3000
	l.MaxFeedMMS = [4]float64{300, 300, 40, 45}
	return l
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
	case major >= 2 && major < 13 && m.Flavor == "UltiGCode":
		return CuraUltimaker2Limits(lookahead), CuraUltimaker2Model, true
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

// PrusaModel names PrusaSlicer's time estimator (GCodeProcessor) with the
// machine limits of the file's settings footer (PrusaLimits).
const PrusaModel = "PrusaSlicer GCodeProcessor, machine limits from the file's settings, firmware retraction untimed"

// prusaEnvelope is PrusaSlicer's MachineEnvelopeConfig: setting key, and
// its default in normal mode (PrintConfig.cpp, 2.4–2.7).
var prusaEnvelope = []struct {
	key string
	def float64
}{
	{"machine_max_feedrate_x", 500}, {"machine_max_feedrate_y", 500}, {"machine_max_feedrate_z", 12}, {"machine_max_feedrate_e", 120},
	{"machine_max_acceleration_x", 9000}, {"machine_max_acceleration_y", 9000}, {"machine_max_acceleration_z", 500}, {"machine_max_acceleration_e", 10000},
	{"machine_max_acceleration_extruding", 1500}, {"machine_max_acceleration_retracting", 1500}, {"machine_max_acceleration_travel", 1500},
	{"machine_max_jerk_x", 10}, {"machine_max_jerk_y", 10}, {"machine_max_jerk_z", 0.2}, {"machine_max_jerk_e", 2.5},
	{"machine_min_extruding_rate", 0}, {"machine_min_travel_rate", 0},
}

// PrusaLimits is the machine model PrusaSlicer (and its forks that write
// the same settings footer) assumed for a file's "estimated printing time
// (normal mode)", read from the settings footer (parse.ReadFooter): the
// machine_max_* envelope in normal mode (the first of the two
// comma-separated values) when the flavour is Marlin, Marlin 2 or
// RepRapFirmware and machine_limits_usage is not "ignore" — PrusaSlicer
// applies the envelope only then, otherwise its defaults — with per-axis
// classic jerk junctions (its estimator follows Marlin 1's jerk planner)
// and M204 T travel acceleration for Marlin 2 / RepRapFirmware (the
// extruding acceleration otherwise). The file's own M201–M205 override it
// as they come. ok is false without a settings footer.
//
// Checked against PrusaSlicer 2.5.0 (Debian bookworm) on files it sliced
// with default and changed envelopes, Marlin, Marlin 2, RepRap and
// RepRapFirmware flavours: within 0.1–2 % of its estimate (see
// processes/gcode/README.md).
func PrusaLimits(settings map[string]string, lookahead int) (Limits, bool) {
	if len(settings) == 0 || settings["gcode_flavor"] == "" {
		return Limits{}, false
	}
	fl := settings["gcode_flavor"]
	envelope := (fl == "marlin" || fl == "marlin2" || fl == "reprapfirmware") && settings["machine_limits_usage"] != "ignore"
	v := make([]float64, len(prusaEnvelope))
	for i, k := range prusaEnvelope {
		v[i] = k.def
		if !envelope {
			continue
		}
		if x, ok := firstNumber(settings[k.key]); ok && x >= 0 && !math.IsInf(x, 0) {
			v[i] = x
		}
	}
	l := Limits{
		MaxFeedMMS:         [4]float64{v[0], v[1], v[2], v[3]},
		MaxAccelMMS2:       [4]float64{v[4], v[5], v[6], v[7]},
		PrintAccel:         v[8],
		RetractAccel:       v[9],
		TravelAccel:        v[10],
		Junction:           ClassicJerk,
		JunctionDevMM:      0.013,
		JerkMMS:            [4]float64{v[11], v[12], v[13], v[14]},
		MinFeedMMS:         v[15],
		MinTravelMMS:       v[16],
		MinPlannerSpeedMMS: 0.05,
		Lookahead:          lookahead,
		// GCodeProcessor only records G10/G11 as retract/unretract
		// vertices; they add no time to its estimate.
		FirmwareRetractUntimed: true,
	}
	if !(fl == "marlin2" || fl == "reprapfirmware") || !(l.TravelAccel > 0) {
		l.TravelAccel = l.PrintAccel
	}
	for i := range 4 { // 0 means "no limit" nowhere in PrusaSlicer; keep the planner sane
		if !(l.MaxFeedMMS[i] > 0) {
			l.MaxFeedMMS[i] = prusaEnvelope[i].def
		}
		if !(l.MaxAccelMMS2[i] > 0) {
			l.MaxAccelMMS2[i] = prusaEnvelope[4+i].def
		}
	}
	if !(l.PrintAccel > 0) {
		l.PrintAccel = prusaEnvelope[8].def
	}
	if !(l.RetractAccel > 0) {
		l.RetractAccel = l.PrintAccel
	}
	return l, true
}

// firstNumber parses the first of comma-separated values ("1500,1250").
func firstNumber(s string) (float64, bool) {
	if i := strings.IndexByte(s, ','); i >= 0 {
		s = s[:i]
	}
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return x, err == nil && !math.IsNaN(x)
}
