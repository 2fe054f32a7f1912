package fea

import (
	"fmt"

	"fabcell/config"
	"fabcell/planners/graph"

	"github.com/golang/geo/r3"
)

// FrameOptions say where FromGraph takes element properties from.
type FrameOptions struct {
	// Material (a config preset, SI) and StrutDiameterMM give every
	// element a solid round strut — the planner's default (config
	// wireframe.material / strut_diameter_mm).
	Material        config.Material
	StrutDiameterMM float64
	// UseModel takes the material and section the model file declares
	// (conmech per-element cross_secs/materials, assembly_instances
	// material_properties) where it declares them; elements without a
	// declaration fall back to Material/StrutDiameterMM.
	UseModel bool
}

// OptionsFromConfig returns the options of the wire-frame process
// configuration (wireframe.material, strut_diameter_mm,
// use_model_material).
func OptionsFromConfig(w config.WireframeProcess) (FrameOptions, error) {
	m, err := config.LookupMaterial(w.Material)
	if err != nil {
		return FrameOptions{}, fmt.Errorf("fea: %w", err)
	}
	return FrameOptions{Material: m, StrutDiameterMM: w.StrutDiameterMM, UseModel: w.UseModelMaterial}, nil
}

// Describe names the material and section a FrameOptions applies to
// elements without a model declaration.
func (o FrameOptions) Describe() string {
	return fmt.Sprintf("%s (E %.4g GPa, G %.4g GPa, ρ %.4g kg/m³; %s), round strut Ø %.4g mm",
		o.Material.Name, o.Material.EPa/1e9, o.Material.GPa/1e9, o.Material.DensityKgM3, o.Material.Source, o.StrutDiameterMM)
}

// FromGraph builds the frame of a wire-frame graph: node positions
// converted from millimetres to metres, one element per edge, supports
// from Meta.Fixities (a listed node gets exactly its flags) and otherwise
// grounded nodes fully fixed, pin-ended elements where Meta.BendingStiff
// is false.
func FromGraph(g *graph.Graph, o FrameOptions) (*Frame, error) {
	if g == nil || g.NumNodes() == 0 {
		return nil, fmt.Errorf("fea: empty graph")
	}
	pos := make([]r3.Vector, g.NumNodes())
	for i, p := range g.Pos {
		pos[i] = p.Mul(1e-3) // mm → m
	}
	sup := make([]Fixity, g.NumNodes())
	for i, gr := range g.Grounded {
		if fx, ok := g.Meta.Fixities[i]; ok {
			sup[i] = Fixity(fx)
		} else if gr {
			sup[i] = FullyFixed
		}
	}
	var defSec Section
	var defMat Material
	haveDefault := false
	if o.StrutDiameterMM > 0 && o.Material.EPa > 0 {
		defSec = RoundSection(o.StrutDiameterMM * 1e-3)
		defMat = Material{Name: o.Material.Name, EPa: o.Material.EPa, GPa: o.Material.GPa, UnitWeightNPerM3: o.Material.DensityKgM3 * GravityM}
		haveDefault = true
	}
	els := make([]Element, g.NumEdges())
	for j, e := range g.Edges {
		el := Element{A: e.A, B: e.B, Section: defSec, Material: defMat}
		var gm *graph.Material
		if o.UseModel {
			if g.Meta.ElemMaterial != nil && g.Meta.ElemMaterial[j] != nil {
				gm = g.Meta.ElemMaterial[j]
			} else if g.Meta.Material != nil {
				gm = g.Meta.Material
			}
		}
		if gm != nil {
			m, s, err := fromGraphMaterial(gm, defSec, haveDefault)
			if err != nil {
				return nil, fmt.Errorf("fea: %s: element %d: %w", g.Source, j, err)
			}
			el.Material, el.Section = m, s
		} else if !haveDefault {
			return nil, fmt.Errorf("fea: %s: element %d has no material: the model declares none and no preset/strut diameter was given", g.Source, j)
		}
		if g.Meta.BendingStiff != nil && !g.Meta.BendingStiff[j] {
			el.Pinned = true
		}
		els[j] = el
	}
	f, err := NewFrame(pos, sup, els)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", g.Source, err)
	}
	return f, nil
}

// fromGraphMaterial converts a model-declared material and section. A
// declaration without a section uses the default round strut.
func fromGraphMaterial(gm *graph.Material, defSec Section, haveDefault bool) (Material, Section, error) {
	m := Material{Name: gm.Name, EPa: gm.EPa, GPa: gm.GPa, UnitWeightNPerM3: gm.UnitWeightNM}
	if m.UnitWeightNPerM3 == 0 {
		m.UnitWeightNPerM3 = gm.DensityKgM3 * GravityM
	}
	s := Section{AreaM2: gm.AreaM2, IyM4: gm.IyM4, IzM4: gm.IzM4, JM4: gm.JM4}
	if s.AreaM2 == 0 {
		if !haveDefault {
			return m, s, fmt.Errorf("model material %q has no cross-section and no strut diameter was given", gm.Name)
		}
		s = defSec
	}
	return m, s, nil
}
