package graph

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/golang/geo/r3"
)

// The conmech model format (github.com/yijiangh/conmech, tests/test_data;
// SOURCES.md §3):
//
//	{ "unit": "meter",
//	  "nodes":    [{"point": [x, y, z], "node_ind", "is_grounded"}],
//	  "elements": [{"end_node_inds": [a, b], "elem_tag", "bending_stiff", "layer_ind"}],
//	  "supports": [{"condition": [6 flags], "node_ind"}],
//	  "joints":   [],
//	  "cross_secs": [{"name", "elem_tags": [...], "A", "A_unit", "Jx", "Iy", "Iz", "<key>_unit"}],
//	  "materials":  [{"name", "elem_tags": [...], "E", "G12", "fy", "density", "<key>_unit"}] }
//
// Rules implemented by LoadConmech:
//   - "unit" is required (meter in conmech; any LengthUnitMM unit); positions
//     are converted to mm;
//   - "node_ind" maps to the list index like assembly_instances' node_id;
//   - "elem_tag" missing = ""; "bending_stiff" missing = true; both are kept
//     per edge in Meta.ElemTags / Meta.BendingStiff;
//   - each element gets the cross section and the material whose
//     "elem_tags" list contains its tag; an entry with an empty list is the
//     default for tags nobody claims. Two entries claiming one tag, two
//     defaults, or an element with no match and no default are errors. The
//     result is Meta.ElemMaterial (one *Material per edge, shared between
//     edges with the same pair) in SI: E and G12 in Pa, fy → YieldPa,
//     density as unit weight (force/volume, conmech's kN/m³) → UnitWeightNM
//     and DensityKgM3 = γ/9.80665, A in m², Jx/Iy/Iz in m⁴;
//   - "supports" → Meta.Fixities (node_ind mapped; one entry per node);
//   - a non-empty "joints" list (end releases) is rejected with
//     ErrUnsupported, since the frame model has no releases;
//   - "layer_ind" ≥ 0 on any element → Meta.LayerID (-1 = none);
//   - self-loops, repeated elements, out-of-range indices are errors.

type cmNode struct {
	Point      []json.Number   `json:"point"`
	NodeInd    *json.Number    `json:"node_ind"`
	IsGrounded json.RawMessage `json:"is_grounded"`
}

type cmElem struct {
	Ends         []json.Number   `json:"end_node_inds"`
	Tag          *string         `json:"elem_tag"`
	BendingStiff json.RawMessage `json:"bending_stiff"`
	LayerInd     *json.Number    `json:"layer_ind"`
}

type cmSupport struct {
	Condition json.RawMessage `json:"condition"`
	NodeInd   *json.Number    `json:"node_ind"`
}

