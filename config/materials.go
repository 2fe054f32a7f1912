package config

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Material is an isotropic thermoplastic for printed struts, in SI units.
type Material struct {
	Name        string
	EPa         float64 // Young's modulus
	GPa         float64 // shear modulus
	DensityKgM3 float64
	Source      string // where the values come from
}

// Materials are the presets selectable by name (case-insensitive).
//
// PLA: E = 3.5 GPa, G = 2.4 GPa from makeitfrom.com "Polylactic Acid (PLA,
// Polylactide)" — the same source and values the assembly_instances models
// declare (350 kN/cm², 240 kN/cm²); ρ = 1250 kg/m³ (unit weight 12.2582
// kN/m³ in those files, and ρ in the RL3DP release).
//
// ABS: E = 2.3 GPa, ν = 0.35 → G = E/(2(1+ν)) = 0.85 GPa, ρ = 1050 kg/m³:
// mid-range of the MatWeb "Overview of materials for Acrylonitrile Butadiene
// Styrene (ABS), Extruded" ranges (E 2.0–2.6 GPa, ρ 1.03–1.06 g/cm³,
// ν ≈ 0.35). The LSG-DQN paper prints ABS but its values were stripped
// (spec lsg-dqn.md §14), so these are typical datasheet values, not the
// paper's.
//
// PLA-RL3DP reproduces the authors' release: E = 3336, G = 3150 in the
// code's unit system, which with its 1e-3 force scaling equals E = 3.336 GPa,
// G = 3.15 GPa; ρ = 1250 kg/m³ (spec lsg-dqn.md §8.1).
var Materials = map[string]Material{
	"pla": {Name: "PLA", EPa: 3.5e9, GPa: 2.4e9, DensityKgM3: 1250,
		Source: "makeitfrom.com PLA (as declared by assembly_instances)"},
	"abs": {Name: "ABS", EPa: 2.3e9, GPa: 2.3e9 / (2 * 1.35), DensityKgM3: 1050,
		Source: "MatWeb ABS extruded, mid-range; G from nu = 0.35"},
	"pla-rl3dp": {Name: "PLA-RL3DP", EPa: 3.336e9, GPa: 3.15e9, DensityKgM3: 1250,
		Source: "RL3DPToolpathPlanner functions.beam_fea_calculate"},
}

// LookupMaterial returns the preset with this name (case-insensitive).
func LookupMaterial(name string) (Material, error) {
	m, ok := Materials[strings.ToLower(name)]
	if !ok {
		names := make([]string, 0, len(Materials))
		for k := range Materials {
			names = append(names, k)
		}
		sort.Strings(names)
		return Material{}, fmt.Errorf("unknown material %q (known: %s)", name, strings.Join(names, ", "))
	}
	return m, nil
}

// RoundSection returns area (m²), second moment I = Iy = Iz (m⁴) and polar
// moment J (m⁴) of a solid round section of diameter dMM millimetres.
func RoundSection(dMM float64) (areaM2, iM4, jM4 float64) {
	r := dMM / 2 / 1000
	areaM2 = math.Pi * r * r
	iM4 = math.Pi * r * r * r * r / 4
	jM4 = math.Pi * r * r * r * r / 2
	return
}
