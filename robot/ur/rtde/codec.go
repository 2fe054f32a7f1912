// Package rtde implements UR's Real-Time Data Exchange protocol (TCP port
// 30004), protocol version 2, as described in spec robot-protocols.md §1:
// the wire codec (framing, data types, recipes) shared by the client in this
// package and the controller simulator in simulation/ursim, and a client
// with a single connection-owning goroutine, latest-state access that never
// blocks the reader, and reconnect with backoff.
//
// Wire format (§1 "Framing"): every package is uint16 size (big-endian,
// counting the 3 header bytes) + uint8 command, then the payload; every
// number is big-endian; fields are packed without padding in recipe order.
package rtde

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// Command is the package type byte (an ASCII letter).
type Command byte

// Package types (spec §1 "Framing").
const (
	CmdRequestProtocolVersion Command = 'V' // 86
	CmdGetURControlVersion    Command = 'v' // 118
	CmdTextMessage            Command = 'M' // 77
	CmdDataPackage            Command = 'U' // 85
	CmdSetupOutputs           Command = 'O' // 79
	CmdSetupInputs            Command = 'I' // 73
	CmdStart                  Command = 'S' // 83
	CmdPause                  Command = 'P' // 80
)

// String returns the UR name of the command.
func (c Command) String() string {
	switch c {
	case CmdRequestProtocolVersion:
		return "REQUEST_PROTOCOL_VERSION"
	case CmdGetURControlVersion:
		return "GET_URCONTROL_VERSION"
	case CmdTextMessage:
		return "TEXT_MESSAGE"
	case CmdDataPackage:
		return "DATA_PACKAGE"
	case CmdSetupOutputs:
		return "CONTROL_PACKAGE_SETUP_OUTPUTS"
	case CmdSetupInputs:
		return "CONTROL_PACKAGE_SETUP_INPUTS"
	case CmdStart:
		return "CONTROL_PACKAGE_START"
	case CmdPause:
		return "CONTROL_PACKAGE_PAUSE"
	}
	return fmt.Sprintf("unknown(0x%02x)", byte(c))
}

// Known reports whether c is one of the eight RTDE package types.
func (c Command) Known() bool {
	switch c {
	case CmdRequestProtocolVersion, CmdGetURControlVersion, CmdTextMessage, CmdDataPackage,
		CmdSetupOutputs, CmdSetupInputs, CmdStart, CmdPause:
		return true
	}
	return false
}

// Protocol limits.
const (
	HeaderSize = 3 // uint16 size + uint8 command
	// MaxPackageSize is the largest package the uint16 size field allows.
	MaxPackageSize = math.MaxUint16
	// MaxRecipeBytes bounds the comma-separated field-name list of a setup
	// request (spec §1: "The recipe names list is limited to 2048 bytes").
	MaxRecipeBytes = 2048
	// ProtocolVersion is the version this package speaks.
	ProtocolVersion = 2
	// MaxFrequencyHz is the e-Series real-time loop rate (§1 "Rate").
	MaxFrequencyHz = 500
)

// Reply type markers of a setup reply (spec §1).
const (
	TypeNotFound = "NOT_FOUND"
	TypeInUse    = "IN_USE"
)

// ErrMalformed is wrapped by every decoding error: the peer sent bytes that
// violate the protocol. The connection should be closed.
var ErrMalformed = errors.New("rtde: malformed package")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// ReadPackage reads one package from r. buf is reused for the payload when
// large enough (pass nil to allocate); the returned payload aliases it. A
// size below the header size or an unknown command byte is ErrMalformed; a
// short read is io.ErrUnexpectedEOF (io.EOF only at a package boundary).
func ReadPackage(r io.Reader, buf []byte) (Command, []byte, error) {
	var hdr [HeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	size := int(binary.BigEndian.Uint16(hdr[:2]))
	cmd := Command(hdr[2])
	if size < HeaderSize {
		return cmd, nil, malformed("size %d below the %d-byte header", size, HeaderSize)
	}
	if !cmd.Known() {
		return cmd, nil, malformed("unknown package type 0x%02x", byte(cmd))
	}
	n := size - HeaderSize
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return cmd, nil, fmt.Errorf("rtde: truncated %s payload (%d bytes announced): %w", cmd, n, err)
	}
	return cmd, buf, nil
}

