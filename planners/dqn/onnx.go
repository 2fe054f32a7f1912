package dqn

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// ONNX export. The protobuf messages of onnx.proto (ModelProto, GraphProto,
// NodeProto, AttributeProto, TensorProto, ValueInfoProto, TypeProto,
// TensorShapeProto) are written directly with protowire; only the fields
// below are used.
const (
	onnxIRVersion = 7  // ONNX 1.8 IR, supports opset 13
	onnxOpset     = 13 // default domain
	// ModelProto
	fModelIRVersion     = 1
	fModelProducerName  = 2
	fModelProducerVer   = 3
	fModelDocString     = 6
	fModelGraph         = 7
	fModelOpsetImport   = 8
	fModelMetadataProps = 14
	// OperatorSetIdProto
	fOpsetDomain  = 1
	fOpsetVersion = 2
	// StringStringEntryProto
	fEntryKey   = 1
	fEntryValue = 2
	// GraphProto
	fGraphNode        = 1
	fGraphName        = 2
	fGraphInitializer = 5
	fGraphInput       = 11
	fGraphOutput      = 12
	// NodeProto
	fNodeInput     = 1
	fNodeOutput    = 2
	fNodeName      = 3
	fNodeOpType    = 4
	fNodeAttribute = 5
	// AttributeProto
	fAttrName = 1
	fAttrF    = 2
	fAttrI    = 3
	fAttrInts = 8
	fAttrType = 20
	attrFloat = 1
	attrInt   = 2
	attrInts  = 7
	// TensorProto
	fTensorDims     = 1
	fTensorDataType = 2
	fTensorName     = 8
	fTensorRawData  = 9
	dtFloat         = 1
	dtInt64         = 7
	// ValueInfoProto / TypeProto / TypeProto.Tensor / TensorShapeProto / Dimension
	fValueName      = 1
	fValueType      = 2
	fTypeTensor     = 1
	fTensorElemType = 1
	fTensorShape    = 2
	fShapeDim       = 1
	fDimValue       = 1
)

// ONNX graph interface names.
const (
	// ONNXInputState is the state input, float32 [1, Channels, N+ExtraRows, N].
	ONNXInputState = "state"
	// ONNXInputMask is the node mask input, float32 [1, N]: 1 for the Active
	// real LSG nodes (indices < Active), 0 for padding.
	ONNXInputMask = "mask"
	// ONNXOutputQ is the output, float32 [1, N], 0 at masked nodes.
	ONNXOutputQ = "q"
)

// onnxGraph accumulates the serialized parts of a GraphProto.
type onnxGraph struct {
	nodes, inits []byte
	count        int
}

