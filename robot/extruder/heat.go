package extruder

import (
	"context"
	"fmt"
	"math"
	"time"
)

// checkTemp validates a set point in °C.
func checkTemp(heater int, tempC float64) error {
	hi := 500.0
	if heater == HeaterBed {
		hi = 200
	}
	if math.IsNaN(tempC) || tempC < 0 || tempC > hi {
		return fmt.Errorf("%w: %s set point %v °C outside [0, %v]", ErrBadCommand, heaterName(heater), tempC, hi)
	}
	if heater < HeaterBed || heater > 9 {
		return fmt.Errorf("%w: heater %d (tools 0–9 or HeaterBed)", ErrBadCommand, heater)
	}
	return nil
}

func tempCmd(code string, heater int, tempC float64) string {
	if heater == HeaterBed {
		return fmt.Sprintf("%s S%.1f", code, tempC)
	}
	return fmt.Sprintf("%s T%d S%.1f", code, heater, tempC)
}

// SetTemp sets a heater's target without waiting (M104 T<i> S<°C> for a
// nozzle, M140 S<°C> for HeaterBed). 0 turns it off.
func (d *Driver) SetTemp(ctx context.Context, heater int, tempC float64) error {
	if err := checkTemp(heater, tempC); err != nil {
		return err
	}
	code := "M104"
	if heater == HeaterBed {
		code = "M140"
	}
	_, err := d.Send(ctx, tempCmd(code, heater, tempC))
	return err
}

// WaitTemp sets a heater's target and waits until the board reports it
// reached (M109 T<i> S<°C> / M190 S<°C>; Marlin waits for the temperature
// window and residency time). progress, if not nil, is called from this
// goroutine with every temperature report during the wait. After
// Options.HeatTimeout, or when ctx ends, the wait is broken with M108 (the
// target stays set) and *HeatTimeoutError or ctx.Err() is returned. A heater
// fault during the wait returns its *FaultError.
func (d *Driver) WaitTemp(ctx context.Context, heater int, tempC float64, progress func(Temps)) error {
	if err := checkTemp(heater, tempC); err != nil {
		return err
	}
	code := "M109"
	if heater == HeaterBed {
		code = "M190"
	}
	temps, cancel := d.SubscribeTemps(8)
	defer cancel()
	start := time.Now()
	p, err := d.Submit(ctx, tempCmd(code, heater, tempC))
	if err != nil {
		return err
	}
	timer := time.NewTimer(d.opts.HeatTimeout)
	defer timer.Stop()
	lastC := math.NaN()
	for {
		d.mu.Lock()
		st, derr, changed := d.state, d.err, d.changed
		d.mu.Unlock()
		select {
		case <-p.Done():
			return p.e.err
		default:
		}
		switch st {
		case StatePaused, StateFaulted:
			return derr
		case StateClosed:
			return ErrClosed
		}
		select {
		case <-p.Done():
			return p.e.err
		case t := <-temps:
			if h, ok := t.heater(heater); ok {
				lastC = h.CurrentC
			}
			if progress != nil {
				progress(t)
			}
		case <-changed:
		case <-timer.C:
			e := &HeatTimeoutError{Heater: heater, TargetC: tempC, LastC: lastC, Waited: time.Since(start)}
			e.BrokenOK = d.breakWait(context.WithoutCancel(ctx), p)
			return e
		case <-ctx.Done():
			d.breakWait(context.WithoutCancel(ctx), p)
			return ctx.Err()
		}
	}
}

// breakWait sends M108 and waits up to the response timeout for the
// interrupted wait command's ok.
func (d *Driver) breakWait(ctx context.Context, p *Pending) bool {
	if d.Break() != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, d.opts.ResponseTimeout)
	defer cancel()
	_, err := p.Wait(ctx)
	return err == nil
}
