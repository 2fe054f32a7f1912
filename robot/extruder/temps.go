package extruder

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// HeaterBed selects the heated bed where a heater index is expected
// (tools are 0, 1, …).
const HeaterBed = -1

// Heater is one heater's state from a temperature report.
type Heater struct {
	CurrentC float64 // thermistor reading, °C
	TargetC  float64 // set point, °C (0 = off)
	// Power is Marlin's PWM value 0–127 ("@:"), −1 when not reported.
	Power int
}

// Temps is a temperature report (M105 reply, M155 auto-report or a
// M109/M190 progress line).
type Temps struct {
	At time.Time // receive time
	// Tools[i] is nozzle Ti. A report with only "T:" fills Tools[0].
	Tools  []Heater
	Bed    Heater
	HasBed bool
	// WaitS is Marlin's "W:" residency countdown in a heater wait, in
	// seconds; NaN when absent or "?".
	WaitS float64
}

// Tool returns nozzle i and whether the report had it.
func (t Temps) Tool(i int) (Heater, bool) {
	if i < 0 || i >= len(t.Tools) {
		return Heater{}, false
	}
	return t.Tools[i], true
}

// heater returns the tool or the bed (HeaterBed).
func (t Temps) heater(h int) (Heater, bool) {
	if h == HeaterBed {
		return t.Bed, t.HasBed
	}
	return t.Tool(h)
}

// ParseTemps parses a Marlin temperature report such as
// "ok T:210.00 /210.00 B:60.00 /60.00 T0:210.00 /210.00 T1:180.00 /185.00
// @:127 B@:0 @0:127 @1:64 W:?" (a leading "ok" is allowed; targets may be
// attached as "T:210/215"). It reports false when the line carries no
// tool or bed reading, e.g. an M114 position report.
func ParseTemps(line string, at time.Time) (Temps, bool) {
	fields := strings.Fields(line)
	if len(fields) > 0 && strings.EqualFold(fields[0], "ok") {
		fields = fields[1:]
	}
	t := Temps{At: at, WaitS: math.NaN()}
	var active *Heater
	activePower, bedPower := -1, -1
	haveIndexed := false
	tools := map[int]Heater{}
	powers := map[int]int{}
	maxTool := -1
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		colon := strings.IndexByte(f, ':')
		if colon <= 0 {
			continue
		}
		key, val := f[:colon], f[colon+1:]
		target := math.NaN()
		if j := strings.IndexByte(val, '/'); j >= 0 {
			target = parseFloat(val[j+1:])
			val = val[:j]
		} else if i+1 < len(fields) && strings.HasPrefix(fields[i+1], "/") {
			target = parseFloat(fields[i+1][1:])
			i++
		}
		switch {
		case key == "W":
			if v := parseFloat(val); !math.IsNaN(v) {
				t.WaitS = v
			}
		case key == "@":
			if v, err := strconv.Atoi(val); err == nil {
				activePower = v
			}
		case key == "B@":
			if v, err := strconv.Atoi(val); err == nil {
				bedPower = v
			}
		case key[0] == '@':
			n, err1 := strconv.Atoi(key[1:])
			v, err2 := strconv.Atoi(val)
			if err1 == nil && err2 == nil && n >= 0 && n < 16 {
				powers[n] = v
			}
		case key == "B":
			c := parseFloat(val)
			if math.IsNaN(c) {
				continue
			}
			t.Bed = Heater{CurrentC: c, TargetC: zeroIfNaN(target), Power: -1}
			t.HasBed = true
		case key == "T":
			c := parseFloat(val)
			if math.IsNaN(c) {
				continue
			}
			h := Heater{CurrentC: c, TargetC: zeroIfNaN(target), Power: -1}
			active = &h
		case key[0] == 'T':
			n, err := strconv.Atoi(key[1:])
			c := parseFloat(val)
			if err != nil || n < 0 || n >= 16 || math.IsNaN(c) {
				continue
			}
			tools[n] = Heater{CurrentC: c, TargetC: zeroIfNaN(target), Power: -1}
			haveIndexed = true
			maxTool = max(maxTool, n)
		}
	}
	if !haveIndexed && active != nil {
		tools[0] = *active
		maxTool = 0
		if activePower >= 0 {
			powers[0] = activePower
		}
	}
	if maxTool < 0 && !t.HasBed {
		return Temps{}, false
	}
	t.Bed.Power = bedPower
	t.Tools = make([]Heater, maxTool+1)
	for i := range t.Tools {
		h, ok := tools[i]
		if !ok {
			h = Heater{CurrentC: math.NaN(), Power: -1}
		}
		if p, ok := powers[i]; ok {
			h.Power = p
		}
		t.Tools[i] = h
	}
	return t, true
}

func parseFloat(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return math.NaN()
	}
	return v
}

func zeroIfNaN(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}
