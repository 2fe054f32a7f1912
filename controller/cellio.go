package controller

import (
	"errors"
	"fmt"
	"sync"
)

// CellIO holds the cell's live connections, shared by the jobs a Manager
// runs one after another: the robot link, the dual-nozzle head's serial
// driver and the LPBF machine link — or, in a dry run, the same clients
// connected to fabcell's simulators. Adapters take what their process
// needs and report a clear error when a connection is missing.
type CellIO struct {
	// DryRun is true when every device is a built-in simulator.
	DryRun bool

	mu      sync.Mutex
	devices map[string]any
	lazy    map[string]func() (any, func() error, error)
	errs    map[string]error
	closers []func() error
	sims    sync.Map // simulators started by lazy devices (name → value)
}

// Simulator returns a simulator a lazy device started in a dry run (e.g.
// "boardsim", the dual-nozzle board simulator), for tests and telemetry.
func (c *CellIO) Simulator(name string) (any, bool) { return c.sims.Load(name) }

// NewCellIO returns an empty connection set.
func NewCellIO(dryRun bool) *CellIO {
	return &CellIO{DryRun: dryRun, devices: map[string]any{}, lazy: map[string]func() (any, func() error, error){}, errs: map[string]error{}}
}

// SetLazy registers a device opened on first use (process hardware that
// only some jobs need: the extruder board, the LPBF machine). A failed open
// is remembered and reported by DeviceErr; the next Reset retries it.
func (c *CellIO) SetLazy(name string, open func() (any, func() error, error)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lazy[name] = open
}

// DeviceErr returns the device registered under name, opening a lazy one
// on first use; the error says why it is not available.
func (c *CellIO) DeviceErr(name string) (any, error) {
	if c == nil {
		return nil, fmt.Errorf("no cell connections (device %q)", name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.devices[name]; ok {
		return d, nil
	}
	if err, ok := c.errs[name]; ok {
		return nil, err
	}
	open, ok := c.lazy[name]
	if !ok {
		return nil, fmt.Errorf("no %s connection", name)
	}
	d, closer, err := open()
	if err != nil {
		err = fmt.Errorf("open %s: %w", name, err)
		c.errs[name] = err
		return nil, err
	}
	c.devices[name] = d
	if closer != nil {
		c.closers = append(c.closers, closer)
	}
	return d, nil
}

// Set registers a device under a name ("robot", "extruder", "lpbf") and an
// optional closer run by Close (in reverse order).
func (c *CellIO) Set(name string, dev any, closer func() error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.devices[name] = dev
	if closer != nil {
		c.closers = append(c.closers, closer)
	}
}

// OnClose adds a closer (simulators started for a dry run).
func (c *CellIO) OnClose(f func() error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closers = append(c.closers, f)
}

// Device returns the device registered under name (opening a lazy one).
func (c *CellIO) Device(name string) (any, bool) {
	d, err := c.DeviceErr(name)
	return d, err == nil
}

// Close closes every device and simulator, last opened first.
func (c *CellIO) Close() error {
	c.mu.Lock()
	cl := c.closers
	c.closers = nil
	c.mu.Unlock()
	var errs []error
	for i := len(cl) - 1; i >= 0; i-- {
		if err := cl[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Robot returns the robot link, or an error naming what is missing.
func (c *CellIO) Robot() (*RobotLink, error) {
	d, ok := c.Device("robot")
	if !ok {
		return nil, errors.New("no robot connection: set robot.host in the cell configuration, or run with --dry-run")
	}
	return d.(*RobotLink), nil
}
