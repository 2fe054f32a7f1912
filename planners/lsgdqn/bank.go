package lsgdqn

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"fabcell/planners/dqn"
	"fabcell/planners/lsg"
)

// State is an LSG state for the similarity of Eq. 3: the three N_max×N_max
// adjacency channels [A, A†, A‡] (extra rows excluded), zero-padded and
// divided by their largest absolute entry (spec §6), stored sparsely with
// indices c·N²+i·N+j in increasing order.
type State struct {
	Idx []int32
	Val []float64
}

// StateFromBuffer extracts the normalised sparse state from a dense state
// buffer of layout lo whose LSG has `active` nodes.
func StateFromBuffer(lo lsg.Layout, buf []float64, active int, dst State) State {
	dst.Idx, dst.Val = dst.Idx[:0], dst.Val[:0]
	maxAbs := 0.0
	n := lo.N
	for c := 0; c < lsg.Channels; c++ {
		for i := 0; i < active; i++ {
			row := buf[lo.Index(c, i, 0) : lo.Index(c, i, 0)+active]
			for j, v := range row {
				if v != 0 {
					dst.Idx = append(dst.Idx, int32((c*n+i)*n+j))
					dst.Val = append(dst.Val, v)
					maxAbs = math.Max(maxAbs, math.Abs(v))
				}
			}
		}
	}
	if maxAbs > 0 {
		for i := range dst.Val {
			dst.Val[i] /= maxAbs
		}
	}
	return dst
}

// frobeniusDist returns ‖a − b‖_F of two sparse states.
func frobeniusDist(a, b State) float64 {
	s := 0.0
	i, j := 0, 0
	for i < len(a.Idx) || j < len(b.Idx) {
		switch {
		case j == len(b.Idx) || (i < len(a.Idx) && a.Idx[i] < b.Idx[j]):
			s += a.Val[i] * a.Val[i]
			i++
		case i == len(a.Idx) || b.Idx[j] < a.Idx[i]:
			s += b.Val[j] * b.Val[j]
			j++
		default:
			d := a.Val[i] - b.Val[j]
			s += d * d
			i++
			j++
		}
	}
	return math.Sqrt(s)
}

// Similarity is Eq. 3: sim(S_a, S_b) = 1 / (1 + β·‖S_a − S_b‖_F).
func Similarity(a, b State, beta float64) float64 {
	return 1 / (1 + beta*frobeniusDist(a, b))
}

type bankEntry struct {
	state State
	net   *dqn.Net
	seq   uint64 // insertion order (older = smaller)
}

// Bank is the set Ψ of up to K stored (state, network) pairs of the prior
// reuse scheme (spec §6). It is not safe for concurrent use.
type Bank struct {
	K    int
	Beta float64
	cfg  dqn.Config

	entries []bankEntry
	sim     [][]float64 // pairwise similarities of entries
	seq     uint64
	newSim  []float64
}

// NewBank returns an empty bank for networks of shape cfg.
func NewBank(k int, beta float64, cfg dqn.Config) *Bank {
	return &Bank{K: k, Beta: beta, cfg: cfg}
}

// Len returns the number of stored pairs.
func (b *Bank) Len() int { return len(b.entries) }

// Net returns the network of entry i.
func (b *Bank) Net(i int) *dqn.Net { return b.entries[i].net }

// Best returns the entry most similar to s (Eq. 3; ties: the older entry)
// and its similarity, or -1 when the bank is empty.
func (b *Bank) Best(s State) (int, float64) {
	best, bestSim := -1, -1.0
	for i, e := range b.entries {
		if v := Similarity(s, e.state, b.Beta); v > bestSim {
			best, bestSim = i, v
		}
	}
	return best, bestSim
}

// Offer inserts (s, net) and, when the bank then holds more than K pairs,
// removes one by the paper's diversity rule (spec §6): take the most
// similar pair (a, b); let s_a, s_b be each one's largest similarity to
// the other stored states; remove a if s_a > s_b, b if s_b > s_a, and the
// older of the two on a tie. The network is copied (weights only) into
// storage the bank owns, so net can keep training. It returns whether the
// offered pair was kept.
func (b *Bank) Offer(s State, net *dqn.Net) bool {
	if b.K <= 0 {
		return false
	}
	n := len(b.entries)
	b.newSim = b.newSim[:0]
	for _, e := range b.entries {
		b.newSim = append(b.newSim, Similarity(s, e.state, b.Beta))
	}
	if n < b.K {
		b.store(-1, s, net)
		return true
	}
	// candidates 0..n-1 existing, n = the new pair
	simOf := func(i, j int) float64 {
		switch {
		case i == n:
			return b.newSim[j]
		case j == n:
			return b.newSim[i]
		}
		return b.sim[i][j]
	}
	seqOf := func(i int) uint64 {
		if i == n {
			return b.seq + 1
		}
		return b.entries[i].seq
	}
	pa, pb, best := -1, -1, math.Inf(-1)
	for i := 0; i <= n; i++ {
		for j := i + 1; j <= n; j++ {
			if v := simOf(i, j); v > best {
				pa, pb, best = i, j, v
			}
		}
	}
	maxOther := func(x, partner int) float64 {
		m := math.Inf(-1)
		for j := 0; j <= n; j++ {
			if j != x && j != partner {
				m = math.Max(m, simOf(x, j))
			}
		}
		return m
	}
	sa, sb := maxOther(pa, pb), maxOther(pb, pa)
	victim := pb
	switch {
	case sa > sb:
		victim = pa
	case sa == sb && seqOf(pa) < seqOf(pb):
		victim = pa
	}
	if victim == n {
		return false
	}
	b.store(victim, s, net)
	return true
}

