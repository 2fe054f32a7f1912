package boardsim

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxExtrudeMM is Marlin's EXTRUDE_MAXLENGTH.
const maxExtrudeMM = 200

// words splits "G1 X10 E-2.5 F1200" into the code and letter → value.
func words(cmd string) (string, map[byte]float64, map[byte]bool) {
	f := strings.Fields(cmd)
	if len(f) == 0 {
		return "", nil, nil
	}
	code := strings.ToUpper(f[0])
	if len(code) > 1 && (code[0] == 'G' || code[0] == 'M' || code[0] == 'T') {
		if n, err := strconv.Atoi(code[1:]); err == nil {
			code = code[:1] + strconv.Itoa(n)
		}
	}
	vals := map[byte]float64{}
	seen := map[byte]bool{}
	for _, w := range f[1:] {
		l := w[0]
		if l >= 'a' && l <= 'z' {
			l -= 'a' - 'A'
		}
		seen[l] = true
		if v, err := strconv.ParseFloat(w[1:], 64); err == nil && !math.IsInf(v, 0) {
			vals[l] = v
		}
	}
	return code, vals, seen
}

// execute runs one command and answers "ok" (Marlin process_next_command
// followed by ok_to_send).
func (b *Board) execute(c command) {
	code, v, seen := words(c.cmd)
	b.mu.Lock()
	if b.halted {
		b.mu.Unlock()
		return
	}
	b.executed = append(b.executed, Executed{N: c.n, Cmd: c.cmd})
	okLine := ""
	switch code {
	case "G0", "G1":
		for i, a := range []byte{'X', 'Y', 'Z'} {
			if x, ok := v[a]; ok {
				if b.absXYZ {
					b.pos[i] = x
				} else {
					b.pos[i] += x
				}
			}
		}
		if e, ok := v['E']; ok {
			delta := e
			if b.absE {
				delta = e - b.ePos[b.tool]
			}
			b.ePos[b.tool] += delta
			switch {
			case delta != 0 && !b.coldAllowed && b.heaters[b.tool].reading() < b.opts.ExtrudeMinC:
				b.emit("echo: cold extrusion prevented")
			case math.Abs(delta) > maxExtrudeMM:
				b.emit("echo: too long extrusion prevented")
			default:
				b.extrudedMM[b.tool] += delta
			}
		}
	case "G4":
		dwell := v['P'] / 1000
		if s, ok := v['S']; ok {
			dwell = s
		}
		b.mu.Unlock()
		if !b.dwell(dwell) {
			return
		}
		b.mu.Lock()
	case "G28", "G29", "G21", "M400", "M17", "M18", "M84", "M220", "M221", "M201", "M203", "M204", "M205",
		"M92", "M500", "M501", "M502", "M503", "M117", "M73", "M107", "M410", "M999":
		if code == "M107" {
			b.fan = 0
		}
	case "G90":
		b.absXYZ, b.absE = true, true
	case "G91":
		b.absXYZ, b.absE = false, false
	case "M82":
		b.absE = true
	case "M83":
		b.absE = false
	case "G92":
		for i, a := range []byte{'X', 'Y', 'Z'} {
			if x, ok := v[a]; ok {
				b.pos[i] = x
			}
		}
		if e, ok := v['E']; ok {
			b.ePos[b.tool] = e
		}
	case "T0", "T1", "T2", "T3", "T4", "T5", "T6", "T7":
		n := int(code[1] - '0')
		if n >= b.opts.Tools {
			b.emit("echo:T%d Invalid extruder", n)
		} else {
			b.tool = n
		}
	case "M104", "M109":
		h := b.toolHeaterLocked(code, v, seen)
		if h == nil {
			break
		}
		t, ok := v['S']
		waitCooling := false
		if r, okR := v['R']; okR {
			t, ok, waitCooling = r, true, true
		}
		if !ok {
			break
		}
		h.setTarget(math.Max(0, t), b.simNow())
		if code == "M109" {
			b.mu.Unlock()
			if !b.waitHeater(h, waitCooling) {
				return
			}
			b.mu.Lock()
		}
	case "M140", "M190":
		h := b.heaters[len(b.heaters)-1]
		t, ok := v['S']
		waitCooling := false
		if r, okR := v['R']; okR {
			t, ok, waitCooling = r, true, true
		}
		if !ok {
			break
		}
		h.setTarget(math.Max(0, t), b.simNow())
		if code == "M190" {
			b.mu.Unlock()
			if !b.waitHeater(h, waitCooling) {
				return
			}
			b.mu.Lock()
		}
	case "M105":
		okLine = "ok " + b.tempReportLocked()
	case "M155":
		s := v['S']
		if s < 0 || s > 60 {
			s = 0
		}
		b.autoReportS = s
		b.nextReport = b.simNow() + s
	case "M280":
		p, okP := v['P']
		s, okS := v['S']
		switch {
		case !okP || p < 0 || p >= float64(len(b.servo)) || p != math.Trunc(p):
			b.emit("echo:Servo %v out of range", p)
		case okS:
			b.servo[int(p)] = math.Max(0, math.Min(180, s))
		default:
			b.emit("echo: Servo %d: %.0f", int(p), b.servo[int(p)])
		}
	case "M106":
		b.fan = int(math.Max(0, math.Min(255, v['S'])))
	case "M114":
		b.emit("X:%.2f Y:%.2f Z:%.2f E:%.2f Count X:%d Y:%d Z:%d", b.pos[0], b.pos[1], b.pos[2], b.ePos[b.tool],
			int(b.pos[0]*80), int(b.pos[1]*80), int(b.pos[2]*400))
	case "M115":
		b.emit("FIRMWARE_NAME:Marlin 2.1.2 (fabcell boardsim) SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin PROTOCOL_VERSION:1.0 MACHINE_TYPE:fabcell CCF head EXTRUDER_COUNT:%d", b.opts.Tools)
		b.emit("Cap:AUTOREPORT_TEMP:1")
		b.emit("Cap:EMERGENCY_PARSER:1")
		if b.opts.AdvancedOK {
			b.emit("Cap:ADVANCED_OK:1")
		}
	case "M118":
		b.emit("%s", m118(c.cmd))
	case "M110":
		if n, ok := v['N']; ok {
			b.lastN = int(n)
		}
	case "M302":
		if p, ok := v['P']; ok {
			b.coldAllowed = p != 0
		}
		if s, ok := v['S']; ok {
			b.coldAllowed = s == 0
		}
	case "M108":
		// handled by the emergency parser; in the queue it is a no-op
	case "M112":
		b.killLocked("M112")
		b.mu.Unlock()
		return
	default:
		b.emit("echo:Unknown command: \"%s\"", c.cmd)
	}
	if b.halted {
		b.mu.Unlock()
		return
	}
	if c.n >= 0 && b.dropOK[c.n] > 0 {
		b.dropOK[c.n]--
		b.mu.Unlock()
		return
	}
	if okLine == "" {
		okLine = "ok"
		if b.opts.AdvancedOK {
			okLine = fmt.Sprintf("ok N%d P%d B%d", b.lastN, 16, b.opts.BufSize-len(b.ring))
		}
	}
	b.emit("%s", okLine)
	b.mu.Unlock()
}

