package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/golang/geo/r3"
)

// The assembly_instances / Choreo extrusion format
// (github.com/yijiangh/assembly_instances, extrusion/*.json; SOURCES.md §1):
//
//	{ "unit": "millimeter",
//	  "node_list":    [{"point": {"X","Y","Z"}, "node_id", "is_grounded": 0|1, "fixities": [6 flags]}],
//	  "element_list": [{"end_node_ids": [a, b], "element_id", "layer_id"}],
//	  "material_properties": {...mixed units...},
//	  "base_frame_in_rob_base": {"Origin": {"X","Y","Z"}, "XAxis", "YAxis", "ZAxis", ...} }
//
// Rules implemented by LoadAssembly:
//   - "unit" is required: millimeter, meter, centimeter or inch (also mm, m,
//     cm, in, ft); positions and the bed-frame origin are converted to mm;
//   - "node_id" is optional; when nodes carry it, element ends refer to it
//     and are mapped to the 0-based list index (node ids must be unique and
//     present on every node); without it the list index is the id;
//   - "is_grounded" (0/1 or boolean) is required on every node;
//   - "fixities": [] or absent = no entry; 6 flags = Meta.Fixities entry;
//   - "layer_id", when any element has it, is required on all and goes to
//     Meta.LayerID;
//   - self-loops and repeated elements are errors;
//   - "material_properties", when present, must give youngs_modulus,
//     shear_modulus, density, cross_sec_area, Iy, Iz and Jx each with its
//     "<key>_unit"; tensile_yeild_stress (sic, or tensile_yield_stress) is
//     optional; poisson_ratio is ignored (it is derived from E and G in these
//     files). Units are converted explicitly to SI (see units.go): density
//     given as force/volume is a unit weight γ, and ρ = γ / 9.80665;
//   - "base_frame_in_rob_base": the "Origin" object (else OriginX/Y/Z) and
//     the axes; axes must be orthonormal within 1e-6 (they are normalised);
//     "IsValid": false is an error; an OriginX/Y/Z that disagrees with
//     Origin is reported in Meta.Warnings and Origin is used;
//   - "node_num"/"element_num", when present, must match the lists.

func init() {
	RegisterFormat(Loader{
		Name:  "assembly-json",
		Match: func(path string) bool { return isJSON(path) && sniffJSON(path, `"node_list"`, `"element_list"`) },
		Load:  LoadAssembly,
	})
	RegisterFormat(Loader{
		Name:  "conmech-json",
		Match: isJSON, // every other .json; Load names what is missing
		Load:  LoadConmech,
	})
}

func isJSON(path string) bool { return strings.EqualFold(filepath.Ext(path), ".json") }

// sniffJSON reports whether one of the keys appears in the first 64 KiB.
func sniffJSON(path string, keys ...string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	n, _ := io.ReadFull(f, buf)
	for _, k := range keys {
		if bytes.Contains(buf[:n], []byte(k)) {
			return true
		}
	}
	return false
}

type aiPoint struct {
	X, Y, Z *json.Number
}

type aiNode struct {
	Point      *aiPoint        `json:"point"`
	NodeID     *json.Number    `json:"node_id"`
	IsGrounded json.RawMessage `json:"is_grounded"`
	Fixities   json.RawMessage `json:"fixities"`
}

type aiElem struct {
	Ends    []json.Number `json:"end_node_ids"`
	LayerID *json.Number  `json:"layer_id"`
}

