package main

// The LSG-DQN planner and the baselines (greedy, bfs, random) register
// themselves in init().
import (
	_ "fabcell/planners/baseline"
	_ "fabcell/planners/lsgdqn"
)
