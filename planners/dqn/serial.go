package dqn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// Binary format (little-endian), version 1:
//
//	magic   [8]byte "FCDQNET\x00"
//	version uint32 = 1
//	N, Channels, ExtraRows, E2E[0], E2E[1], E2N, Hidden  uint32
//	flags uint32 (bit 0: E2NColumn; other bits must be 0)
//	LeakySlope, LearningRate, WeightDecay                float64
//	Seed uint64, Adam step int64, parameter count uint64
//	params, Adam m, Adam v                               count float64 each
//	crc32c  uint32 over every preceding byte
const (
	serialMagic   = "FCDQNET\x00"
	serialVersion = 1
	headerLen     = 8 + 4 + 8*4 + 3*8 + 3*8
	flagE2NColumn = 1
)

// ErrCorrupt is wrapped by every UnmarshalBinary error about malformed data.
var ErrCorrupt = errors.New("dqn: corrupt network data")

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// MarshalBinary encodes the configuration, weights and AdamW state
// (encoding.BinaryMarshaler). It fails if a weight is not finite.
func (n *Net) MarshalBinary() ([]byte, error) {
	if n.params == nil {
		return nil, errors.New("dqn: MarshalBinary of a zero Net")
	}
	for i, v := range n.params {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("dqn: MarshalBinary: parameter %d is %v (diverged training?)", i, v)
		}
	}
	c := n.cfg
	total := n.lay.total
	b := make([]byte, 0, headerLen+3*8*total+4)
	b = append(b, serialMagic...)
	b = binary.LittleEndian.AppendUint32(b, serialVersion)
	var flags int
	if c.E2NColumn {
		flags |= flagE2NColumn
	}
	for _, v := range []int{c.N, c.Channels, c.ExtraRows, c.E2E[0], c.E2E[1], c.E2N, c.Hidden, flags} {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	for _, v := range []float64{c.LeakySlope, c.LearningRate, c.WeightDecay} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	b = binary.LittleEndian.AppendUint64(b, c.Seed)
	b = binary.LittleEndian.AppendUint64(b, uint64(n.step))
	b = binary.LittleEndian.AppendUint64(b, uint64(total))
	for _, s := range [][]float64{n.params, n.m1, n.m2} {
		for _, v := range s {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable)), nil
}

// UnmarshalBinary replaces n (which may be a zero Net) by the network
// encoded in data. Wrong magic, unknown version, truncated or oversized data,
// checksum mismatch, an invalid configuration or non-finite values are
// errors wrapping ErrCorrupt; n is unchanged on error.
func (n *Net) UnmarshalBinary(data []byte) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, a...)...)
	}
	if len(data) < headerLen+4 {
		return bad("%d bytes, shorter than the %d-byte header", len(data), headerLen+4)
	}
	if string(data[:8]) != serialMagic {
		return bad("bad magic %q", data[:8])
	}
	le := binary.LittleEndian
	if v := le.Uint32(data[8:]); v != serialVersion {
		return bad("unsupported format version %d (want %d)", v, serialVersion)
	}
	p := 12
	u32 := func() int { v := le.Uint32(data[p:]); p += 4; return int(v) }
	u64 := func() uint64 { v := le.Uint64(data[p:]); p += 8; return v }
	var c Config
	c.N, c.Channels, c.ExtraRows = u32(), u32(), u32()
	c.E2E[0], c.E2E[1], c.E2N, c.Hidden = u32(), u32(), u32(), u32()
	flags := u32()
	if flags&^flagE2NColumn != 0 {
		return bad("unknown flags %#x", flags)
	}
	c.E2NColumn = flags&flagE2NColumn != 0
	c.LeakySlope = math.Float64frombits(u64())
	c.LearningRate = math.Float64frombits(u64())
	c.WeightDecay = math.Float64frombits(u64())
	c.Seed = u64()
	step := int64(u64())
	count := u64()
	if err := c.Validate(); err != nil {
		return bad("%v", err)
	}
	l := c.layout()
	if count != uint64(l.total) {
		return bad("parameter count %d does not match the configuration (%d)", count, l.total)
	}
	if want := headerLen + 3*8*l.total + 4; len(data) != want {
		return bad("%d bytes, want %d for this configuration", len(data), want)
	}
	body := data[:len(data)-4]
	if got, want := crc32.Checksum(body, crcTable), le.Uint32(data[len(data)-4:]); got != want {
		return bad("checksum mismatch (%08x, stored %08x)", got, want)
	}
	if step < 0 {
		return bad("negative optimiser step %d", step)
	}
	nn := alloc(c)
	for _, s := range [][]float64{nn.params, nn.m1, nn.m2} {
		for i := range s {
			v := math.Float64frombits(u64())
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return bad("non-finite value at offset %d", p-8)
			}
			s[i] = v
		}
	}
	for _, v := range nn.m2 {
		if v < 0 {
			return bad("negative Adam second moment")
		}
	}
	nn.step = step
	*n = *nn
	return nil
}
