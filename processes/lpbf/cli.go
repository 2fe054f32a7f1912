package lpbf

import (
	"fmt"
	"io"
	"math"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"
	"fabcell/planners/graph/commonlayer"
)

// CLI output. Scan vectors are written as $$HATCHES segments (centre of the
// first pixel → centre of the last) in scan order, at most HatchBlock per
// block, part id PartID. ASCII files carry the laser parameters as the
// vendor parameters $$POWER (W) and $$SPEED (mm/s), which package
// commonlayer attaches to every following vector block; binary CLI has no
// parameter commands, so both encodings also name them in the part label
// ($$LABEL/1,fabcell lpbf power_w=… scan_speed_mm_s=…). Coordinates are
// written in $$UNITS/0.001 (1 µm): pixel centres of a 50 µm grid are whole
// units, exact in ASCII and in the float32 of long binary commands.
const (
	CLIUnitsMM = 0.001
	HatchBlock = 64
	PartID     = 1
)

// CLIParams returns the vendor parameters of every scan vector.
func CLIParams(c config.LPBFProcess) []commonlayer.Param {
	return []commonlayer.Param{{Name: "POWER", Value: c.PowerW}, {Name: "SPEED", Value: c.ScanSpeedMMS}}
}

// CLILayer returns the CLI layer (z = the graph's layer height) holding the
// scan vectors of one layer, in order, with the parameters of c.
func CLILayer(c config.LPBFProcess, g *graph.Graph, vecs []Vector) commonlayer.Layer {
	l := commonlayer.Layer{}
	if g.NumNodes() > 0 {
		l.ZMM = g.Pos[0].Z
	}
	params := CLIParams(c)
	for i := 0; i < len(vecs); i += HatchBlock {
		h := commonlayer.Hatches{ID: PartID, Params: params}
		for _, v := range vecs[i:min(i+HatchBlock, len(vecs))] {
			a, b := g.Pos[v.From], g.Pos[v.To]
			h.Segments = append(h.Segments, commonlayer.Segment{A: commonlayer.Point{X: a.X, Y: a.Y}, B: commonlayer.Point{X: b.X, Y: b.Y}})
		}
		l.Hatches = append(l.Hatches, h)
	}
	return l
}

// CLIFile assembles layers (bottom first) into a CLI file in the given
// encoding. Binary files drop the per-block parameters (the label keeps
// them).
func CLIFile(c config.LPBFProcess, layers []commonlayer.Layer, enc commonlayer.Encoding) *commonlayer.File {
	f := &commonlayer.File{Header: commonlayer.Header{
		Encoding: enc, UnitsMM: CLIUnitsMM, Version: 200,
		Labels: []commonlayer.Label{{ID: PartID, Text: fmt.Sprintf("fabcell lpbf power_w=%g scan_speed_mm_s=%g", c.PowerW, c.ScanSpeedMMS)}},
	}}
	f.Layers = make([]commonlayer.Layer, len(layers))
	for i, l := range layers {
		f.Layers[i] = l
		if enc == commonlayer.Binary {
			f.Layers[i].Hatches = make([]commonlayer.Hatches, len(l.Hatches))
			for k, h := range l.Hatches {
				h.Params = nil
				f.Layers[i].Hatches[k] = h
			}
		}
	}
	return f
}

// WriteCLI writes layers as a CLI file.
func WriteCLI(w io.Writer, c config.LPBFProcess, layers []commonlayer.Layer, enc commonlayer.Encoding) error {
	return commonlayer.Write(w, CLIFile(c, layers, enc), commonlayer.WriteOptions{})
}

func (p *Process) writeCLI(w io.Writer, r *planners.Result, binary bool) error {
	s, err := p.resultSession(r)
	if err != nil {
		return err
	}
	order := s.order()
	if len(order) == 0 {
		return fmt.Errorf("lpbf: the plan has no moves: nothing to scan")
	}
	if err := checkComplete(s); err != nil {
		return err
	}
	vecs := ScanVectors(s.lat, order)
	if err := checkField(s.G, vecs, p.cfg.LPBF.FieldSizeMM); err != nil {
		return err
	}
	enc := commonlayer.ASCII
	if binary {
		enc = commonlayer.Binary
	}
	return WriteCLI(w, p.cfg.LPBF, []commonlayer.Layer{CLILayer(p.cfg.LPBF, s.G, vecs)}, enc)
}

// checkComplete refuses a plan that leaves pixels of the layer unscanned:
// a CLI file is a machine program, and a partial layer would leave
// unmelted powder inside the part (the plan file and the plot still show
// a partial plan).
func checkComplete(s *Session) error {
	if n := len(s.unvisited); n > 0 {
		v := s.unvisited[0]
		for _, u := range s.unvisited {
			v = min(v, u)
		}
		p := s.G.Pos[v]
		return fmt.Errorf("lpbf: the plan scans %d of %d pixels: %d would stay unmelted (pixel %d at (%.6g, %.6g) mm first); a CLI program needs a complete layer",
			s.G.NumNodes()-n, s.G.NumNodes(), n, v, p.X, p.Y)
	}
	return nil
}

// checkField refuses scan vectors that leave the machine's scan field, a
// square of side fieldMM centred on the origin (lpbf.field_size_mm; the
// same rule as the safety gate's laser check, which would stop such a layer
// at its first vector when it is run). The error names the first one.
func checkField(g *graph.Graph, vecs []Vector, fieldMM float64) error {
	half := fieldMM / 2
	for i, v := range vecs {
		for _, n := range [2]int{v.From, v.To} {
			if p := g.Pos[n]; math.Abs(p.X) > half || math.Abs(p.Y) > half {
				return fmt.Errorf("lpbf: scan vector %d (pixel %d at (%.6g, %.6g) mm) leaves the %g mm scan field (|x|, |y| <= %g mm about the field centre, lpbf.field_size_mm): move the part into the field",
					i, n, p.X, p.Y, fieldMM, half)
			}
		}
	}
	return nil
}
