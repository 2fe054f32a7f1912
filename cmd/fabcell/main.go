// Command fabcell is the controller of a robotic multi-process fabrication
// cell: it loads models, plans toolpaths (LSG-DQN and baselines), checks
// them against simulation and safety limits, and dispatches them to a UR5e,
// a dual-nozzle head and an LPBF scanner — or to the built-in simulators in
// a dry run. Run `fabcell help` for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	if err := root.ExecuteContext(ctx); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(os.Stderr, "fabcell:", err)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "fabcell:", err)
		os.Exit(1)
	}
}