// LoadConmech reads a conmech JSON model.
func LoadConmech(path string, opts LoadOptions) (*Graph, error) {
	d, err := openJSON(path)
	if err != nil {
		return nil, err
	}
	var (
		nodes              []jsonRec[cmNode]
		elems              []jsonRec[cmElem]
		supports           []jsonRec[cmSupport]
		secs, mats         []jsonRec[map[string]json.RawMessage]
		joints             []json.RawMessage
		jointsOff          int64
		unit               *string
		unitOff            int64
		nodeNum, elemNum   *json.Number
		numOff, elNumOff   int64
		sawNodes, sawElems bool
		sawSecs, sawMats   bool
		keys               []string
	)
	maxN := opts.maxNodes()
	err = d.object("top level", func(key string, off int64) error {
		keys = append(keys, key)
		switch key {
		case "nodes":
			sawNodes = true
			return d.array("nodes", func(i int, off int64) error {
				if len(nodes) >= maxN {
					return d.errAt(off, ErrTooLarge, "nodes: more than %d nodes", maxN)
				}
				var n cmNode
				if err := d.decode(&n, fmt.Sprintf("nodes[%d]", i)); err != nil {
					return err
				}
				nodes = append(nodes, jsonRec[cmNode]{n, off})
				return nil
			})
		case "elements":
			sawElems = true
			return d.array("elements", func(i int, off int64) error {
				if len(elems) >= MaxEdges {
					return d.errAt(off, ErrTooLarge, "elements: more than %d elements", MaxEdges)
				}
				var e cmElem
				if err := d.decode(&e, fmt.Sprintf("elements[%d]", i)); err != nil {
					return err
				}
				elems = append(elems, jsonRec[cmElem]{e, off})
				return nil
			})
		case "supports":
			return d.array("supports", func(i int, off int64) error {
				if len(supports) >= maxN {
					return d.errAt(off, ErrTooLarge, "supports: more than %d entries", maxN)
				}
				var s cmSupport
				if err := d.decode(&s, fmt.Sprintf("supports[%d]", i)); err != nil {
					return err
				}
				supports = append(supports, jsonRec[cmSupport]{s, off})
				return nil
			})
		case "cross_secs", "materials":
			dst := &secs
			if key == "materials" {
				dst, sawMats = &mats, true
			} else {
				sawSecs = true
			}
			return d.array(key, func(i int, off int64) error {
				if len(*dst) >= 1<<16 {
					return d.errAt(off, ErrTooLarge, "%s: more than %d entries", key, 1<<16)
				}
				var m map[string]json.RawMessage
				if err := d.decode(&m, fmt.Sprintf("%s[%d]", key, i)); err != nil {
					return err
				}
				*dst = append(*dst, jsonRec[map[string]json.RawMessage]{m, off})
				return nil
			})
		case "joints":
			jointsOff = off
			return d.decode(&joints, "joints")
		case "unit":
			unitOff = off
			return d.decode(&unit, "unit")
		case "node_num":
			numOff = off
			return d.decode(&nodeNum, "node_num")
		case "element_num":
			elNumOff = off
			return d.decode(&elemNum, "element_num")
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
		for _, k := range keys {
			if k == "loadcases" {
				return nil, perr(path, 0, ErrNotModel, "conmech load-case file (loads for a model), not a model")
			}
		}
		return nil, perr(path, 0, ErrMissing, "nodes: missing (neither a conmech nor an assembly_instances model)")
	}
	if !sawElems {
		return nil, perr(path, 0, ErrMissing, "elements: missing")
	}
	if len(nodes) == 0 {
		return nil, perr(path, 0, ErrEmpty, "nodes is empty")
	}
	if len(elems) == 0 {
		return nil, perr(path, 0, ErrNoEdges, "elements is empty")
	}
	if !sawSecs || len(secs) == 0 {
		return nil, perr(path, 0, ErrMissing, "cross_secs: missing or empty (every element needs a section)")
	}
	if !sawMats || len(mats) == 0 {
		return nil, perr(path, 0, ErrMissing, "materials: missing or empty (every element needs a material)")
	}
	if len(joints) > 0 {
		return nil, d.errAt(jointsOff, ErrUnsupported, "joints: %d end-release entries; fabcell's frame model has no releases", len(joints))
	}
	scale, err := d.positionUnit(unit, unitOff)
	if err != nil {
		return nil, err
	}
	for _, c := range []struct {
		n   *json.Number
		off int64
		key string
		got int
	}{{nodeNum, numOff, "node_num", len(nodes)}, {elemNum, elNumOff, "element_num", len(elems)}} {
		if c.n == nil {
			continue
		}
		v, err := d.integer(c.n, c.off, c.key)
		if err != nil {
			return nil, err
		}
		if v != c.got {
			return nil, d.errAt(c.off, ErrSyntax, "%s %d does not match the %d list entries", c.key, v, c.got)
		}
	}

	g := &Graph{Kind: Wireframe, Pos: make([]r3.Vector, len(nodes)), Grounded: make([]bool, len(nodes))}
	g.Meta.Unit = *unit
	idx := nodeIndex{n: len(nodes)}
	for i, nr := range nodes {
		n := nr.v
		field := fmt.Sprintf("nodes[%d]", i)
		if n.Point == nil {
			return nil, d.errAt(nr.off, ErrMissing, "%s.point: missing", field)
		}
		if len(n.Point) != 3 {
			return nil, d.errAt(nr.off, ErrSyntax, "%s.point: want [x, y, z], got %d values", field, len(n.Point))
		}
		var v [3]float64
		for k := range v {
			x, err := d.num(&n.Point[k], nr.off, fmt.Sprintf("%s.point[%d]", field, k))
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
		if (n.NodeInd != nil) != (nodes[0].v.NodeInd != nil) {
			return nil, d.errAt(nr.off, ErrMissing, "%s.node_ind: present on some nodes only", field)
		}
		if n.NodeInd != nil {
			id, err := d.integer(n.NodeInd, nr.off, field+".node_ind")
			if err != nil {
				return nil, err
			}
			if idx.ids == nil {
				idx.ids = make(map[int]int, len(nodes))
			}
			if j, dup := idx.ids[id]; dup {
				return nil, d.errAt(nr.off, ErrDuplicate, "%s.node_ind %d: already used by nodes[%d]", field, id, j)
			}
			idx.ids[id] = i
		}
	}
	lookup := func(off int64, field string, n *json.Number) (int, error) {
		id, err := d.integer(n, off, field)
		if err != nil {
			return 0, err
		}
		i, ok := idx.lookup(id)
		if !ok {
			if idx.ids == nil {
				return 0, d.errAt(off, ErrIndex, "%s: node %d out of range [0,%d)", field, id, len(nodes))
			}
			return 0, d.errAt(off, ErrIndex, "%s: no node has node_ind %d", field, id)
		}
		return i, nil
	}

	// sections and materials by tag
	secTab, err := tagTable(d, "cross_secs", secs)
	if err != nil {
		return nil, err
	}
	matTab, err := tagTable(d, "materials", mats)
	if err != nil {
		return nil, err
	}
	secVals := make([]*Material, len(secs))
	for i, s := range secs {
		p := props{d: d, off: s.off, prefix: fmt.Sprintf("cross_secs[%d]", i), m: s.v}
		m := &Material{}
		for _, q := range []struct {
			key string
			dst *float64
			f   func(string) (float64, error)
		}{{"A", &m.AreaM2, areaFactor}, {"Jx", &m.JM4, inertiaFactor}, {"Iy", &m.IyM4, inertiaFactor}, {"Iz", &m.IzM4, inertiaFactor}} {
			if *q.dst, err = p.unit(q.key, q.f); err != nil {
				return nil, err
			}
			if err := positive(p, q.key, *q.dst); err != nil {
				return nil, err
			}
		}
		m.SourceNote = p.str("name")
		secVals[i] = m
	}
	matVals := make([]*Material, len(mats))
	for i, s := range mats {
		p := props{d: d, off: s.off, prefix: fmt.Sprintf("materials[%d]", i), m: s.v}
		m := &Material{Name: p.str("name")}
		if m.EPa, err = p.unit("E", pressureFactor); err != nil {
			return nil, err
		}
		if err := positive(p, "E", m.EPa); err != nil {
			return nil, err
		}
		if m.GPa, err = p.unit("G12", pressureFactor); err != nil {
			return nil, err
		}
		if err := positive(p, "G12", m.GPa); err != nil {
			return nil, err
		}
		if p.has("fy") {
			if m.YieldPa, err = p.unit("fy", pressureFactor); err != nil {
				return nil, err
			}
		}
		if err := p.density("density", m); err != nil {
			return nil, err
		}
		matVals[i] = m
	}

	g.Edges = make([]Edge, len(elems))
	g.Meta.ElemTags = make([]string, len(elems))
	g.Meta.BendingStiff = make([]bool, len(elems))
	g.Meta.ElemMaterial = make([]*Material, len(elems))
	layer := make([]int, len(elems))
	anyLayer := false
	combos := map[[2]int]*Material{}
	var ec edgeChecker
	for j, er := range elems {
		e := er.v
		field := fmt.Sprintf("elements[%d]", j)
		if e.Ends == nil {
			return nil, d.errAt(er.off, ErrMissing, "%s.end_node_inds: missing", field)
		}
		if len(e.Ends) != 2 {
			return nil, d.errAt(er.off, ErrSyntax, "%s.end_node_inds: want 2 node indices, got %d", field, len(e.Ends))
		}
		var ab [2]int
		for k := range ab {
			if ab[k], err = lookup(er.off, fmt.Sprintf("%s.end_node_inds[%d]", field, k), &e.Ends[k]); err != nil {
				return nil, err
			}
		}
		if err := ec.check(d, er.off, field, ab[0], ab[1], j); err != nil {
			return nil, err
		}
		g.Edges[j] = Edge{A: ab[0], B: ab[1]}
		tag := ""
		if e.Tag != nil {
			tag = *e.Tag
		}
		g.Meta.ElemTags[j] = tag
		bs, ok, err := d.flexBool(e.BendingStiff, er.off, field+".bending_stiff")
		if err != nil {
			return nil, err
		}
		g.Meta.BendingStiff[j] = bs || !ok
		layer[j] = -1
		if e.LayerInd != nil {
			if layer[j], err = d.integer(e.LayerInd, er.off, field+".layer_ind"); err != nil {
				return nil, err
			}
			anyLayer = anyLayer || layer[j] >= 0
		}
		si, ok := secTab.lookup(tag)
		if !ok {
			return nil, d.errAt(er.off, ErrMissing, "%s: elem_tag %q matches no cross_secs entry and there is no default (elem_tags: [])", field, tag)
		}
		mi, ok := matTab.lookup(tag)
		if !ok {
			return nil, d.errAt(er.off, ErrMissing, "%s: elem_tag %q matches no materials entry and there is no default (elem_tags: [])", field, tag)
		}
		m := combos[[2]int{mi, si}]
		if m == nil {
			c := *matVals[mi]
			sec := secVals[si]
			c.AreaM2, c.IyM4, c.IzM4, c.JM4 = sec.AreaM2, sec.IyM4, sec.IzM4, sec.JM4
			c.SourceNote = fmt.Sprintf("conmech materials[%d] %q, cross_secs[%d] %q", mi, c.Name, si, sec.SourceNote)
			m = &c
			combos[[2]int{mi, si}] = m
		}
		g.Meta.ElemMaterial[j] = m
	}
	if anyLayer {
		g.Meta.LayerID = layer
	}
	if len(combos) == 1 {
		for _, m := range combos {
			g.Meta.Material = m
		}
	}
	for k, sr := range supports {
		field := fmt.Sprintf("supports[%d]", k)
		if sr.v.NodeInd == nil {
			return nil, d.errAt(sr.off, ErrMissing, "%s.node_ind: missing", field)
		}
		i, err := lookup(sr.off, field+".node_ind", sr.v.NodeInd)
		if err != nil {
			return nil, err
		}
		c, ok, err := d.fixity(sr.v.Condition, sr.off, field+".condition")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, d.errAt(sr.off, ErrMissing, "%s.condition: missing", field)
		}
		if g.Meta.Fixities == nil {
			g.Meta.Fixities = map[int][6]bool{}
		}
		if _, dup := g.Meta.Fixities[i]; dup {
			return nil, d.errAt(sr.off, ErrDuplicate, "%s: node %d already has a support", field, i)
		}
		g.Meta.Fixities[i] = c
	}
	if opts.Kind != nil {
		g.Kind = *opts.Kind
	}
	return finishGraph(path, g)
}

// jsonRec is a decoded JSON record and the offset where it starts.
type jsonRec[T any] struct {
	v   T
	off int64
}

// tagTable maps element tags to entries of cross_secs / materials.
type tagTableT struct {
	byTag map[string]int
	def   int // -1 = no default
}

func (t tagTableT) lookup(tag string) (int, bool) {
	if i, ok := t.byTag[tag]; ok {
		return i, true
	}
	return t.def, t.def >= 0
}

func tagTable(d *jsonDoc, what string, entries []jsonRec[map[string]json.RawMessage]) (tagTableT, error) {
	t := tagTableT{byTag: map[string]int{}, def: -1}
	for i, e := range entries {
		var tags []string
		raw, ok := e.v["elem_tags"]
		if ok && strings.TrimSpace(string(raw)) != "null" {
			if err := json.Unmarshal(raw, &tags); err != nil {
				return t, d.errAt(e.off, ErrSyntax, "%s[%d].elem_tags: want a list of strings", what, i)
			}
		}
		if len(tags) == 0 {
			if t.def >= 0 {
				return t, d.errAt(e.off, ErrDuplicate, "%s[%d]: second default entry (elem_tags: []) after %s[%d]", what, i, what, t.def)
			}
			t.def = i
			continue
		}
		for _, tag := range tags {
			if j, dup := t.byTag[tag]; dup {
				return t, d.errAt(e.off, ErrDuplicate, "%s[%d]: elem_tag %q already claimed by %s[%d]", what, i, tag, what, j)
			}
			t.byTag[tag] = i
		}
	}
	return t, nil
}
