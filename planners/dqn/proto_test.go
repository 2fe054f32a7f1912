package dqn

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// protoMsg is a decoded protobuf message: varint and length-delimited
// fields by number (enough to inspect the exported ONNX model).
type protoMsg struct {
	varints map[protowire.Number][]uint64
	byts    map[protowire.Number][][]byte
}

func decodeProto(t *testing.T, b []byte) protoMsg {
	t.Helper()
	m := protoMsg{map[protowire.Number][]uint64{}, map[protowire.Number][][]byte{}}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				t.Fatalf("bad varint: %v", protowire.ParseError(n))
			}
			m.varints[num] = append(m.varints[num], v)
			b = b[n:]
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				t.Fatalf("bad bytes: %v", protowire.ParseError(n))
			}
			m.byts[num] = append(m.byts[num], v)
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				t.Fatalf("bad field: %v", protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	return m
}

func (m protoMsg) varint(f protowire.Number) uint64 {
	if v := m.varints[f]; len(v) > 0 {
		return v[0]
	}
	return 0
}

func (m protoMsg) bytes(f protowire.Number) [][]byte { return m.byts[f] }