// LoadAssembly reads an assembly_instances / Choreo extrusion JSON model.
func LoadAssembly(path string, opts LoadOptions) (*Graph, error) {
	d, err := openJSON(path)
	if err != nil {
		return nil, err
	}
	type nodeRec struct {
		n   aiNode
		off int64
	}
	type elemRec struct {
		e   aiElem
		off int64
	}
	var (
		nodes              []nodeRec
		elems              []elemRec
		unit               *string
		unitOff            int64
		matRaw             map[string]json.RawMessage
		matOff             int64
		frameRaw           map[string]json.RawMessage
		frameOff           int64
		nodeNum, elemNum   *json.Number
		numOff, elNumOff   int64
		uniformMat         = true
		sawNodes, sawElems bool
	)
	maxN := opts.maxNodes()
	err = d.object("top level", func(key string, off int64) error {
		switch key {
		case "node_list":
			sawNodes = true
			return d.array("node_list", func(i int, off int64) error {
				if len(nodes) >= maxN {
					return d.errAt(off, ErrTooLarge, "node_list: more than %d nodes", maxN)
				}
				var n aiNode
				if err := d.decode(&n, fmt.Sprintf("node_list[%d]", i)); err != nil {
					return err
				}
				nodes = append(nodes, nodeRec{n, off})
				return nil
			})
		case "element_list":
			sawElems = true
			return d.array("element_list", func(i int, off int64) error {
				if len(elems) >= MaxEdges {
					return d.errAt(off, ErrTooLarge, "element_list: more than %d elements", MaxEdges)
				}
				var e aiElem
				if err := d.decode(&e, fmt.Sprintf("element_list[%d]", i)); err != nil {
					return err
				}
				elems = append(elems, elemRec{e, off})
				return nil
			})
		case "unit":
			unitOff = off
			return d.decode(&unit, "unit")
		case "material_properties":
			matOff = off
			return d.decode(&matRaw, "material_properties")
		case "base_frame_in_rob_base":
			frameOff = off
			return d.decode(&frameRaw, "base_frame_in_rob_base")
		case "node_num":
			numOff = off
			return d.decode(&nodeNum, "node_num")
		case "element_num":
			elNumOff = off
			return d.decode(&elemNum, "element_num")
		case "uniform_material_properties", "uniform_cross_section":
			var b *bool
			if err := d.decode(&b, key); err != nil {
				return err
			}
			if b != nil && !*b {
				uniformMat = false
			}
			return nil
		}
		return d.skip(key)
	})
	if err != nil {
		return nil, err
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	if !sawNodes {
		return nil, perr(path, 0, ErrMissing, "node_list: missing (not an assembly_instances model)")
	}
	if !sawElems {
		return nil, perr(path, 0, ErrMissing, "element_list: missing")
	}
	if len(nodes) == 0 {
		return nil, perr(path, 0, ErrEmpty, "node_list is empty")
	}
	if len(elems) == 0 {
		return nil, perr(path, 0, ErrNoEdges, "element_list is empty")
	}
	scale, err := d.positionUnit(unit, unitOff)
	if err != nil {
		return nil, err
	}
	if nodeNum != nil {
		if v, err := d.integer(nodeNum, numOff, "node_num"); err != nil {
			return nil, err
		} else if v != len(nodes) {
			return nil, d.errAt(numOff, ErrSyntax, "node_num %d does not match the %d entries of node_list", v, len(nodes))
		}
	}
	if elemNum != nil {
		if v, err := d.integer(elemNum, elNumOff, "element_num"); err != nil {
			return nil, err
		} else if v != len(elems) {
			return nil, d.errAt(elNumOff, ErrSyntax, "element_num %d does not match the %d entries of element_list", v, len(elems))
		}
	}

	g := &Graph{Kind: Wireframe, Pos: make([]r3.Vector, len(nodes)), Grounded: make([]bool, len(nodes))}
	g.Meta.Unit = *unit
	idx := nodeIndex{n: len(nodes)}
	for i, nr := range nodes {
		n := nr.n
		field := fmt.Sprintf("node_list[%d]", i)
		if n.Point == nil {
			return nil, d.errAt(nr.off, ErrMissing, "%s.point: missing", field)
		}
		var v [3]float64
		for k, c := range []*json.Number{n.Point.X, n.Point.Y, n.Point.Z} {
			x, err := d.num(c, nr.off, field+".point."+string(rune('X'+k)))
			if err != nil {
				return nil, err
			}
			v[k] = x * scale
		}
		g.Pos[i] = r3.Vector{X: v[0], Y: v[1], Z: v[2]}
		gr, ok, err := d.flexBool(n.IsGrounded, nr.off, field+".is_grounded")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, d.errAt(nr.off, ErrMissing, "%s.is_grounded: missing", field)
		}
		g.Grounded[i] = gr
		fx, ok, err := d.fixity(n.Fixities, nr.off, field+".fixities")
		if err != nil {
			return nil, err
		}
		if ok {
			if g.Meta.Fixities == nil {
				g.Meta.Fixities = map[int][6]bool{}
			}
			g.Meta.Fixities[i] = fx
		}
		if (n.NodeID != nil) != (nodes[0].n.NodeID != nil) {
			return nil, d.errAt(nr.off, ErrMissing, "%s.node_id: present on some nodes only", field)
		}
		if n.NodeID != nil {
			id, err := d.integer(n.NodeID, nr.off, field+".node_id")
			if err != nil {
				return nil, err
			}
			if idx.ids == nil {
				idx.ids = make(map[int]int, len(nodes))
			}
			if j, dup := idx.ids[id]; dup {
				return nil, d.errAt(nr.off, ErrDuplicate, "%s.node_id %d: already used by node_list[%d]", field, id, j)
			}
			idx.ids[id] = i
		}
	}
	if idx.ids != nil {
		identity := true
		for id, i := range idx.ids {
			if id != i {
				identity = false
				break
			}
		}
		if identity {
			idx.ids = nil
		}
	}

	g.Edges = make([]Edge, len(elems))
	hasLayer := elems[0].e.LayerID != nil
	if hasLayer {
		g.Meta.LayerID = make([]int, len(elems))
	}
	var ec edgeChecker
	for j, er := range elems {
		e := er.e
		field := fmt.Sprintf("element_list[%d]", j)
		if e.Ends == nil {
			return nil, d.errAt(er.off, ErrMissing, "%s.end_node_ids: missing", field)
		}
		if len(e.Ends) != 2 {
			return nil, d.errAt(er.off, ErrSyntax, "%s.end_node_ids: want 2 node ids, got %d", field, len(e.Ends))
		}
		var ab [2]int
		for k := range ab {
			id, err := d.integer(&e.Ends[k], er.off, fmt.Sprintf("%s.end_node_ids[%d]", field, k))
			if err != nil {
				return nil, err
			}
			i, ok := idx.lookup(id)
			if !ok {
				if idx.ids == nil {
					return nil, d.errAt(er.off, ErrIndex, "%s.end_node_ids: node %d out of range [0,%d)", field, id, len(nodes))
				}
				return nil, d.errAt(er.off, ErrIndex, "%s.end_node_ids: no node has node_id %d", field, id)
			}
			ab[k] = i
		}
		if err := ec.check(d, er.off, field, ab[0], ab[1], j); err != nil {
			return nil, err
		}
		g.Edges[j] = Edge{A: ab[0], B: ab[1]}
		if (e.LayerID != nil) != hasLayer {
			return nil, d.errAt(er.off, ErrMissing, "%s.layer_id: present on some elements only", field)
		}
		if hasLayer {
			l, err := d.integer(e.LayerID, er.off, field+".layer_id")
			if err != nil {
				return nil, err
			}
			g.Meta.LayerID[j] = l
		}
	}

	if matRaw != nil {
		if !uniformMat {
			g.Meta.Warnings = append(g.Meta.Warnings, "uniform_material_properties/uniform_cross_section is false but the format defines one material block: material not used")
		} else {
			m, err := assemblyMaterial(props{d: d, off: matOff, prefix: "material_properties", m: matRaw})
			if err != nil {
				return nil, err
			}
			g.Meta.Material = m
		}
	}
	if frameRaw != nil {
		fr, warn, err := assemblyFrame(d, frameOff, frameRaw, scale, *unit)
		if err != nil {
			return nil, err
		}
		g.Meta.BedFrame = fr
		g.Meta.Warnings = append(g.Meta.Warnings, warn...)
	}
	if opts.Kind != nil {
		g.Kind = *opts.Kind
	}
	return finishGraph(path, g)
}