func appendMsg(b []byte, field protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

func appendStr(b []byte, field protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendVarint(b []byte, field protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, field, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// attr is one NodeProto attribute (a float, an int, or a list of ints).
type attr struct {
	name string
	typ  int
	f    float32
	i    int64
	ints []int64
}

func (a attr) encode() []byte {
	var b []byte
	b = appendStr(b, fAttrName, a.name)
	switch a.typ {
	case attrFloat:
		b = protowire.AppendTag(b, fAttrF, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.f))
	case attrInt:
		b = appendVarint(b, fAttrI, uint64(a.i))
	case attrInts:
		for _, v := range a.ints {
			b = appendVarint(b, fAttrInts, uint64(v))
		}
	}
	return appendVarint(b, fAttrType, uint64(a.typ))
}

// node appends a NodeProto and returns its (single) output name.
func (g *onnxGraph) node(op string, out string, inputs []string, attrs ...attr) string {
	g.count++
	if out == "" {
		out = fmt.Sprintf("t%d_%s", g.count, op)
	}
	var b []byte
	for _, in := range inputs {
		b = appendStr(b, fNodeInput, in)
	}
	b = appendStr(b, fNodeOutput, out)
	b = appendStr(b, fNodeName, fmt.Sprintf("n%d_%s", g.count, op))
	b = appendStr(b, fNodeOpType, op)
	for _, a := range attrs {
		b = appendMsg(b, fNodeAttribute, a.encode())
	}
	g.nodes = appendMsg(g.nodes, fGraphNode, b)
	return out
}

func tensorHeader(name string, dt int, dims []int64) []byte {
	var b []byte
	for _, d := range dims {
		b = appendVarint(b, fTensorDims, uint64(d))
	}
	b = appendVarint(b, fTensorDataType, uint64(dt))
	return appendStr(b, fTensorName, name)
}

// floatInit adds a float32 initializer (values rounded from float64).
func (g *onnxGraph) floatInit(name string, dims []int64, v []float64) string {
	b := tensorHeader(name, dtFloat, dims)
	raw := make([]byte, 0, 4*len(v))
	for _, x := range v {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(float32(x)))
	}
	b = protowire.AppendTag(b, fTensorRawData, protowire.BytesType)
	b = protowire.AppendBytes(b, raw)
	g.inits = appendMsg(g.inits, fGraphInitializer, b)
	return name
}

// int64Init adds an int64 initializer (shapes for Reshape).
func (g *onnxGraph) int64Init(name string, v ...int64) string {
	b := tensorHeader(name, dtInt64, []int64{int64(len(v))})
	raw := make([]byte, 0, 8*len(v))
	for _, x := range v {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(x))
	}
	b = protowire.AppendTag(b, fTensorRawData, protowire.BytesType)
	b = protowire.AppendBytes(b, raw)
	g.inits = appendMsg(g.inits, fGraphInitializer, b)
	return name
}

func valueInfo(name string, dims ...int64) []byte {
	var shape []byte
	for _, d := range dims {
		shape = appendMsg(shape, fShapeDim, appendVarint(nil, fDimValue, uint64(d)))
	}
	var tt []byte
	tt = appendVarint(tt, fTensorElemType, dtFloat)
	tt = appendMsg(tt, fTensorShape, shape)
	var b []byte
	b = appendStr(b, fValueName, name)
	return appendMsg(b, fValueType, appendMsg(nil, fTypeTensor, tt))
}

// act appends the network activation.
func (g *onnxGraph) act(x string, slope float64) string {
	if slope == 0 {
		return g.node("Relu", "", []string{x})
	}
	return g.node("LeakyRelu", "", []string{x}, attr{name: "alpha", typ: attrFloat, f: float32(slope)})
}