// AppendPackage appends the framed package (header + payload) to dst.
func AppendPackage(dst []byte, cmd Command, payload []byte) ([]byte, error) {
	size := HeaderSize + len(payload)
	if size > MaxPackageSize {
		return dst, fmt.Errorf("rtde: %s package of %d bytes exceeds %d", cmd, size, MaxPackageSize)
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(size))
	dst = append(dst, byte(cmd))
	return append(dst, payload...), nil
}

// --- protocol version, controller version, accepted flags ---

// EncodeVersionRequest is the V payload: uint16 wanted version.
func EncodeVersionRequest(version uint16) []byte {
	return binary.BigEndian.AppendUint16(nil, version)
}

// DecodeVersionRequest decodes a V request payload.
func DecodeVersionRequest(p []byte) (uint16, error) {
	if len(p) != 2 {
		return 0, malformed("REQUEST_PROTOCOL_VERSION payload of %d bytes, want 2", len(p))
	}
	return binary.BigEndian.Uint16(p), nil
}

// EncodeAccepted is the uint8 accepted (1/0) reply of V, S and P.
func EncodeAccepted(ok bool) []byte {
	if ok {
		return []byte{1}
	}
	return []byte{0}
}

// DecodeAccepted decodes a uint8 accepted reply.
func DecodeAccepted(p []byte) (bool, error) {
	if len(p) != 1 {
		return false, malformed("accepted flag of %d bytes, want 1", len(p))
	}
	return p[0] != 0, nil
}

// ControllerVersion is the GET_URCONTROL_VERSION reply.
type ControllerVersion struct {
	Major, Minor, Bugfix, Build uint32
}

func (v ControllerVersion) String() string {
	return fmt.Sprintf("%d.%d.%d.%d", v.Major, v.Minor, v.Bugfix, v.Build)
}

// Encode returns the 16-byte payload (4 × uint32).
func (v ControllerVersion) Encode() []byte {
	b := make([]byte, 0, 16)
	for _, x := range [4]uint32{v.Major, v.Minor, v.Bugfix, v.Build} {
		b = binary.BigEndian.AppendUint32(b, x)
	}
	return b
}

// DecodeControllerVersion decodes the 16-byte v reply.
func DecodeControllerVersion(p []byte) (ControllerVersion, error) {
	if len(p) != 16 {
		return ControllerVersion{}, malformed("GET_URCONTROL_VERSION reply of %d bytes, want 16", len(p))
	}
	be := binary.BigEndian
	return ControllerVersion{be.Uint32(p), be.Uint32(p[4:]), be.Uint32(p[8:]), be.Uint32(p[12:])}, nil
}

// --- text messages ---

// MessageLevel is the severity of a TEXT_MESSAGE.
type MessageLevel uint8

// Text message levels (spec §1).
const (
	LevelException MessageLevel = 0
	LevelError     MessageLevel = 1
	LevelWarning   MessageLevel = 2
	LevelInfo      MessageLevel = 3
)

func (l MessageLevel) String() string {
	switch l {
	case LevelException:
		return "exception"
	case LevelError:
		return "error"
	case LevelWarning:
		return "warning"
	case LevelInfo:
		return "info"
	}
	return fmt.Sprintf("level(%d)", uint8(l))
}

// TextMessage is a TEXT_MESSAGE in either direction.
type TextMessage struct {
	Message string
	Source  string
	Level   MessageLevel
}

// Encode returns the v2 payload: uint8 msg_len, msg, uint8 src_len, src,
// uint8 level. Message and source are cut to 255 bytes (at a UTF-8
// boundary).
func (m TextMessage) Encode() []byte {
	msg, src := cut255(m.Message), cut255(m.Source)
	b := make([]byte, 0, 3+len(msg)+len(src))
	b = append(b, byte(len(msg)))
	b = append(b, msg...)
	b = append(b, byte(len(src)))
	b = append(b, src...)
	return append(b, byte(m.Level))
}

