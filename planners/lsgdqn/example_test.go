package lsgdqn_test

import (
	"context"
	"fmt"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph"
	"fabcell/planners/lsgdqn"
)

// Plan a real wire-frame (Femur, 772 struts) with the travel test process,
// streaming moves as they are decided.
func Example() {
	cfg := config.Defaults()
	cfg.Planner.Ring = 2
	cfg.Planner.EpisodeFactor = 2 // small learning budget for the example
	cfg.Planner.PatienceFactor = 1
	cfg.Planner.E2EChannels = 4
	cfg.Planner.Hidden = 32
	proc, _ := planners.NewProcess("travel", cfg)
	g, err := graph.Load("testdata/NodeFemur_wireframe.txt", graph.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	sess, _ := proc.NewSession(g)
	p, err := lsgdqn.New(planners.Options{Config: cfg.Planner, Process: proc})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	moves, wait := planners.Stream(ctx, p, sess, 16)
	prints := 0
	for m := range moves { // a controller would execute m here
		if m.Kind == planners.Print {
			prints++
		}
	}
	if err := wait(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("struts printed:", prints, "of", g.NumEdges())
	// Output: struts printed: 772 of 772
}
