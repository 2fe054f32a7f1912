package main

// Planners and processes register themselves in init(); each
// imports_*.go file in this directory pulls one of them in.
import (
	"fabcell/config"

	_ "fabcell/planners/baseline"
)

func defaultCell() config.Cell { return config.Defaults() }