// EncodeV1 returns the protocol-v1 robot → client layout: uint8 level +
// message text.
func (m TextMessage) EncodeV1() []byte {
	return append([]byte{byte(m.Level)}, m.Message...)
}

func cut255(s string) string {
	if len(s) <= 255 {
		return s
	}
	i := 255
	for i > 0 && s[i]&0xC0 == 0x80 { // do not split a UTF-8 sequence
		i--
	}
	return s[:i]
}

// DecodeTextMessage decodes a v2 TEXT_MESSAGE payload.
func DecodeTextMessage(p []byte) (TextMessage, error) {
	if len(p) < 1 {
		return TextMessage{}, malformed("empty TEXT_MESSAGE")
	}
	n := int(p[0])
	if len(p) < 1+n+1 {
		return TextMessage{}, malformed("TEXT_MESSAGE message length %d exceeds payload %d", n, len(p))
	}
	msg := string(p[1 : 1+n])
	q := p[1+n:]
	s := int(q[0])
	if len(q) != 1+s+1 {
		return TextMessage{}, malformed("TEXT_MESSAGE source length %d does not match payload", s)
	}
	return TextMessage{Message: msg, Source: string(q[1 : 1+s]), Level: MessageLevel(q[1+s])}, nil
}

// --- recipes ---

// EncodeSetupOutputs is the O request: float64 frequency (v2 only) +
// comma-separated names.
func EncodeSetupOutputs(version uint16, frequencyHz float64, names []string) ([]byte, error) {
	list, err := joinNames(names)
	if err != nil {
		return nil, err
	}
	var b []byte
	if version >= 2 {
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(frequencyHz))
	}
	return append(b, list...), nil
}

// DecodeSetupOutputs decodes an O request. For version 1 the frequency is
// returned as 0 (meaning "the maximum rate").
func DecodeSetupOutputs(version uint16, p []byte) (frequencyHz float64, names []string, err error) {
	if version >= 2 {
		if len(p) < 8 {
			return 0, nil, malformed("SETUP_OUTPUTS payload of %d bytes has no frequency", len(p))
		}
		frequencyHz = math.Float64frombits(binary.BigEndian.Uint64(p))
		p = p[8:]
	}
	names, err = splitNames(p)
	return frequencyHz, names, err
}

// EncodeSetupInputs is the I request: comma-separated names.
func EncodeSetupInputs(names []string) ([]byte, error) {
	list, err := joinNames(names)
	return []byte(list), err
}

// DecodeSetupInputs decodes an I request.
func DecodeSetupInputs(p []byte) ([]string, error) { return splitNames(p) }

func joinNames(names []string) (string, error) {
	if len(names) == 0 {
		return "", errors.New("rtde: empty recipe")
	}
	for _, n := range names {
		if n == "" || strings.ContainsAny(n, ", \t\r\n\x00") {
			return "", fmt.Errorf("rtde: invalid field name %q", n)
		}
	}
	list := strings.Join(names, ",")
	if len(list) > MaxRecipeBytes {
		return "", fmt.Errorf("rtde: recipe names list is %d bytes, limit %d", len(list), MaxRecipeBytes)
	}
	return list, nil
}

func splitNames(p []byte) ([]string, error) {
	if len(p) == 0 {
		return nil, malformed("empty recipe")
	}
	if len(p) > MaxRecipeBytes {
		return nil, malformed("recipe names list is %d bytes, limit %d", len(p), MaxRecipeBytes)
	}
	names := strings.Split(string(p), ",")
	for _, n := range names {
		if n == "" {
			return nil, malformed("empty field name in recipe %q", p)
		}
	}
	return names, nil
}

// SetupReply is the reply to O and I: the recipe id and one type name per
// requested field, which may be TypeNotFound or TypeInUse.
type SetupReply struct {
	RecipeID uint8
	Types    []string
}

// Encode returns uint8 recipe id + comma-separated type names.
func (r SetupReply) Encode() []byte {
	return append([]byte{r.RecipeID}, strings.Join(r.Types, ",")...)
}

