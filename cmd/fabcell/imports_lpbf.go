package main

// The LPBF process and its baselines (zigzag, chessboard) register
// themselves in init().
import _ "fabcell/processes/lpbf"
