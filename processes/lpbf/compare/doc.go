// Package compare measures the LPBF planners side by side with the shared
// evaluator of package lpbf: lsg-dqn (planners/lsgdqn), the LPBF baselines
// zigzag and chessboard, and the generic greedy. It has no exported API;
// its tests check that every planner scans each pixel of the test layers
// exactly once (from the plan file, as `fabcell plan` writes it), its
// -table flag regenerates the README comparison (-layers table, the
// default) or runs it on the held-out layers the session rules were not
// tuned on (-layers heldout: the generated masks of package masks,
// HeldOut, and CLI layers of the same files not in the table; -layers
// all for both) and ends with one row per layer saying whether lsg-dqn
// has a lower hot area and peak temperature than both baselines, and its
// benchmarks
// measure planning time on a 15k-pixel layer and the cost floor of an
// inference-only LSG-DQN decision.
//
// It is a separate package so that package lpbf's own tests do not depend
// on the LSG-DQN planner.
package compare
