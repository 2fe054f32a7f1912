package extruder

import (
	"context"
	"fmt"
	"io"
	"time"

	"go.bug.st/serial"

	"fabcell/config"
)

// OptionsFromConfig maps the serial section of the cell file (seconds at
// the config boundary) to driver options.
func OptionsFromConfig(c config.Serial) Options {
	return Options{
		ResponseTimeout: time.Duration(c.ResponseTimeoutS * float64(time.Second)),
		HeatTimeout:     time.Duration(c.HeatTimeoutS * float64(time.Second)),
		MaxResends:      c.MaxResends,
		InFlight:        c.InFlight,
	}
}

// OpenPort opens a serial port by name at baud, 8N1, no flow control,
// through go.bug.st/serial. It asserts DTR and RTS (some USB-CDC boards
// only transmit while DTR is set) but ignores errors from them: pseudo-
// terminals and some adapters have no modem lines.
func OpenPort(name string, baud int) (io.ReadWriteCloser, error) {
	if name == "" {
		return nil, fmt.Errorf("extruder: no serial port name")
	}
	p, err := serial.Open(name, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("extruder: open %s at %d baud: %w", name, baud, err)
	}
	_ = p.SetDTR(true)
	_ = p.SetRTS(true)
	_, _ = p.GetModemStatusBits() // probe only; a pty answers ENOTTY
	return p, nil
}

// Open opens the named port with the baud rate and timeouts of c, starts a
// driver and resets the line numbering (Reset). trace may be nil.
func Open(ctx context.Context, name string, c config.Serial, trace func(dir byte, line string)) (*Driver, error) {
	p, err := OpenPort(name, c.Baud)
	if err != nil {
		return nil, err
	}
	opts := OptionsFromConfig(c)
	opts.Trace = trace
	d := New(p, opts)
	if err := d.Reset(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("extruder: %s: %w", name, err)
	}
	return d, nil
}
