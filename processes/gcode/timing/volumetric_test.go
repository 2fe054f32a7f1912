package timing

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"fabcell/processes/gcode/parse"
)

// volProgram is a small print in filament-length E: extrusions, a
// retract / travel / prime, an arc, then rescaled by eScale (E words only).
func volProgram(header string, eScale float64) string {
	var b strings.Builder
	b.WriteString(header)
	b.WriteString("G90\nM82\nG92 E0\nG1 Z0.2 F600\n")
	e := 0.0
	x, y := 10.0, 10.0
	for i := range 40 {
		nx, ny := 10+float64(i%7)*9, 10+float64(i%5)*11
		e += math.Hypot(nx-x, ny-y) * 0.033
		fmt.Fprintf(&b, "G1 X%.3f Y%.3f E%.5f F%d\n", nx, ny, e*eScale, 1200+60*i)
		x, y = nx, ny
		if i%6 == 5 {
			fmt.Fprintf(&b, "G1 E%.5f F2100\nG0 X%.3f Y%.3f F9000\nG1 E%.5f F1500\n", (e-5)*eScale, x+20, y+3, e*eScale)
			x += 20
			y += 3
		}
	}
	e += math.Pi * 5 * 0.033
	fmt.Fprintf(&b, "G2 X%.3f Y%.3f I5 J0 E%.5f F900\n", x+10, y, e*eScale)
	return b.String()
}

// TestVolumetricEMatchesLength: a file in volumetric E (M200 D, or Cura's
// UltiGCode flavour) takes exactly as long as the same file in filament
// length; E-only moves are where it shows (a 5 mm retraction is 12 mm³ of
// 1.75 mm filament).
func TestVolumetricEMatchesLength(t *testing.T) {
	area := func(d float64) float64 { return math.Pi / 4 * d * d }
	cfg := DefaultConfig()
	for _, c := range []struct {
		name        string
		length, vol string
	}{
		{"M200 D1.75", volProgram("", 1), volProgram("M200 D1.75\n", area(1.75))},
		{"M200 D3 then D0", volProgram("M200 D0\n", 1), volProgram("M200 D3\n", area(3))},
		{"UltiGCode", volProgram(";FLAVOR:UltiGCode\n;Generated with Cura_SteamEngine 4.13.0\nM200 D0\n", 1),
			volProgram(";FLAVOR:UltiGCode\n;Generated with Cura_SteamEngine 4.13.0\n", area(DefaultUltiGCodeFilamentMM))},
	} {
		a, b := estimateText(t, c.length, cfg), estimateText(t, c.vol, cfg)
		if math.Abs(a.Seconds-b.Seconds) > 1e-6*a.Seconds { // E words are rounded to 5 decimals
			t.Errorf("%s: volumetric %.9f s, length %.9f s", c.name, b.Seconds, a.Seconds)
		}
		// Timed as length, the volumes would take longer: the test can fail.
		raw := estimateText(t, strings.Replace(c.vol, "M200 D", "M200 D0 ;", 1), cfg)
		if c.name != "UltiGCode" && !(raw.Seconds > a.Seconds+1) {
			t.Errorf("%s: volumes timed as length %.3f s, want clearly longer than %.3f s", c.name, raw.Seconds, a.Seconds)
		}
	}
	// Firmware retraction is filament length in volumetric mode too.
	fw := "M207 S4 F2400\nG1 X5 Y5 E%.6f F1200\nG10\nG0 X30 Y5 F9000\nG11\nG1 X35 Y5 E%.6f\n"
	a := estimateText(t, fmt.Sprintf(fw, 0.2, 0.4), cfg)
	b := estimateText(t, "M200 D1.75\n"+fmt.Sprintf(fw, 0.2*area(1.75), 0.4*area(1.75)), cfg)
	if math.Abs(a.Seconds-b.Seconds) > 1e-6*a.Seconds {
		t.Errorf("firmware retraction under M200: %.6f s, without %.6f s", b.Seconds, a.Seconds)
	}
}