// DecodeSetupReply decodes an O or I reply. It does not interpret the types.
func DecodeSetupReply(p []byte) (SetupReply, error) {
	if len(p) < 1 {
		return SetupReply{}, malformed("empty setup reply")
	}
	r := SetupReply{RecipeID: p[0]}
	if len(p) > 1 {
		r.Types = strings.Split(string(p[1:]), ",")
	}
	return r, nil
}

// FieldError reports a field the controller refused in a setup reply.
type FieldError struct {
	Field  string
	Reason string // TypeNotFound, TypeInUse or the unknown type string
}

func (e *FieldError) Error() string {
	switch e.Reason {
	case TypeNotFound:
		return fmt.Sprintf("rtde: field %q: NOT_FOUND (the controller does not know this variable)", e.Field)
	case TypeInUse:
		return fmt.Sprintf("rtde: field %q: IN_USE (another RTDE client or a fieldbus owns this input)", e.Field)
	}
	return fmt.Sprintf("rtde: field %q: unknown type %q in setup reply", e.Field, e.Reason)
}

// Sentinels matched by errors.Is on *FieldError.
var (
	ErrNotFound = errors.New("rtde: NOT_FOUND")
	ErrInUse    = errors.New("rtde: IN_USE")
)

// Is makes errors.Is(err, ErrNotFound / ErrInUse) work.
func (e *FieldError) Is(target error) bool {
	return (target == ErrNotFound && e.Reason == TypeNotFound) || (target == ErrInUse && e.Reason == TypeInUse)
}

