package controller

import (
	"errors"
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
	closers []func() error
}

// NewCellIO returns an empty connection set.
func NewCellIO(dryRun bool) *CellIO { return &CellIO{DryRun: dryRun, devices: map[string]any{}} }

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

// Device returns the device registered under name.
func (c *CellIO) Device(name string) (any, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.devices[name]
	return d, ok
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