// toolHeaterLocked returns the heater addressed by M104/M109 (T word or the
// active tool), or nil after printing Marlin's invalid-extruder echo.
func (b *Board) toolHeaterLocked(code string, v map[byte]float64, seen map[byte]bool) *heater {
	t := b.tool
	if seen['T'] {
		x, ok := v['T']
		if !ok || x < 0 || x >= float64(b.opts.Tools) || x != math.Trunc(x) {
			b.emit("echo:%s Invalid extruder %v", code, x)
			return nil
		}
		t = int(x)
	}
	return b.heaters[t]
}

// m118 renders M118's output: flags E1 (echo: prefix), A1 ("//" action
// prefix), Pn (port) precede the text.
func m118(cmd string) string {
	rest := strings.TrimSpace(cmd[min(4, len(cmd)):])
	prefix := ""
	for {
		switch {
		case strings.HasPrefix(rest, "E1"):
			prefix = "echo:" + strings.TrimPrefix(prefix, "echo:")
		case strings.HasPrefix(rest, "A1"):
			prefix += "//"
		case len(rest) >= 2 && rest[0] == 'P' && rest[1] >= '0' && rest[1] <= '9':
		default:
			return prefix + rest
		}
		rest = strings.TrimSpace(rest[2:])
	}
}

// waitHeater is M109/M190's wait loop (Marlin Temperature::wait_for_hotend):
// it reports temperatures each simulated second with the residency
// countdown "W:", sends busy keep-alives, and ends when the reading stayed
// within TempWindowC of the target for ResidencyS, on M108, or at once when
// heating-only (S) and the heater is above the target. It reports false if
// the board was halted or closed meanwhile (no ok then).
func (b *Board) waitHeater(h *heater, waitCooling bool) bool {
	b.mu.Lock()
	now := b.simNow()
	b.busy = true
	b.nextKeep = now + b.opts.KeepaliveS
	nextPrint := now
	b.emergBreak.Store(false)
	residency := b.opts.ResidencyS
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.busy = false
		b.mu.Unlock()
	}()
	for {
		b.mu.Lock()
		b.idleLocked()
		if b.halted {
			b.mu.Unlock()
			b.flush()
			return false
		}
		now := b.simNow()
		r := h.reading()
		target := h.targetC
		diff := math.Abs(r - target)
		if h.residencyStart < 0 {
			if diff < b.opts.TempWindowC {
				h.residencyStart = now
			}
		} else if diff > b.opts.TempHysteresisC {
			h.residencyStart = -1
		}
		done := h.residencyStart >= 0 && now-h.residencyStart >= residency
		if !waitCooling && r > target+b.opts.TempWindowC {
			done = true
		}
		if target <= 0 {
			done = true
		}
		if now >= nextPrint {
			w := "?"
			if h.residencyStart >= 0 {
				w = strconv.Itoa(int(math.Max(0, residency-(now-h.residencyStart))))
			}
			b.emit(" %s W:%s", b.tempReportLocked(), w)
			nextPrint = math.Floor(now) + 1
		}
		brk := b.emergBreak.Swap(false)
		b.mu.Unlock()
		b.flush()
		if done || brk {
			return true
		}
		select {
		case <-b.quit:
			return false
		case <-b.tick.C:
		case <-b.rxSignal:
			// lines wait in the buffer; only the emergency parser acts now
		}
	}
}

// dwell is G4: wait simulated seconds with keep-alives.
func (b *Board) dwell(s float64) bool {
	if !(s > 0) {
		return true
	}
	b.mu.Lock()
	end := b.simNow() + math.Min(s, 3600)
	b.busy = true
	b.nextKeep = b.simNow() + b.opts.KeepaliveS
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.busy = false
		b.mu.Unlock()
	}()
	for {
		b.mu.Lock()
		b.idleLocked()
		halted := b.halted
		now := b.simNow()
		b.mu.Unlock()
		b.flush()
		if halted {
			return false
		}
		if now >= end {
			return true
		}
		select {
		case <-b.quit:
			return false
		case <-b.tick.C:
		case <-b.rxSignal:
		}
	}
}