// ParseRecipe turns a setup reply into a recipe for the requested names.
// Every NOT_FOUND / IN_USE / unknown type becomes a *FieldError (joined when
// several fields fail); a count mismatch is ErrMalformed.
func ParseRecipe(names []string, reply SetupReply) (*Recipe, error) {
	if len(reply.Types) != len(names) {
		return nil, malformed("setup reply has %d types for %d fields", len(reply.Types), len(names))
	}
	types := make([]DataType, len(names))
	var errs []error
	for i, t := range reply.Types {
		dt, ok := ParseDataType(t)
		if !ok {
			errs = append(errs, &FieldError{Field: names[i], Reason: t})
			continue
		}
		types[i] = dt
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return NewRecipe(reply.RecipeID, names, types)
}

// Recipe is an accepted output or input recipe: id, field names and types
// in package order. It is immutable once built.
type Recipe struct {
	ID    uint8
	Names []string
	Types []DataType
	size  int
	index map[string]int
}

// NewRecipe builds a recipe; names and types must have equal length.
func NewRecipe(id uint8, names []string, types []DataType) (*Recipe, error) {
	if len(names) != len(types) {
		return nil, fmt.Errorf("rtde: %d names but %d types", len(names), len(types))
	}
	r := &Recipe{ID: id, Names: append([]string(nil), names...), Types: append([]DataType(nil), types...), index: make(map[string]int, len(names))}
	for i, n := range names {
		if !types[i].Valid() {
			return nil, fmt.Errorf("rtde: field %q has invalid type %d", n, types[i])
		}
		r.size += types[i].Size()
		if _, dup := r.index[n]; !dup {
			r.index[n] = i
		}
	}
	if 1+r.size > MaxPackageSize-HeaderSize {
		return nil, fmt.Errorf("rtde: recipe data of %d bytes does not fit a package", r.size)
	}
	return r, nil
}

// Index returns the position of a field, or -1.
func (r *Recipe) Index(name string) int {
	if i, ok := r.index[name]; ok {
		return i
	}
	return -1
}

// DataSize is the packed size of the fields (without the recipe id byte).
func (r *Recipe) DataSize() int { return r.size }

// TypeString is the comma-separated type list as the controller replies it.
func (r *Recipe) TypeString() string {
	s := make([]string, len(r.Types))
	for i, t := range r.Types {
		s[i] = t.String()
	}
	return strings.Join(s, ",")
}

// Pack appends a DATA_PACKAGE payload (recipe id + packed fields) to dst.
// Every value must have its field's type.
func (r *Recipe) Pack(dst []byte, values []Value) ([]byte, error) {
	if len(values) != len(r.Types) {
		return dst, fmt.Errorf("rtde: recipe %d has %d fields, got %d values", r.ID, len(r.Types), len(values))
	}
	for i, v := range values {
		if v.typ != r.Types[i] {
			return dst, fmt.Errorf("rtde: field %q is %s, value is %s", r.Names[i], r.Types[i], v.typ)
		}
	}
	dst = append(dst, r.ID)
	for _, v := range values {
		dst = v.appendTo(dst)
	}
	return dst, nil
}

// Unpack decodes a DATA_PACKAGE payload into values (resized to the field
// count; pass a reused slice to avoid allocation). The recipe id and the
// exact length are checked.
func (r *Recipe) Unpack(p []byte, values []Value) ([]Value, error) {
	if len(p) < 1 {
		return values, malformed("empty DATA_PACKAGE")
	}
	if p[0] != r.ID {
		return values, malformed("DATA_PACKAGE for recipe %d, expected %d", p[0], r.ID)
	}
	if len(p)-1 != r.size {
		return values, malformed("DATA_PACKAGE for recipe %d has %d data bytes, recipe needs %d", r.ID, len(p)-1, r.size)
	}
	if cap(values) < len(r.Types) {
		values = make([]Value, len(r.Types))
	}
	values = values[:len(r.Types)]
	p = p[1:]
	for i, t := range r.Types {
		n := t.Size()
		values[i] = decodeValue(t, p[:n])
		p = p[n:]
	}
	return values, nil
}

// --- data types and values ---

// DataType is an RTDE field type (spec §1 "Data types and sizes").
type DataType uint8

// RTDE data types. The zero value is invalid.
const (
	Bool DataType = iota + 1
	Uint8
	Uint32
	Uint64
	Int32
	Double
	Vector3D
	Vector6D
	Vector6Int32
	Vector6Uint32
)

var typeNames = [...]string{"", "BOOL", "UINT8", "UINT32", "UINT64", "INT32", "DOUBLE", "VECTOR3D", "VECTOR6D", "VECTOR6INT32", "VECTOR6UINT32"}
var typeSizes = [...]int{0, 1, 1, 4, 8, 4, 8, 24, 48, 24, 24}

// Valid reports whether t is one of the ten types.
func (t DataType) Valid() bool { return t >= Bool && t <= Vector6Uint32 }

// String is the wire name ("VECTOR6D").
func (t DataType) String() string {
	if !t.Valid() {
		return fmt.Sprintf("DataType(%d)", uint8(t))
	}
	return typeNames[t]
}

// Size is the packed size in bytes.
func (t DataType) Size() int {
	if !t.Valid() {
		return 0
	}
	return typeSizes[t]
}

// ParseDataType maps a wire name to a type.
func ParseDataType(s string) (DataType, bool) {
	for i := Bool; i <= Vector6Uint32; i++ {
		if typeNames[i] == s {
			return i, true
		}
	}
	return 0, false
}

// Value is one typed field value. It is a small value type (no
// allocation); the zero Value has no type and packs into nothing.
// Accessors return the zero value of their kind when the type differs.
type Value struct {
	typ DataType
	w   [6]uint64
}

// Constructors, one per data type.
func BoolValue(b bool) Value {
	v := Value{typ: Bool}
	if b {
		v.w[0] = 1
	}
	return v
}
func Uint8Value(x uint8) Value   { return Value{typ: Uint8, w: [6]uint64{uint64(x)}} }
func Uint32Value(x uint32) Value { return Value{typ: Uint32, w: [6]uint64{uint64(x)}} }
func Uint64Value(x uint64) Value { return Value{typ: Uint64, w: [6]uint64{x}} }
func Int32Value(x int32) Value   { return Value{typ: Int32, w: [6]uint64{uint64(uint32(x))}} }
func DoubleValue(x float64) Value {
	return Value{typ: Double, w: [6]uint64{math.Float64bits(x)}}
}
func Vector3DValue(x [3]float64) Value {
	v := Value{typ: Vector3D}
	for i, f := range x {
		v.w[i] = math.Float64bits(f)
	}
	return v
}
func Vector6DValue(x [6]float64) Value {
	v := Value{typ: Vector6D}
	for i, f := range x {
		v.w[i] = math.Float64bits(f)
	}
	return v
}
func Vector6Int32Value(x [6]int32) Value {
	v := Value{typ: Vector6Int32}
	for i, f := range x {
		v.w[i] = uint64(uint32(f))
	}
	return v
}
func Vector6Uint32Value(x [6]uint32) Value {
	v := Value{typ: Vector6Uint32}
	for i, f := range x {
		v.w[i] = uint64(f)
	}
	return v
}

// Type returns the value's data type.
func (v Value) Type() DataType { return v.typ }

// Bool returns a BOOL value.
func (v Value) Bool() bool { return v.typ == Bool && v.w[0] != 0 }

// Uint returns a BOOL, UINT8, UINT32 or UINT64 value.
func (v Value) Uint() uint64 {
	switch v.typ {
	case Bool, Uint8, Uint32, Uint64:
		return v.w[0]
	}
	return 0
}

// Int returns an INT32 value.
func (v Value) Int() int32 {
	if v.typ == Int32 {
		return int32(uint32(v.w[0]))
	}
	return 0
}

// Float returns a DOUBLE value.
func (v Value) Float() float64 {
	if v.typ == Double {
		return math.Float64frombits(v.w[0])
	}
	return 0
}

// Vec3 returns a VECTOR3D value.
func (v Value) Vec3() [3]float64 {
	var r [3]float64
	if v.typ == Vector3D {
		for i := range r {
			r[i] = math.Float64frombits(v.w[i])
		}
	}
	return r
}

// Vec6 returns a VECTOR6D value.
func (v Value) Vec6() [6]float64 {
	var r [6]float64
	if v.typ == Vector6D {
		for i := range r {
			r[i] = math.Float64frombits(v.w[i])
		}
	}
	return r
}

// Vec6Int32 returns a VECTOR6INT32 value.
func (v Value) Vec6Int32() [6]int32 {
	var r [6]int32
	if v.typ == Vector6Int32 {
		for i := range r {
			r[i] = int32(uint32(v.w[i]))
		}
	}
	return r
}

// Vec6Uint32 returns a VECTOR6UINT32 value.
func (v Value) Vec6Uint32() [6]uint32 {
	var r [6]uint32
	if v.typ == Vector6Uint32 {
		for i := range r {
			r[i] = uint32(v.w[i])
		}
	}
	return r
}

// Scalars returns the value as float64 components (1, 3 or 6), for CSV
// and logs.
func (v Value) Scalars() []float64 {
	switch v.typ {
	case Bool, Uint8, Uint32, Uint64:
		return []float64{float64(v.w[0])}
	case Int32:
		return []float64{float64(v.Int())}
	case Double:
		return []float64{v.Float()}
	case Vector3D:
		x := v.Vec3()
		return x[:]
	case Vector6D:
		x := v.Vec6()
		return x[:]
	case Vector6Int32:
		x := v.Vec6Int32()
		out := make([]float64, 6)
		for i := range x {
			out[i] = float64(x[i])
		}
		return out
	case Vector6Uint32:
		x := v.Vec6Uint32()
		out := make([]float64, 6)
		for i := range x {
			out[i] = float64(x[i])
		}
		return out
	}
	return nil
}

func (v Value) String() string {
	if !v.typ.Valid() {
		return "<invalid>"
	}
	s := v.Scalars()
	if len(s) == 1 {
		if v.typ == Bool {
			return fmt.Sprint(v.Bool())
		}
		return fmt.Sprint(s[0])
	}
	return fmt.Sprint(s)
}

func (v Value) appendTo(b []byte) []byte {
	be := binary.BigEndian
	switch v.typ {
	case Bool:
		if v.w[0] != 0 {
			return append(b, 1)
		}
		return append(b, 0)
	case Uint8:
		return append(b, byte(v.w[0]))
	case Uint32, Int32:
		return be.AppendUint32(b, uint32(v.w[0]))
	case Uint64, Double:
		return be.AppendUint64(b, v.w[0])
	case Vector3D:
		for i := 0; i < 3; i++ {
			b = be.AppendUint64(b, v.w[i])
		}
	case Vector6D:
		for i := 0; i < 6; i++ {
			b = be.AppendUint64(b, v.w[i])
		}
	case Vector6Int32, Vector6Uint32:
		for i := 0; i < 6; i++ {
			b = be.AppendUint32(b, uint32(v.w[i]))
		}
	}
	return b
}

// decodeValue decodes len(p) == t.Size() bytes.
func decodeValue(t DataType, p []byte) Value {
	be := binary.BigEndian
	v := Value{typ: t}
	switch t {
	case Bool:
		if p[0] != 0 {
			v.w[0] = 1
		}
	case Uint8:
		v.w[0] = uint64(p[0])
	case Uint32, Int32:
		v.w[0] = uint64(be.Uint32(p))
	case Uint64, Double:
		v.w[0] = be.Uint64(p)
	case Vector3D, Vector6D:
		for i := 0; i < len(p)/8; i++ {
			v.w[i] = be.Uint64(p[8*i:])
		}
	case Vector6Int32, Vector6Uint32:
		for i := 0; i < 6; i++ {
			v.w[i] = uint64(be.Uint32(p[4*i:]))
		}
	}
	return v
}

// Convert returns x as a Value of type t when the conversion is exact
// (e.g. an int for an INT32 or DOUBLE field, a bool for BOOL). It is the
// typed packing used by the client's input setters.
func Convert(t DataType, x any) (Value, error) {
	bad := func() (Value, error) { return Value{}, fmt.Errorf("rtde: cannot store %T %v in a %s field", x, x, t) }
	switch t {
	case Bool:
		if b, ok := x.(bool); ok {
			return BoolValue(b), nil
		}
		return bad()
	case Double:
		switch f := x.(type) {
		case float64:
			return DoubleValue(f), nil
		case float32:
			return DoubleValue(float64(f)), nil
		}
		if i, ok := asInt(x); ok && float64(int64(float64(i))) == float64(i) {
			return DoubleValue(float64(i)), nil
		}
		return bad()
	case Uint8, Uint32, Uint64, Int32:
		i, ok := asInt(x)
		if !ok {
			if u, isU := x.(uint64); isU && t == Uint64 {
				return Uint64Value(u), nil
			}
			return bad()
		}
		switch {
		case t == Uint8 && i >= 0 && i <= math.MaxUint8:
			return Uint8Value(uint8(i)), nil
		case t == Uint32 && i >= 0 && i <= math.MaxUint32:
			return Uint32Value(uint32(i)), nil
		case t == Uint64 && i >= 0:
			return Uint64Value(uint64(i)), nil
		case t == Int32 && i >= math.MinInt32 && i <= math.MaxInt32:
			return Int32Value(int32(i)), nil
		}
		return Value{}, fmt.Errorf("rtde: %d out of range for %s", i, t)
	case Vector3D:
		if a, ok := x.([3]float64); ok {
			return Vector3DValue(a), nil
		}
		return bad()
	case Vector6D:
		if a, ok := x.([6]float64); ok {
			return Vector6DValue(a), nil
		}
		return bad()
	case Vector6Int32:
		if a, ok := x.([6]int32); ok {
			return Vector6Int32Value(a), nil
		}
		return bad()
	case Vector6Uint32:
		if a, ok := x.([6]uint32); ok {
			return Vector6Uint32Value(a), nil
		}
		return bad()
	}
	return bad()
}

func asInt(x any) (int64, bool) {
	switch i := x.(type) {
	case int:
		return int64(i), true
	case int8:
		return int64(i), true
	case int16:
		return int64(i), true
	case int32:
		return int64(i), true
	case int64:
		return i, true
	case uint:
		if uint64(i) <= math.MaxInt64 {
			return int64(i), true
		}
	case uint8:
		return int64(i), true
	case uint16:
		return int64(i), true
	case uint32:
		return int64(i), true
	case uint64:
		if i <= math.MaxInt64 {
			return int64(i), true
		}
	}
	return 0, false
}
