package main

// The CCF process (continuous carbon fibre) and its baselines euler and
// dfs register themselves in init().
import _ "fabcell/processes/ccf"