// ExportONNX writes the network as an ONNX model (IR 7, opset 13, float32
// weights) to w. Inputs: "state" float32 [1, Channels, N+ExtraRows, N] and
// "mask" float32 [1, N] (1 for real nodes i < Active, 0 for padding); output
// "q" float32 [1, N] with zeros at padded nodes. The masking of the Go
// passes (package doc) is expressed by multiplying with the row and column
// masks after every layer. E2E (Eq. 14) is two batched MatMuls over the
// input channels (row filter X_m·R_mᵀ, column filter C_m·X_m) reduced over
// channels and broadcast-added; E2N (Eq. 15) a batched MatMul reduced over
// channels (with E2NColumn plus the column term, a second one, zero for the
// feature rows); the fully connected layers are Gemm nodes. (MatMul rather than
// Conv with 1×N kernels: onnxruntime ran it 1.3–2.5× faster here.)
// onnxruntime evaluates the full padded tensor, so it is slower than
// Net.Forward, which skips the padding; it serves interoperability and
// cross-checking.
func (n *Net) ExportONNX(w io.Writer) error {
	if n.params == nil {
		return errors.New("dqn: ExportONNX of a zero Net")
	}
	for i, v := range n.params {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("dqn: ExportONNX: parameter %d is %v", i, v)
		}
	}
	c, l := n.cfg, n.lay
	N, R, E := int64(c.N), int64(c.rows()), int64(c.ExtraRows)
	g := &onnxGraph{}

	// The network runs on [channels, R, N] tensors (batch dimension dropped).
	// Masks: column mask [1,1,N]; row mask [1,R,1] = mask followed by
	// ExtraRows ones (feature rows are always real rows).
	colMask := g.node("Reshape", "col_mask", []string{ONNXInputMask, g.int64Init("shape_col", 1, 1, N)})
	rowVec := g.node("Reshape", "", []string{ONNXInputMask, g.int64Init("shape_vec", N)})
	if E > 0 {
		ones := make([]float64, E)
		for i := range ones {
			ones[i] = 1
		}
		rowVec = g.node("Concat", "", []string{rowVec, g.floatInit("extra_ones", []int64{E}, ones)},
			attr{name: "axis", typ: attrInt, i: 0})
	}
	rowMask := g.node("Reshape", "row_mask", []string{rowVec, g.int64Init("shape_row", 1, R, 1)})
	mask2 := func(x string) string {
		return g.node("Mul", "", []string{g.node("Mul", "", []string{x, rowMask}), colMask})
	}
	axis0 := g.int64Init("axis0", 0)
	sum0 := func(x string) string { // ReduceSum over the input-channel axis
		return g.node("ReduceSum", "", []string{x, axis0}, attr{name: "keepdims", typ: attrInt, i: 0})
	}
	transpose := func(x string) string {
		return g.node("Transpose", "", []string{x}, attr{name: "perm", typ: attrInts, ints: []int64{1, 0}})
	}
	// kMajor returns w[m][p][k] (offset off, K = kLen) re-ordered to
	// [m][k][p], the right operand of a batched MatMul.
	kMajor := func(off, M, P, kLen int) []float64 {
		out := make([]float64, M*P*kLen)
		for m := 0; m < M; m++ {
			for p := 0; p < P; p++ {
				for k := 0; k < kLen; k++ {
					out[(m*kLen+k)*P+p] = n.params[off+(m*P+p)*kLen+k]
				}
			}
		}
		return out
	}

	x := mask2(g.node("Reshape", "", []string{ONNXInputState,
		g.int64Init("shape_state", int64(c.Channels), R, N)}))
	for li, e := range []e2eParams{l.e1, l.e2} {
		P, M := int64(e.out), int64(e.in)
		pfx := fmt.Sprintf("e2e%d_", li+1)
		// Row filter: Σ_m X_m·R_mᵀ → [R, P] → [P, R, 1].
		wr := g.floatInit(pfx+"row_w", []int64{M, N, P}, kMajor(e.r, e.in, e.out, c.N))
		rowPart := g.node("Reshape", "", []string{transpose(sum0(g.node("MatMul", "", []string{x, wr}))),
			g.int64Init(pfx+"shape_rowpart", P, R, 1)})
		// Column filter: Σ_m C_m·X_m → [P, N] → [P, 1, N].
		wc := g.floatInit(pfx+"col_w", []int64{M, P, R}, n.params[e.c:e.c+e.in*e.out*c.rows()])
		colPart := g.node("Reshape", "", []string{sum0(g.node("MatMul", "", []string{wc, x})),
			g.int64Init(pfx+"shape_colpart", P, 1, N)})
		bias := g.floatInit(pfx+"b", []int64{P, 1, 1}, n.params[e.b:e.b+e.out])
		sum := g.node("Add", "", []string{g.node("Add", "", []string{rowPart, colPart}), bias})
		x = mask2(g.act(sum, c.LeakySlope))
	}

	// E2N: Σ_m H_m·W_mᵀ → [R, E2N] → [E2N, R]; with E2NColumn plus the
	// column term Σ_m U_m·H_m → [E2N, N], zero for the feature rows; + b.
	P, M := int64(l.nOut), int64(l.nIn)
	wn := g.floatInit("e2n_w", []int64{M, N, P}, kMajor(l.nW, l.nIn, l.nOut, c.N))
	e2n := transpose(sum0(g.node("MatMul", "", []string{x, wn})))
	if l.nU >= 0 {
		wu := g.floatInit("e2n_col_w", []int64{M, P, R}, n.params[l.nU:l.nU+l.nIn*l.nOut*c.rows()])
		col := sum0(g.node("MatMul", "", []string{wu, x}))
		if E > 0 {
			col = g.node("Concat", "", []string{col, g.floatInit("e2n_col_pad", []int64{P, E}, make([]float64, P*E))},
				attr{name: "axis", typ: attrInt, i: 1})
		}
		e2n = g.node("Add", "", []string{e2n, col})
	}
	x = g.node("Add", "", []string{e2n, g.floatInit("e2n_b", []int64{P, 1}, n.params[l.nB:l.nB+l.nOut])})
	x = g.act(x, c.LeakySlope)
	x = g.node("Mul", "", []string{x, g.node("Reshape", "", []string{rowVec, g.int64Init("shape_row2", 1, R)})})
	x = g.node("Reshape", "", []string{x, g.int64Init("shape_flat", 1, P*R)})

	// Fully connected layers.
	K, H := P*R, int64(c.Hidden)
	transB := attr{name: "transB", typ: attrInt, i: 1}
	x = g.node("Gemm", "", []string{x,
		g.floatInit("fc1_w", []int64{H, K}, n.params[l.f1W:l.f1W+int(H*K)]),
		g.floatInit("fc1_b", []int64{H}, n.params[l.f1B:l.f1B+int(H)])}, transB)
	x = g.act(x, c.LeakySlope)
	x = g.node("Gemm", "", []string{x,
		g.floatInit("fc2_w", []int64{N, H}, n.params[l.f2W:l.f2W+int(N*H)]),
		g.floatInit("fc2_b", []int64{N}, n.params[l.f2B:l.f2B+int(N)])}, transB)
	g.node("Mul", ONNXOutputQ, []string{x, ONNXInputMask})

	var graph []byte
	graph = append(graph, g.nodes...)
	graph = appendStr(graph, fGraphName, "fabcell_lsg_dqn")
	graph = append(graph, g.inits...)
	graph = appendMsg(graph, fGraphInput, valueInfo(ONNXInputState, 1, int64(c.Channels), R, N))
	graph = appendMsg(graph, fGraphInput, valueInfo(ONNXInputMask, 1, N))
	graph = appendMsg(graph, fGraphOutput, valueInfo(ONNXOutputQ, 1, N))

	meta, err := json.Marshal(onnxMeta{
		N: c.N, Channels: c.Channels, ExtraRows: c.ExtraRows, E2E: c.E2E, E2N: c.E2N,
		E2NColumn: c.E2NColumn, Hidden: c.Hidden, LeakySlope: c.LeakySlope,
	})
	if err != nil {
		return fmt.Errorf("dqn: ExportONNX: %w", err)
	}
	var model []byte
	model = appendVarint(model, fModelIRVersion, onnxIRVersion)
	model = appendStr(model, fModelProducerName, "fabcell")
	model = appendStr(model, fModelProducerVer, "dqn/1")
	model = appendStr(model, fModelDocString, "LSG-DQN Q-network (Huang et al. 2024, Eqs. 14-15): 2xE2E, E2N, 2xFC; masked zero padding")
	model = appendMsg(model, fModelGraph, graph)
	var opset []byte
	opset = appendStr(opset, fOpsetDomain, "")
	opset = appendVarint(opset, fOpsetVersion, onnxOpset)
	model = appendMsg(model, fModelOpsetImport, opset)
	var entry []byte
	entry = appendStr(entry, fEntryKey, onnxMetaKey)
	entry = appendStr(entry, fEntryValue, string(meta))
	model = appendMsg(model, fModelMetadataProps, entry)
	if _, err := w.Write(model); err != nil {
		return fmt.Errorf("dqn: ExportONNX: %w", err)
	}
	return nil
}

// onnxMetaKey names the metadata entry holding the network shape as JSON.
const onnxMetaKey = "fabcell.dqn.config"

type onnxMeta struct {
	N          int     `json:"n"`
	Channels   int     `json:"channels"`
	ExtraRows  int     `json:"extra_rows"`
	E2E        [2]int  `json:"e2e"`
	E2N        int     `json:"e2n"`
	E2NColumn  bool    `json:"e2n_column"`
	Hidden     int     `json:"hidden"`
	LeakySlope float64 `json:"leaky_slope"`
}
