package boardsim

import "math"

// heater is one heater with its thermistor and Marlin's thermal protection.
//
// Thermal model (first order): with power on, the temperature moves toward
// the full-power equilibrium FullPowerC with time constant TauS until it
// reaches the target, where the (ideal) PID holds it; with power off, or
// above the target, it relaxes toward ambient with the same time constant
// and stops at the target. So T(t) = Te + (T0 − Te)·exp(−t/τ) piecewise,
// integrated exactly per step.
type heater struct {
	id         string // Marlin Heater_ID: "0", "1", "bed"
	isBed      bool
	tempC      float64 // true temperature
	targetC    float64
	tauS       float64
	fullPowerC float64
	maxC       float64
	minC       float64
	ambientC   float64

	cartridgeFailed bool    // injected: heating element gives no power
	sensor          sensorF // injected thermistor fault

	// thermal runaway protection (Marlin thermal_runaway_protection)
	trState    trState
	trTimer    float64 // sim time at which runaway is declared while below the band
	trPeriodS  float64
	trHystC    float64
	watchOn    bool
	watchUntil float64 // sim time
	watchTemp  float64 // must be reached by watchUntil
	watchPerS  float64
	watchIncC  float64
	// M109/M190 residency
	residencyStart float64 // sim time the window was entered, −1 = not in window
}

type sensorF int

const (
	sensorOK sensorF = iota
	sensorOpen
	sensorShort
)

type trState int

const (
	trInactive trState = iota
	trFirstHeating
	trStable
)

// reading returns what the thermistor reports (°C).
func (h *heater) reading() float64 {
	switch h.sensor {
	case sensorOpen:
		return -14 // Marlin's reading for an open 100k thermistor
	case sensorShort:
		return 999
	}
	return h.tempC
}

// power returns Marlin's reported PWM 0–127.
func (h *heater) power() int {
	if h.targetC <= 0 || h.cartridgeFailed {
		return 0
	}
	if h.tempC < h.targetC-0.01 {
		return 127
	}
	hold := (h.targetC - h.ambientC) / (h.fullPowerC - h.ambientC)
	return int(math.Round(127 * math.Max(0, math.Min(1, hold))))
}

// step advances the model by dt simulated seconds.
func (h *heater) step(dt float64) {
	if dt <= 0 {
		return
	}
	decay := math.Exp(-dt / h.tauS)
	heating := h.targetC > 0 && !h.cartridgeFailed && h.tempC < h.targetC
	if heating {
		next := h.fullPowerC + (h.tempC-h.fullPowerC)*decay
		h.tempC = math.Min(next, h.targetC)
		return
	}
	next := h.ambientC + (h.tempC-h.ambientC)*decay
	if h.targetC > 0 && !h.cartridgeFailed && h.tempC >= h.targetC {
		next = math.Max(next, h.targetC) // PID holds at the target
	}
	h.tempC = next
}

// setTarget is M104/M109/M140/M190: it (re)arms the protection like
// Marlin's start_watching_* and thermal-runaway reset.
func (h *heater) setTarget(t float64, now float64) {
	h.targetC = t
	h.residencyStart = -1
	if t <= 0 {
		h.trState = trInactive
		h.watchOn = false
		return
	}
	h.trState = trFirstHeating
	h.armWatch(now)
}

func (h *heater) armWatch(now float64) {
	r := h.reading()
	if r < h.targetC-(h.watchIncC+h.trHystC+1) {
		h.watchOn = true
		h.watchTemp = r + h.watchIncC
		h.watchUntil = now + h.watchPerS
	} else {
		h.watchOn = false
	}
}

// check runs MINTEMP/MAXTEMP, heating watch and thermal runaway checks at
// sim time now; it returns Marlin's error text or "".
func (h *heater) check(now float64) string {
	r := h.reading()
	if r > h.maxC {
		return "MAXTEMP triggered"
	}
	if r < h.minC {
		return "MINTEMP triggered"
	}
	if h.targetC <= 0 {
		return ""
	}
	if h.watchOn && now >= h.watchUntil {
		if r < h.watchTemp {
			return "Heating failed"
		}
		h.armWatch(now)
	}
	switch h.trState {
	case trFirstHeating:
		if r >= h.targetC {
			h.trState = trStable
			h.trTimer = now + h.trPeriodS
		}
	case trStable:
		if r >= h.targetC-h.trHystC {
			h.trTimer = now + h.trPeriodS
		} else if now > h.trTimer {
			return "Thermal Runaway"
		}
	}
	return ""
}