func assemblyMaterial(p props) (*Material, error) {
	m := &Material{Name: p.str("material_name"), SourceNote: p.str("_source")}
	var err error
	if m.EPa, err = p.unit("youngs_modulus", pressureFactor); err != nil {
		return nil, err
	}
	if err := positive(p, "youngs_modulus", m.EPa); err != nil {
		return nil, err
	}
	if m.GPa, err = p.unit("shear_modulus", pressureFactor); err != nil {
		return nil, err
	}
	if err := positive(p, "shear_modulus", m.GPa); err != nil {
		return nil, err
	}
	for _, k := range []string{"tensile_yeild_stress", "tensile_yield_stress"} {
		if p.has(k) {
			if m.YieldPa, err = p.unit(k, pressureFactor); err != nil {
				return nil, err
			}
			break
		}
	}
	if err := p.density("density", m); err != nil {
		return nil, err
	}
	for _, q := range []struct {
		key string
		dst *float64
		f   func(string) (float64, error)
	}{
		{"cross_sec_area", &m.AreaM2, areaFactor},
		{"Iy", &m.IyM4, inertiaFactor},
		{"Iz", &m.IzM4, inertiaFactor},
		{"Jx", &m.JM4, inertiaFactor},
	} {
		if *q.dst, err = p.unit(q.key, q.f); err != nil {
			return nil, err
		}
		if err := positive(p, q.key, *q.dst); err != nil {
			return nil, err
		}
	}
	if m.SourceNote == "" {
		m.SourceNote = "assembly_instances material_properties"
	}
	return m, nil
}