// store writes (s, net) into slot i (-1 = append) and updates the
// similarity matrix from b.newSim.
func (b *Bank) store(i int, s State, net *dqn.Net) {
	b.seq++
	if i < 0 {
		e := bankEntry{net: net.Clone(), seq: b.seq}
		e.state.Idx = append([]int32(nil), s.Idx...)
		e.state.Val = append([]float64(nil), s.Val...)
		b.entries = append(b.entries, e)
		i = len(b.entries) - 1
		for k := range b.sim {
			b.sim[k] = append(b.sim[k], b.newSim[k])
		}
		row := append([]float64(nil), b.newSim...)
		b.sim = append(b.sim, append(row, 1))
		return
	}
	e := &b.entries[i]
	e.net.CopyFrom(net)
	e.state.Idx = append(e.state.Idx[:0], s.Idx...)
	e.state.Val = append(e.state.Val[:0], s.Val...)
	e.seq = b.seq
	for k := range b.entries {
		if k == i {
			b.sim[i][i] = 1
			continue
		}
		v := b.newSim[k]
		b.sim[i][k], b.sim[k][i] = v, v
	}
}

// Clone returns a deep copy (networks included).
func (b *Bank) Clone() *Bank {
	c := &Bank{K: b.K, Beta: b.Beta, cfg: b.cfg, seq: b.seq}
	for _, e := range b.entries {
		ce := bankEntry{net: e.net.Clone(), seq: e.seq}
		ce.state.Idx = append([]int32(nil), e.state.Idx...)
		ce.state.Val = append([]float64(nil), e.state.Val...)
		c.entries = append(c.entries, ce)
	}
	for _, r := range b.sim {
		c.sim = append(c.sim, append([]float64(nil), r...))
	}
	return c
}

// Bank file format (little endian), written atomically:
//
//	"FCBANK01" | u32 version=1 | u32 N | u32 channels | u32 extraRows |
//	f64 beta | u32 count | count × entry | u32 CRC-32C of all before
//	entry = u64 seq | u32 nnz | nnz × (u32 idx, f64 val) | u32 netLen | net
//
// net is dqn.Net.MarshalBinary. A bank is tied to the state size and the
// network shape; loading one written for another shape is an error.
const (
	bankMagic   = "FCBANK01"
	bankVersion = 1
	// MaxBankBytes bounds a bank file.
	MaxBankBytes = 8 << 30
)

// ErrBankFile is wrapped by every bank load error about the file content.
var ErrBankFile = errors.New("invalid prior bank file")

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Save writes the bank to path atomically (temporary file + rename).
func (b *Bank) Save(path string) error {
	var buf bytes.Buffer
	le := binary.LittleEndian
	w := func(v any) { _ = binary.Write(&buf, le, v) }
	buf.WriteString(bankMagic)
	w(uint32(bankVersion))
	w(uint32(b.cfg.N))
	w(uint32(b.cfg.Channels))
	w(uint32(b.cfg.ExtraRows))
	w(b.Beta)
	w(uint32(len(b.entries)))
	for _, e := range b.entries {
		w(e.seq)
		w(uint32(len(e.state.Idx)))
		for k := range e.state.Idx {
			w(uint32(e.state.Idx[k]))
			w(e.state.Val[k])
		}
		nb, err := e.net.MarshalBinary()
		if err != nil {
			return fmt.Errorf("save prior bank: %w", err)
		}
		w(uint32(len(nb)))
		buf.Write(nb)
	}
	w(crc32.Checksum(buf.Bytes(), crcTable))
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save prior bank: %w", err)
	}
	tmp := f.Name()
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("save prior bank: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("save prior bank: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save prior bank: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save prior bank: %w", err)
	}
	return nil
}

