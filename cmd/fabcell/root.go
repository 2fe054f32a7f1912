package main

import (
	"fmt"
	"sort"
	"sync"

	"github.com/spf13/cobra"
)

// usageError marks errors caused by wrong flags or arguments (exit code 2).
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

var (
	cmdMu       sync.Mutex
	subcommands = map[string]func() *cobra.Command{}
)

// addCommand registers a sub-command constructor; each command lives in its
// own file and calls this from init().
func addCommand(name string, f func() *cobra.Command) {
	cmdMu.Lock()
	defer cmdMu.Unlock()
	if _, dup := subcommands[name]; dup {
		panic("fabcell: duplicate command " + name)
	}
	subcommands[name] = f
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "fabcell",
		Short: "Controller for robotic multi-process fabrication cells (UR5e, wire-frame, CCF, LPBF)",
		Long: `fabcell plans toolpaths on the fly with the LSG-DQN planner, checks every step against
collision, FEA, thermal and safety limits, and dispatches to a UR5e (RTDE / URScript), a
dual-nozzle extrusion head (serial) and an LPBF scanner (MQTT) — or to its built-in
simulators in a dry run.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("config", "", "cell configuration YAML (default: built-in defaults)")
	names := make([]string, 0, len(subcommands))
	for n := range subcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		root.AddCommand(subcommands[n]())
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	return root
}