func assemblyFrame(d *jsonDoc, off int64, raw map[string]json.RawMessage, scale float64, unit string) (*Frame, []string, error) {
	const field = "base_frame_in_rob_base"
	var warn []string
	vec := func(key string) (*r3.Vector, error) {
		r, ok := raw[key]
		if !ok || strings.TrimSpace(string(r)) == "null" {
			return nil, nil
		}
		var p aiPoint
		if err := json.Unmarshal(r, &p); err != nil {
			return nil, d.errAt(off, ErrSyntax, "%s.%s: want {\"X\",\"Y\",\"Z\"}", field, key)
		}
		var v [3]float64
		for k, c := range []*json.Number{p.X, p.Y, p.Z} {
			x, err := d.num(c, off, fmt.Sprintf("%s.%s.%c", field, key, 'X'+k))
			if err != nil {
				return nil, err
			}
			v[k] = x
		}
		return &r3.Vector{X: v[0], Y: v[1], Z: v[2]}, nil
	}
	if r, ok := raw["IsValid"]; ok {
		var b bool
		if json.Unmarshal(r, &b) == nil && !b {
			return nil, nil, d.errAt(off, ErrSyntax, "%s.IsValid is false", field)
		}
	}
	origin, err := vec("Origin")
	if err != nil {
		return nil, nil, err
	}
	var flat [3]float64
	nflat := 0
	for k, key := range []string{"OriginX", "OriginY", "OriginZ"} {
		r, ok := raw[key]
		if !ok {
			continue
		}
		var n json.Number
		if err := json.Unmarshal(r, &n); err != nil {
			return nil, nil, d.errAt(off, ErrSyntax, "%s.%s: not a number", field, key)
		}
		x, err := d.num(&n, off, field+"."+key)
		if err != nil {
			return nil, nil, err
		}
		flat[k] = x
		nflat++
	}
	switch {
	case origin == nil && nflat == 3:
		origin = &r3.Vector{X: flat[0], Y: flat[1], Z: flat[2]}
	case origin == nil:
		return nil, nil, d.errAt(off, ErrMissing, "%s.Origin: missing", field)
	case nflat == 3 && (origin.X != flat[0] || origin.Y != flat[1] || origin.Z != flat[2]):
		warn = append(warn, fmt.Sprintf("%s: Origin (%g, %g, %g) and OriginX/Y/Z (%g, %g, %g) disagree; using Origin",
			field, origin.X, origin.Y, origin.Z, flat[0], flat[1], flat[2]))
	}
	fr := &Frame{OriginMM: origin.Mul(scale), DeclaredUnit: unit}
	axes := [3]*r3.Vector{}
	for k, key := range []string{"XAxis", "YAxis", "ZAxis"} {
		if axes[k], err = vec(key); err != nil {
			return nil, nil, err
		}
	}
	if axes[0] == nil || axes[1] == nil {
		return nil, nil, d.errAt(off, ErrMissing, "%s: XAxis and YAxis are required", field)
	}
	if axes[2] == nil {
		z := axes[0].Cross(*axes[1])
		axes[2] = &z
	}
	const tol = 1e-6
	for k, a := range axes {
		if math.Abs(a.Norm()-1) > tol {
			return nil, nil, d.errAt(off, ErrSyntax, "%s.%cAxis has length %g, want 1", field, 'X'+k, a.Norm())
		}
	}
	if math.Abs(axes[0].Dot(*axes[1])) > tol || math.Abs(axes[0].Dot(*axes[2])) > tol || math.Abs(axes[1].Dot(*axes[2])) > tol ||
		axes[0].Cross(*axes[1]).Dot(*axes[2]) < 0 {
		return nil, nil, d.errAt(off, ErrSyntax, "%s: axes are not a right-handed orthonormal frame", field)
	}
	fr.X, fr.Y, fr.Z = axes[0].Normalize(), axes[1].Normalize(), axes[2].Normalize()
	return fr, warn, nil
}
