package graph

import (
	"fmt"
	"strings"
)

// Unit strings of the JSON model formats. assembly_instances mixes kN, cm
// and m in one block ("kN/cm2", "kN/m3", "centimeter^2", "centimeter^4");
// conmech writes "kN/m2", "kN/m3", "m2", "m4". Every quantity is converted
// once, here, to SI (m, N, Pa, kg) and stored in Material; positions are
// converted to millimetres.

// standardGravity is g₀ (m/s²), used to turn a unit weight (N/m³) into a
// mass density (kg/m³): ρ = γ / g₀.
const standardGravity = 9.80665

// lengthM maps length unit names (case-insensitive) to metres.
var lengthM = map[string]float64{
	"m": 1, "meter": 1, "metre": 1, "meters": 1, "metres": 1,
	"cm": 0.01, "centimeter": 0.01, "centimetre": 0.01, "centimeters": 0.01, "centimetres": 0.01,
	"mm": 0.001, "millimeter": 0.001, "millimetre": 0.001, "millimeters": 0.001, "millimetres": 0.001,
	"in": 0.0254, "inch": 0.0254, "inches": 0.0254,
	"ft": 0.3048, "foot": 0.3048, "feet": 0.3048,
}

// forceN maps force units (case-sensitive: "MN" is not "mN") to newtons.
var forceN = map[string]float64{
	"N": 1, "kN": 1e3, "MN": 1e6, "lbf": 4.4482216152605, "kip": 4448.2216152605, "kips": 4448.2216152605,
}

// pressurePa maps named pressure units (case-sensitive) to pascals.
var pressurePa = map[string]float64{
	"Pa": 1, "kPa": 1e3, "MPa": 1e6, "GPa": 1e9, "psi": 6894.757293168361, "ksi": 6894757.293168361,
}

// massKg maps mass units (case-sensitive) to kilograms.
var massKg = map[string]float64{"kg": 1, "g": 1e-3, "t": 1e3, "lb": 0.45359237}

// LengthUnitMM returns how many millimetres one declared length unit is
// ("millimeter" → 1, "meter" → 1000, "centimeter" → 10, "inch" → 25.4,
// and the short forms mm, m, cm, in, ft).
func LengthUnitMM(unit string) (float64, bool) {
	f, ok := lengthM[strings.ToLower(strings.TrimSpace(unit))]
	return f * 1000, ok
}

// lengthPow parses "cm2", "cm^2", "cm²", "centimeter^4", "m**3" and returns
// the metre factor of the base unit and the exponent.
func lengthPow(s string) (float64, int, bool) {
	s = strings.TrimSpace(s)
	for _, sup := range []struct {
		suffix string
		exp    int
	}{{"²", 2}, {"³", 3}, {"⁴", 4}} {
		if strings.HasSuffix(s, sup.suffix) {
			f, ok := lengthM[strings.ToLower(strings.TrimSuffix(s, sup.suffix))]
			return f, sup.exp, ok
		}
	}
	if len(s) < 2 {
		return 0, 0, false
	}
	e := s[len(s)-1]
	if e < '1' || e > '4' {
		f, ok := lengthM[strings.ToLower(s)]
		return f, 1, ok
	}
	base := strings.TrimRight(s[:len(s)-1], "^*")
	f, ok := lengthM[strings.ToLower(base)]
	return f, int(e - '0'), ok
}

func pow(f float64, n int) float64 {
	r := 1.0
	for i := 0; i < n; i++ {
		r *= f
	}
	return r
}

// pressureFactor returns the Pa per declared pressure unit: a named unit
// (Pa, kPa, MPa, GPa, psi, ksi) or force/length² ("kN/cm2", "N/mm^2").
func pressureFactor(unit string) (float64, error) {
	u := strings.TrimSpace(unit)
	if f, ok := pressurePa[u]; ok {
		return f, nil
	}
	num, den, ok := strings.Cut(u, "/")
	if ok {
		fn, okF := forceN[strings.TrimSpace(num)]
		fl, e, okL := lengthPow(den)
		if okF && okL && e == 2 {
			return fn / (fl * fl), nil
		}
	}
	return 0, fmt.Errorf("%q is not a pressure unit (want Pa, kPa, MPa, GPa, psi, ksi or force/length², e.g. kN/cm2)", unit)
}

// densityFactor interprets a density unit. A force per volume ("kN/m3") is
// a unit weight γ and the factor converts to N/m³ (weight=true); a mass per
// volume ("kg/m3", "g/cm3") is a mass density and the factor converts to
// kg/m³.
func densityFactor(unit string) (factor float64, weight bool, err error) {
	u := strings.TrimSpace(unit)
	num, den, ok := strings.Cut(u, "/")
	if ok {
		fl, e, okL := lengthPow(den)
		if okL && e == 3 {
			num = strings.TrimSpace(num)
			if fn, ok := forceN[num]; ok {
				return fn / pow(fl, 3), true, nil
			}
			if fm, ok := massKg[num]; ok {
				return fm / pow(fl, 3), false, nil
			}
		}
	}
	return 0, false, fmt.Errorf("%q is not a density unit (want force/length³ such as kN/m3, or mass/length³ such as kg/m3)", unit)
}

// powerFactor converts a length^n unit ("centimeter^2", "m4") to m^n.
func powerFactor(unit string, n int) (float64, error) {
	f, e, ok := lengthPow(unit)
	if !ok || e != n {
		what := map[int]string{2: "an area unit (length², e.g. cm2, m^2)", 4: "a second-moment unit (length⁴, e.g. cm4, m^4)"}[n]
		return 0, fmt.Errorf("%q is not %s", unit, what)
	}
	return pow(f, n), nil
}
