package compare

import (
	"time"

	"fabcell/planners/lsgdqn"

	"golang.org/x/sys/unix"
)

const (
	bracketPNG = "../masks/testdata/bracket.png"
	hookPNG    = "../masks/testdata/hook.png"
	bracket20k = "../masks/testdata/bracket-20k.png"
	cliDir     = "../../../planners/graph/commonlayer/testdata/"
)

// processCPU returns the process CPU time (user + system): the machine is
// shared and oversubscribed, so wall time is not a fair measure.
func processCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// recommended returns the LSG-DQN options of the fast LPBF preset: the
// release's algorithm at ring n with a 4× smaller episode budget
// (episode_factor 10) and a narrower network (E2E/E2N 4 channels, hidden
// 64) — every field has a config key (planner.ring, episode_factor,
// e2e_channels, hidden).
func recommended(n int) lsgdqn.Options {
	o := lsgdqn.DefaultOptions()
	o.Ring = n
	o.NMax = 40 * n
	o.EpisodeFactor = 10
	o.Net.E2E = [2]int{4, 4}
	o.Net.E2N = 4
	o.Net.Hidden = 64
	o.ExactMaxLeaves = 0 // learned decisions, as planner.per_process.lpbf
	return o
}
