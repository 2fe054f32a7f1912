package mes

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Sparkplug B payload encoding: the Eclipse Tahu Payload message
// (sparkplug_b.proto, Sparkplug 3.0.0 §6.4), hand-encoded with protowire.
// Only the fields fabcell uses are written; the decoder reads every scalar
// value kind and skips the rest (datasets, templates, properties).
//
//	message Payload { uint64 timestamp = 1; repeated Metric metrics = 2; uint64 seq = 3; string uuid = 4; bytes body = 5; }
//	message Metric  { string name = 1; uint64 alias = 2; uint64 timestamp = 3; uint32 datatype = 4;
//	                  bool is_historical = 5; bool is_transient = 6; bool is_null = 7; ...
//	                  oneof value { uint32 int_value = 10; uint64 long_value = 11; float float_value = 12;
//	                                double double_value = 13; bool boolean_value = 14; string string_value = 15;
//	                                bytes bytes_value = 16; ... } }

// Sparkplug B data types (Tahu DataType enum).
const (
	SpInt8     uint32 = 1
	SpInt16    uint32 = 2
	SpInt32    uint32 = 3
	SpInt64    uint32 = 4
	SpUInt8    uint32 = 5
	SpUInt16   uint32 = 6
	SpUInt32   uint32 = 7
	SpUInt64   uint32 = 8
	SpFloat    uint32 = 9
	SpDouble   uint32 = 10
	SpBoolean  uint32 = 11
	SpString   uint32 = 12
	SpDateTime uint32 = 13
	SpText     uint32 = 14
)

// SpMetric is one Sparkplug metric. Value is int64 (integer types and
// DateTime), uint64 (UInt64), float32, float64, bool or string; nil with
// IsNull.
type SpMetric struct {
	Name      string
	Alias     uint64
	Timestamp uint64 // ms since the Unix epoch
	DataType  uint32
	IsNull    bool
	Value     any
}

// SpPayload is a Sparkplug B payload.
type SpPayload struct {
	Timestamp uint64 // ms since the Unix epoch
	Metrics   []SpMetric
	Seq       uint64
	HasSeq    bool
}

// MarshalSparkplug encodes p as a Tahu Payload.
func MarshalSparkplug(p SpPayload) ([]byte, error) {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, p.Timestamp)
	for _, m := range p.Metrics {
		mb, err := marshalMetric(m)
		if err != nil {
			return nil, err
		}
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, mb)
	}
	if p.HasSeq {
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, p.Seq)
	}
	return b, nil
}

func marshalMetric(m SpMetric) ([]byte, error) {
	var b []byte
	if m.Name != "" {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, m.Name)
	}
	if m.Alias != 0 {
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, m.Alias)
	}
	if m.Timestamp != 0 {
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, m.Timestamp)
	}
	b = protowire.AppendTag(b, 4, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(m.DataType))
	if m.IsNull || m.Value == nil {
		b = protowire.AppendTag(b, 7, protowire.VarintType)
		return protowire.AppendVarint(b, 1), nil
	}
	bad := func() error {
		return fmt.Errorf("sparkplug metric %q: %T value for datatype %d", m.Name, m.Value, m.DataType)
	}
	switch m.DataType {
	case SpInt8, SpInt16, SpInt32, SpUInt8, SpUInt16, SpUInt32:
		v, ok := m.Value.(int64)
		if !ok {
			return nil, bad()
		}
		b = protowire.AppendTag(b, 10, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(uint32(v)))
	case SpInt64, SpDateTime:
		v, ok := m.Value.(int64)
		if !ok {
			return nil, bad()
		}
		b = protowire.AppendTag(b, 11, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(v))
	case SpUInt64:
		v, ok := m.Value.(uint64)
		if !ok {
			return nil, bad()
		}
		b = protowire.AppendTag(b, 11, protowire.VarintType)
		b = protowire.AppendVarint(b, v)
	case SpFloat:
		v, ok := m.Value.(float32)
		if !ok {
			return nil, bad()
		}
		b = protowire.AppendTag(b, 12, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(v))
	case SpDouble:
		v, ok := m.Value.(float64)
		if !ok {
			return nil, bad()
		}
		b = protowire.AppendTag(b, 13, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(v))
	case SpBoolean:
		v, ok := m.Value.(bool)
		if !ok {
			return nil, bad()
		}
		b = protowire.AppendTag(b, 14, protowire.VarintType)
		b = protowire.AppendVarint(b, protowire.EncodeBool(v))
	case SpString, SpText:
		v, ok := m.Value.(string)
		if !ok {
			return nil, bad()
		}
		b = protowire.AppendTag(b, 15, protowire.BytesType)
		b = protowire.AppendString(b, v)
	default:
		return nil, fmt.Errorf("sparkplug metric %q: unsupported datatype %d", m.Name, m.DataType)
	}
	return b, nil
}

var errSpTruncated = errors.New("sparkplug payload: truncated or malformed protobuf")

// UnmarshalSparkplug decodes a Tahu Payload (unknown fields skipped).
func UnmarshalSparkplug(b []byte) (SpPayload, error) {
	var p SpPayload
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return p, errSpTruncated
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return p, errSpTruncated
			}
			p.Timestamp, b = v, b[n:]
		case num == 2 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return p, errSpTruncated
			}
			m, err := unmarshalMetric(v)
			if err != nil {
				return p, err
			}
			p.Metrics = append(p.Metrics, m)
			b = b[n:]
		case num == 3 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return p, errSpTruncated
			}
			p.Seq, p.HasSeq, b = v, true, b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return p, errSpTruncated
			}
			b = b[n:]
		}
	}
	return p, nil
}

func unmarshalMetric(b []byte) (SpMetric, error) {
	var (
		m      SpMetric
		valNum protowire.Number // field number of the value (0 = none)
		valU   uint64
		valS   []byte
	)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return m, errSpTruncated
		}
		b = b[n:]
		var (
			u   uint64
			s   []byte
			ok  = true
			adv int
		)
		switch typ {
		case protowire.VarintType:
			u, adv = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, adv = protowire.ConsumeFixed32(b)
			u = uint64(v)
		case protowire.Fixed64Type:
			u, adv = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			s, adv = protowire.ConsumeBytes(b)
		default:
			adv = protowire.ConsumeFieldValue(num, typ, b)
			ok = false
		}
		if adv < 0 {
			return m, errSpTruncated
		}
		b = b[adv:]
		if !ok {
			continue
		}
		switch num {
		case 1:
			m.Name = string(s)
		case 2:
			m.Alias = u
		case 3:
			m.Timestamp = u
		case 4:
			m.DataType = uint32(u)
		case 7:
			m.IsNull = u != 0
		case 10, 11, 12, 13, 14, 15, 16:
			valNum, valU, valS = num, u, s
		}
	}
	// The value is interpreted after the loop: protobuf does not order
	// fields, and int_value's sign depends on the datatype.
	switch valNum {
	case 10:
		switch m.DataType {
		case SpInt8:
			m.Value = int64(int8(valU))
		case SpInt16:
			m.Value = int64(int16(valU))
		case SpInt32:
			m.Value = int64(int32(valU))
		default:
			m.Value = int64(uint32(valU))
		}
	case 11:
		if m.DataType == SpUInt64 {
			m.Value = valU
		} else {
			m.Value = int64(valU)
		}
	case 12:
		m.Value = math.Float32frombits(uint32(valU))
	case 13:
		m.Value = math.Float64frombits(valU)
	case 14:
		m.Value = valU != 0
	case 15:
		m.Value = string(valS)
	case 16:
		m.Value = append([]byte(nil), valS...)
	}
	return m, nil
}
