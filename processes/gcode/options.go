// Package gcode re-compiles slicer G-code after Li 2020 (spec
// gcode-compiler.md): it streams a file through the parser
// (processes/gcode/parse), cuts it into reorderable chunks (one layer, or
// the part of a layer between commands that must stay in place), builds the
// geometric IR of each chunk (processes/gcode/ir), reorders the extrusions
// with the IR passes, re-inserts retractions and z-hops on travels that
// cross perimeters, and emits G-code again — prolog, epilog, layer changes
// and every line it does not understand verbatim. Each chunk is timed both
// ways with the Marlin planner model (processes/gcode/timing) and the
// original order is kept whenever the new one is not faster, or when
// reordering would be illegal (spiral vase and other non-planar layers,
// relative or inch coordinates, extrusion while retracted) or pointless.
//
// Legality (spec "Legality of a transformation"): every extrusion segment
// of the input is printed exactly once with the same amount of material
// (split pieces carry exact decimal fractions of it), the order of layers
// and of everything outside chunks is unchanged, travels stay at or above
// the layer height, and every edge is printed with the settings (feed, fan,
// acceleration, flow, feature comments) it had in the input.
//
// Verify (in processes/gcode/verify) checks an output against its input
// from the text alone.
package gcode

import (
	"fmt"
	"strings"

	"fabcell/config"
	"fabcell/processes/gcode/ir"
	"fabcell/processes/gcode/parse"
	"fabcell/processes/gcode/timing"
)

// Scope is the unit inside which extrusions may be reordered.
type Scope uint8

// Scopes.
const (
	// ScopeLayer reorders everything between layer changes and pinned
	// commands (Li 2020).
	ScopeLayer Scope = iota
	// ScopeFeature reorders only within runs of the same feature type
	// (";TYPE:" comment, or "; FEATURE:" in Bambu Studio / OrcaSlicer
	// files), keeping e.g. perimeters before infill.
	ScopeFeature
)

// RetractPolicy decides which travels of a reordered chunk retract.
type RetractPolicy uint8

// Retraction policies.
const (
	// RetractCrossing retracts (and z-hops, when the file does) on travels
	// longer than the file's shortest retracted travel that cross a
	// perimeter of the layer.
	RetractCrossing RetractPolicy = iota
	// RetractTravel retracts on every travel longer than that threshold,
	// like a slicer with "only retract when crossing perimeters" off.
	RetractTravel
)

// Options configure Optimize. The zero value is usable but DefaultOptions
// is what the CLI uses.
type Options struct {
	Matching ir.Matching
	// Improve runs the 2-opt / Or-opt pass over runs after the Euler tour.
	Improve bool
	// KeepSeams prints closed perimeter loops as units starting at their
	// original seam (on by default; seams placed by the slicer matter).
	KeepSeams bool
	// KeepWallOrder prints the loops of every wall block (the perimeter
	// loops of one island or hole the input prints one after the other) in
	// the input's order — inner walls before the outer one, or the other
	// way round, as the slicer chose (on by default; needs KeepSeams).
	KeepWallOrder bool
	Scope         Scope
	Retract       RetractPolicy
	// Fallback retraction when the file never retracts (0 = never insert).
	RetractMM float64
	ZHopMM    float64
	// RetractMinTravelMM is the shortest travel that may retract when the
	// file gives no evidence (mm).
	RetractMinTravelMM float64
	// Comb routes a generated travel whose straight line crosses a
	// perimeter around the perimeters instead (ir.Comber: a path inside the
	// same face of the layer's perimeters, never outside the layer's
	// printed area), without retraction or z-hop, when that is faster than
	// the straight travel plus the retraction. Only with RetractCrossing.
	Comb bool
	// CombMaxDetour bounds a combed path's length relative to the straight
	// travel (≥ 1).
	CombMaxDetour float64
	// CombClearanceMM is half the line width: the raster blocks cells
	// within it of a perimeter, and every leg keeps half of it from
	// perimeters other than those through the travel's endpoints (mm, > 0).
	CombClearanceMM float64
	// ForceReorder emits the reordered chunk even when the estimate says it
	// is not faster (testing and measurements only).
	ForceReorder bool
	Timing       timing.Config
	Parse        parse.Options
}

// DefaultOptions: improved matching with run reordering, seams kept, layer
// scope, retraction on crossing travels (combing off: it costs about 46 %
// more instructions for under 0.4 % of print time on the sample files),
// Marlin timing defaults.
func DefaultOptions() Options {
	return Options{
		Matching: ir.Improved, Improve: true, KeepSeams: true, KeepWallOrder: true,
		RetractMinTravelMM: 1.5,
		Comb:               false,
		CombMaxDetour:      3,
		CombClearanceMM:    0.2,
		Timing:             timing.DefaultConfig(),
	}
}