// LoadBank reads a bank written by Save for networks of shape cfg. A file
// holding more than k pairs is reduced with the eviction rule. A missing
// file is reported with an error satisfying errors.Is(err, fs.ErrNotExist).
func LoadBank(path string, k int, beta float64, cfg dqn.Config) (*Bank, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load prior bank: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(bufio.NewReader(f), MaxBankBytes+1))
	if err != nil {
		return nil, fmt.Errorf("load prior bank %s: %w", path, err)
	}
	b, err := decodeBank(data, k, beta, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

func decodeBank(data []byte, k int, beta float64, cfg dqn.Config) (*Bank, error) {
	bad := func(f string, a ...any) error { return fmt.Errorf("%w: "+f, append([]any{ErrBankFile}, a...)...) }
	if len(data) > MaxBankBytes {
		return nil, bad("larger than %d bytes", MaxBankBytes)
	}
	if len(data) < len(bankMagic)+4 || string(data[:len(bankMagic)]) != bankMagic {
		return nil, bad("not a fabcell prior bank (bad magic)")
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, crcTable) != sum {
		return nil, bad("checksum mismatch (truncated or corrupt)")
	}
	r := bytes.NewReader(body[len(bankMagic):])
	le := binary.LittleEndian
	var u32 uint32
	rd := func(v any) error {
		if err := binary.Read(r, le, v); err != nil {
			return bad("truncated")
		}
		return nil
	}
	if err := rd(&u32); err != nil {
		return nil, err
	}
	if u32 != bankVersion {
		return nil, bad("unsupported version %d", u32)
	}
	var n, ch, extra uint32
	var fileBeta float64
	for _, p := range []any{&n, &ch, &extra, &fileBeta} {
		if err := rd(p); err != nil {
			return nil, err
		}
	}
	if int(n) != cfg.N || int(ch) != cfg.Channels || int(extra) != cfg.ExtraRows {
		return nil, bad("written for N=%d channels=%d extra rows=%d, planner uses N=%d channels=%d extra rows=%d (use another bank_path for this configuration)",
			n, ch, extra, cfg.N, cfg.Channels, cfg.ExtraRows)
	}
	var count uint32
	if err := rd(&count); err != nil {
		return nil, err
	}
	if int64(count) > int64(len(body)) {
		return nil, bad("entry count %d exceeds file size", count)
	}
	b := NewBank(k, beta, cfg)
	type loaded struct {
		seq uint64
		st  State
		net *dqn.Net
	}
	var all []loaded
	limit := int32(cfg.Channels * cfg.N * cfg.N)
	for e := uint32(0); e < count; e++ {
		var seq uint64
		var nnz uint32
		if err := rd(&seq); err != nil {
			return nil, err
		}
		if err := rd(&nnz); err != nil {
			return nil, err
		}
		if int64(nnz)*12 > int64(r.Len()) || int64(nnz) > int64(limit) {
			return nil, bad("entry %d: %d state entries exceed the file or the state size", e, nnz)
		}
		st := State{Idx: make([]int32, nnz), Val: make([]float64, nnz)}
		for i := range st.Idx {
			var idx uint32
			var v float64
			if err := rd(&idx); err != nil {
				return nil, err
			}
			if err := rd(&v); err != nil {
				return nil, err
			}
			if idx >= uint32(limit) || (i > 0 && int32(idx) <= st.Idx[i-1]) {
				return nil, bad("entry %d: state index %d out of order or range", e, idx)
			}
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1 {
				return nil, bad("entry %d: state value %v not in [-1, 1]", e, v)
			}
			st.Idx[i], st.Val[i] = int32(idx), v
		}
		var nl uint32
		if err := rd(&nl); err != nil {
			return nil, err
		}
		if int64(nl) > int64(r.Len()) {
			return nil, bad("entry %d: network of %d bytes exceeds the file", e, nl)
		}
		nb := make([]byte, nl)
		if _, err := io.ReadFull(r, nb); err != nil {
			return nil, bad("truncated")
		}
		net := new(dqn.Net)
		if err := net.UnmarshalBinary(nb); err != nil {
			return nil, fmt.Errorf("%w: entry %d: %w", ErrBankFile, e, err)
		}
		nc := net.Config()
		if nc.N != cfg.N || nc.Channels != cfg.Channels || nc.ExtraRows != cfg.ExtraRows || nc.E2E != cfg.E2E || nc.E2N != cfg.E2N || nc.Hidden != cfg.Hidden {
			return nil, bad("entry %d: network shape (E2E %v, E2N %d, hidden %d) differs from the planner's (E2E %v, E2N %d, hidden %d)",
				e, nc.E2E, nc.E2N, nc.Hidden, cfg.E2E, cfg.E2N, cfg.Hidden)
		}
		all = append(all, loaded{seq, st, net})
	}
	if r.Len() != 0 {
		return nil, bad("%d trailing bytes", r.Len())
	}
	if len(all) <= b.K {
		// keep slots, ages and networks exactly
		for _, e := range all {
			b.newSim = b.newSim[:0]
			for _, o := range b.entries {
				b.newSim = append(b.newSim, Similarity(e.st, o.state, b.Beta))
			}
			b.store(-1, e.st, e.net)
			b.entries[len(b.entries)-1].seq = e.seq
			b.seq = max(b.seq, e.seq)
		}
		return b, nil
	}
	// More pairs than K: re-insert oldest first, so that the eviction rule
	// reduces the bank.
	slices.SortStableFunc(all, func(x, y loaded) int { return cmp.Compare(x.seq, y.seq) })
	for _, e := range all {
		b.Offer(e.st, e.net)
	}
	return b, nil
}
