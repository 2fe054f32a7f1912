package gcode

import (
	"fabcell/processes/gcode/parse"
)

// Settings bound to edges (Li 2020 "start actions"). A state command such
// as "M204 P800" or a feature comment ";TYPE:Perimeter" fills a slot keyed
// by its family (command name, or comment key) and its parameter letters.
// Replaying, in original order, the last line of every slot of a family
// reproduces the firmware state the full history of that family produced
// (each parameter's final value comes from the last line that set it, which
// is the last line of its letter set), so a state is a vector of slots and
// switching an edge's settings re-emits only the families that differ.

type slotKey struct {
	fam  string
	mask uint32
}

type slotVal struct {
	text string // the raw line ("" = never set)
	seq  int32  // input line number, for replay order
}

// maxSlots bounds the number of distinct (family, letters) slots; beyond it
// state commands are pinned (treated as barriers).
const maxSlots = 64

type slotReg struct {
	index map[slotKey]int
	fam   []int  // slot → family id
	hard  []bool // command (true) or comment attribute
	names []string
	famID map[string]int

	snap     regSnap // the last snapshot (read-only, shared by jobs)
	snapSize int     // len(fam) when it was taken (valid if snap.fam != nil)
}

func (r *slotReg) slot(k slotKey, hard bool) (int, bool) {
	if r.index == nil {
		r.index = map[slotKey]int{}
		r.famID = map[string]int{}
	}
	if i, ok := r.index[k]; ok {
		return i, true
	}
	if len(r.fam) >= maxSlots {
		return 0, false
	}
	f, ok := r.famID[k.fam]
	if !ok {
		f = len(r.names)
		r.famID[k.fam] = f
		r.names = append(r.names, k.fam)
	}
	i := len(r.fam)
	r.index[k] = i
	r.fam = append(r.fam, f)
	r.hard = append(r.hard, hard)
	return i, true
}

func cloneState(s []slotVal) []slotVal {
	return append([]slotVal(nil), s...)
}

func (rd *reader) slotKeyOf(l *parse.Line, k cls) (slotKey, bool) {
	if k == cSetting {
		name := l.CommandName(nil)
		if l.Letter == 'M' && l.Code == 107 {
			name = []byte("M106")
		}
		return slotKey{fam: string(name), mask: l.ParamMask()}, true
	}
	fam, _ := attrFamily(l.Comment)
	return slotKey{fam: fam}, false
}

// slotAvailable reports whether the line's slot exists or can be added.
func (rd *reader) slotAvailable(l *parse.Line, k cls) bool {
	key, hard := rd.slotKeyOf(l, k)
	_, ok := rd.slots.slot(key, hard)
	return ok
}

// setSlot records a state line in rd.curState.
func (rd *reader) setSlot(l *parse.Line, k cls) {
	var key slotKey
	hard := k == cSetting
	if hard {
		name := l.CommandName(nil)
		if l.Letter == 'M' && l.Code == 107 {
			name = []byte("M106")
		}
		key = slotKey{fam: string(name), mask: l.ParamMask()}
	} else {
		fam, _ := attrFamily(l.Comment)
		key = slotKey{fam: fam}
	}
	i, ok := rd.slots.slot(key, hard)
	if !ok {
		return
	}
	for len(rd.curState) <= i {
		rd.curState = append(rd.curState, slotVal{})
	}
	rd.curState[i] = slotVal{text: string(l.Raw), seq: int32(l.Num)}
}

func slotAt(s []slotVal, i int) slotVal {
	if i < len(s) {
		return s[i]
	}
	return slotVal{}
}

// regSnap is a read-only copy of the slot registry for later stages.
type regSnap struct {
	fam      []int
	hard     []bool
	typeSlot int // slot of the ";TYPE:" family, −1 if none
}

// snapshot returns a read-only copy of the registry. Slots are only ever
// added, so a snapshot stays valid (and is shared) until the next one.
func (r *slotReg) snapshot() regSnap {
	if r.snapSize == len(r.fam) && r.snap.fam != nil {
		return r.snap
	}
	s := regSnap{fam: append([]int{}, r.fam...), hard: append([]bool{}, r.hard...), typeSlot: -1}
	if i, ok := r.index[slotKey{fam: "TYPE"}]; ok {
		s.typeSlot = i
	} else if i, ok := r.index[slotKey{fam: "FEATURE"}]; ok {
		s.typeSlot = i // Bambu Studio / OrcaSlicer "; FEATURE: Outer wall"
	}
	r.snap, r.snapSize = s, len(r.fam)
	return s
}

// stateDiff appends to out the lines that turn state from into state to:
// for every family with a differing slot, all of to's lines of that family
// in input order. Families of comments are emitted after commands.
func (r *regSnap) stateDiff(from, to []slotVal, out []byte) []byte {
	n := max(len(from), len(to))
	var famBuf [maxSlots]int
	fams := famBuf[:0]
	for i := 0; i < n; i++ {
		a, b := slotAt(from, i), slotAt(to, i)
		if a.seq != b.seq || a.text != b.text {
			f := r.fam[i]
			dup := false
			for _, x := range fams {
				if x == f {
					dup = true
					break
				}
			}
			if !dup {
				fams = append(fams, f)
			}
		}
	}
	if len(fams) == 0 {
		return out
	}
	// The lines of those families, commands before comments, each group
	// in input order (a stable insertion sort: there are few).
	var lineBuf [maxSlots]int // slot indices into to
	lines := lineBuf[:0]
	for _, f := range fams {
		for i := 0; i < len(to); i++ {
			if r.fam[i] == f && to[i].text != "" {
				lines = append(lines, i)
			}
		}
	}
	less := func(x, y int) bool {
		if r.hard[x] != r.hard[y] {
			return r.hard[x]
		}
		return to[x].seq < to[y].seq
	}
	for k := 1; k < len(lines); k++ {
		for m := k; m > 0 && less(lines[m], lines[m-1]); m-- {
			lines[m], lines[m-1] = lines[m-1], lines[m]
		}
	}
	for _, i := range lines {
		out = append(out, to[i].text...)
		out = append(out, '\n')
	}
	return out
}