func TestPrusaLimits(t *testing.T) {
	full := map[string]string{
		"gcode_flavor": "marlin2", "machine_limits_usage": "time_estimate_only",
		"machine_max_feedrate_x": "300,200", "machine_max_feedrate_y": "301", "machine_max_feedrate_z": "10", "machine_max_feedrate_e": "60",
		"machine_max_acceleration_x": "600,500", "machine_max_acceleration_y": "700", "machine_max_acceleration_z": "100", "machine_max_acceleration_e": "5000",
		"machine_max_acceleration_extruding": "500,400", "machine_max_acceleration_retracting": "1000", "machine_max_acceleration_travel": "800",
		"machine_max_jerk_x": "8,8", "machine_max_jerk_y": "9", "machine_max_jerk_z": "0.4", "machine_max_jerk_e": "5",
		"machine_min_extruding_rate": "1", "machine_min_travel_rate": "2",
	}
	l, ok := PrusaLimits(full, 16)
	if !ok {
		t.Fatal("not ok")
	}
	want := Limits{MaxFeedMMS: [4]float64{300, 301, 10, 60}, MaxAccelMMS2: [4]float64{600, 700, 100, 5000},
		PrintAccel: 500, RetractAccel: 1000, TravelAccel: 800, Junction: ClassicJerk, JunctionDevMM: 0.013,
		JerkMMS: [4]float64{8, 9, 0.4, 5}, MinFeedMMS: 1, MinTravelMMS: 2, MinPlannerSpeedMMS: 0.05, Lookahead: 16,
		FirmwareRetractUntimed: true}
	if l != want {
		t.Errorf("marlin2:\n got %+v\nwant %+v", l, want)
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range full {
			m[a] = b
		}
		m[k] = v
		return m
	}
	// Marlin 1 has no M204 T: travel takes the extruding acceleration.
	if l, _ := PrusaLimits(with("gcode_flavor", "marlin"), 16); l.TravelAccel != 500 || l.PrintAccel != 500 {
		t.Errorf("marlin: travel %v print %v, want 500 500", l.TravelAccel, l.PrintAccel)
	}
	// Other flavours, and "ignore", use PrusaSlicer's default envelope.
	for _, s := range []map[string]string{with("gcode_flavor", "reprap"), with("machine_limits_usage", "ignore"), with("gcode_flavor", "klipper")} {
		l, ok := PrusaLimits(s, 16)
		if !ok || l.PrintAccel != 1500 || l.MaxAccelMMS2[0] != 9000 || l.JerkMMS[0] != 10 || l.MaxFeedMMS[2] != 12 {
			t.Errorf("%s/%s: %+v, want PrusaSlicer's defaults", s["gcode_flavor"], s["machine_limits_usage"], l)
		}
	}
	// Garbage falls back to the default, never NaN or a zero limit.
	l, _ = PrusaLimits(with("machine_max_acceleration_extruding", "NaN"), 16)
	if l.PrintAccel != 1500 {
		t.Errorf("NaN extruding acceleration → %v, want the default 1500", l.PrintAccel)
	}
	l, _ = PrusaLimits(with("machine_max_feedrate_x", "0"), 16)
	if l.MaxFeedMMS[0] != 500 {
		t.Errorf("zero X feed → %v, want the default 500", l.MaxFeedMMS[0])
	}
	if _, ok := PrusaLimits(nil, 16); ok {
		t.Error("no settings: ok")
	}
}

// TestPrusaSlicer25 checks the PrusaSlicer model against PrusaSlicer 2.5.0's
// own estimates (testdata/prusa25/SOURCES.md): a Marlin 2 file whose
// machine limits only the settings footer records (machine_limits_usage =
// time_estimate_only), and a RepRapFirmware file with firmware retraction.
func TestPrusaSlicer25(t *testing.T) {
	for _, file := range []string{"duck12_prusaslicer-2.5.0_marlin2-limits.gcode", "duck12_prusaslicer-2.5.0_rrf-fwretract-support.gcode"} {
		t.Run(file, func(t *testing.T) {
			f, err := os.Open("../testdata/prusa25/" + file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			settings, err := parse.ReadFooter(f, st.Size())
			if err != nil {
				t.Fatal(err)
			}
			cfg := DefaultConfig()
			cfg.SlicerSettings = settings
			r, err := EstimateReader(context.Background(), f, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if r.Model != PrusaModel {
				t.Fatalf("model %q, want %q", r.Model, PrusaModel)
			}
			diff := r.Seconds/r.Meta.EmbeddedS - 1
			t.Logf("%s: ours %.1f s, PrusaSlicer %.0f s (%+.2f %%)", file, r.Seconds, r.Meta.EmbeddedS, diff*100)
			if math.Abs(diff) > 0.01 {
				t.Errorf("ours %.1f s, PrusaSlicer %.0f s (%+.2f %%), want within 1 %%", r.Seconds, r.Meta.EmbeddedS, diff*100)
			}
			// Without the footer (a stream) the configured limits are used
			// and the firmware retractions are timed.
			if _, err := f.Seek(0, 0); err != nil {
				t.Fatal(err)
			}
			plain, err := EstimateReader(context.Background(), f, DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			if plain.Model != "" || plain.Seconds == r.Seconds {
				t.Errorf("without the footer: model %q, %.1f s (with it %.1f s)", plain.Model, plain.Seconds, r.Seconds)
			}
		})
	}
}