// FromConfig converts the cell configuration's gcode section.
func FromConfig(c config.GCode) (Options, error) {
	o := DefaultOptions()
	switch c.Matching {
	case "greedy":
		o.Matching = ir.Greedy
	case "", "improved":
		o.Matching = ir.Improved
	default:
		return o, fmt.Errorf("gcode: matching %q: want greedy or improved", c.Matching)
	}
	o.Improve = c.ReorderRuns == "" || c.ReorderRuns == "on"
	o.KeepSeams = c.Seams == "" || c.Seams == "keep"
	switch c.WallOrder {
	case "", "keep":
		o.KeepWallOrder = true
	case "free":
		o.KeepWallOrder = false
	default:
		return o, fmt.Errorf("gcode: wall_order %q: want keep or free", c.WallOrder)
	}
	switch c.Scope {
	case "", "layer":
		o.Scope = ScopeLayer
	case "feature":
		o.Scope = ScopeFeature
	default:
		return o, fmt.Errorf("gcode: scope %q: want layer or feature", c.Scope)
	}
	switch c.RetractWhen {
	case "", "crossing":
		o.Retract = RetractCrossing
	case "travel":
		o.Retract = RetractTravel
	default:
		return o, fmt.Errorf("gcode: retract_when %q: want crossing or travel", c.RetractWhen)
	}
	switch c.Comb {
	case "on", "true":
		o.Comb = true
	case "", "off", "false":
		o.Comb = false
	default:
		return o, fmt.Errorf("gcode: comb %q: want on or off", c.Comb)
	}
	if c.CombMaxDetour != 0 {
		if !(c.CombMaxDetour >= 1 && c.CombMaxDetour <= 100) {
			return o, fmt.Errorf("gcode: comb_max_detour %v: want 1 to 100", c.CombMaxDetour)
		}
		o.CombMaxDetour = c.CombMaxDetour
	}
	if c.CombClearanceMM != 0 {
		if !(c.CombClearanceMM >= 0.01 && c.CombClearanceMM <= 5) {
			return o, fmt.Errorf("gcode: comb_clearance_mm %v: want 0.01 to 5", c.CombClearanceMM)
		}
		o.CombClearanceMM = c.CombClearanceMM
	}
	o.RetractMM = c.RetractMM
	o.ZHopMM = c.ZHopMM
	if c.RetractMinTravelMM > 0 {
		o.RetractMinTravelMM = c.RetractMinTravelMM
	}
	t := &o.Timing
	t.Limits.MaxFeedMMS = c.MaxFeedMMS
	t.Limits.MaxAccelMMS2 = c.MaxAccelMMS2
	t.Limits.PrintAccel = c.PrintAccelMMS2
	t.Limits.RetractAccel = c.RetractAccelMMS2
	t.Limits.TravelAccel = c.TravelAccelMMS2
	t.Limits.JunctionDevMM = c.JunctionDeviationMM
	t.Limits.JerkMMS = c.JerkMMS
	if c.LookaheadBlocks > 0 {
		t.Limits.Lookahead = c.LookaheadBlocks
	}
	if c.ArcSegmentMM > 0 {
		t.ArcSegmentMM = c.ArcSegmentMM
	}
	switch strings.ToLower(c.Junction) {
	case "", "auto":
		t.Junction = timing.JunctionAuto
	case "deviation":
		t.Junction = timing.JunctionForceDeviation
	case "jerk":
		t.Junction = timing.JunctionForceJerk
	default:
		return o, fmt.Errorf("gcode: junction %q: want auto, deviation or jerk", c.Junction)
	}
	if t.Junction == timing.JunctionForceJerk {
		t.Limits.Junction = timing.ClassicJerk
	}
	// A machine configured away from the Marlin defaults is the machine:
	// files are not re-interpreted with their slicer's assumed limits.
	t.SlicerLimits = sameMachine(t.Limits, timing.MarlinDefaults())
	t.Parse.G90ResetsE = c.G90ResetsE
	t.UltiGCodeFilamentMM = c.UltiGCodeFilamentMM
	o.Parse.G90ResetsE = c.G90ResetsE
	return o, nil
}

// sameMachine reports whether a and b have the same feed, acceleration,
// junction deviation and jerk limits (the configurable machine defaults).
func sameMachine(a, b timing.Limits) bool {
	return a.MaxFeedMMS == b.MaxFeedMMS && a.MaxAccelMMS2 == b.MaxAccelMMS2 &&
		a.PrintAccel == b.PrintAccel && a.RetractAccel == b.RetractAccel && a.TravelAccel == b.TravelAccel &&
		a.JunctionDevMM == b.JunctionDevMM && a.JerkMMS == b.JerkMMS
}
