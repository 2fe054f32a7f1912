// Package thermal is fabcell's temperature model of an LPBF layer: a scalar
// field T on the nodes of a pixel graph (or any graph with node positions
// in millimetres) that the laser heats node by node, after Huang et al.
// 2024 §4.2.3 (spec lsg-dqn.md §8.3, Eq. 12) and Qin et al. 2023b.
//
// Temperatures are dimensionless, in units of the kernel peak H_max
// (Params.HMax): 0 is the powder-bed base temperature, H_max the cap.
//
// # Heat kernel (Eq. 12)
//
// When the laser reaches node c, every node v with d = ‖v − c‖ ≤ r receives
//
//	h(d) = H_max · (1 − (d/r)^0.8),   r = RadiusFactor · l̄,
//
// l̄ the mean edge length (the pixel pitch on a pixel graph); h(0) = H_max,
// h(r) = 0. The kernel is added to the existing temperature and the sum is
// capped: T ← min(H_max, T + h). That is the authors' release rule and the
// one fabcell keeps, because (a) heat input is additive — two passes close
// together leave more heat than one, which is exactly what a planner must
// learn to avoid — whereas max(T, h) would make a pixel next to a hot one
// look no hotter than a fresh one; and (b) the cap keeps T in [0, H_max], so
// the reward of Eq. 13 (H_max − T) stays non-negative and the network input
// stays normalised. The cap stands for the melt temperature: beyond it the
// extra energy goes into latent heat / the melt pool, not into T.
//
// # Models
//
// Diffusion (default; the paper's description): one laser step maps the
// field T_{k−1} to
//
//	T_k = min(H_max, δ · (I − αL)^n T_{k−1} + K(v_k))
//
// where L = D − A is the graph Laplacian (4-neighbour links of the pixel
// graph; pixels outside the part are not nodes, so the part boundary is
// insulated — the powder conducts little), α = Params.Rate, n =
// Params.Rings (the operator (I − αL)^n is supported on the n-ring: heat
// spreads at most n rings per laser step), δ = Params.Decay (heat lost to
// the build plate and the gas per step) and K(v_k) the kernel at the new
// laser node, added with the cap. With α·deg_max ≤ 1 the matrix I − αL is
// symmetric and doubly stochastic with non-negative entries, so each
// diffusion sub-step conserves the total heat and every new value is a
// convex combination of old values (no new maxima, no negative
// temperatures). New refuses α·deg_max > 1.
//
// Decay (option "decay"; the authors' release): T_k is rebuilt from the
// last W = Params.Window laser nodes, oldest first, T ← min(H_max, δ·T +
// K(w)) from T = 0 (release: δ = 0.52, W = 8). There is no diffusion and
// no truncation: the field is exact.
//
// The field after Step(v_k) is the state the planner sees while it chooses
// v_{k+1}: it includes the fresh kernel at v_k (as in the release), so the
// reward H_max − T(v_{k+1}) of Eq. 13 prefers neighbours that are cool in
// spite of the spot next to them.
//
// # Locality and truncation
//
// The field stores T densely (one float64 per node, so reads are O(1)) and
// keeps the list of nodes with T > 0, the active set. A step touches only
// the active set, its n-ring and the kernel disc — never the whole layer.
// In the diffusion model, after the decay every active value below
//
//	ε = Tolerance · H_max · (1 − δ)
//
// is set to 0 and leaves the active set. Each step thus changes the field by
// less than ε per node (max norm); the diffusion sub-steps do not increase
// the max norm of a difference (stochastic matrix), the decay multiplies
// it by δ and the capped addition min(H_max, · + h) is 1-Lipschitz, so the
// errors of all past steps add up to at most
//
//	‖T_truncated − T_exact‖∞ ≤ ε · (1 + δ + δ² + …) = ε / (1 − δ) = Tolerance · H_max
//
// at every step (Field.ErrorBound). Because the total heat in the field is
// at most |K|·H_max/(1 − δ) (|K| the kernel size; diffusion conserves heat,
// decay and cap remove it) and every node that survives the truncation
// holds at least ε, after each step the active set has at most
// |K|/((1 − δ)²·Tolerance) + |K| nodes whatever the layer size (during the
// step it grows by at most n rings); in practice it is the kernel discs of
// the last dozen laser nodes and their rings (about 600 nodes with the
// defaults, see BenchmarkStep). Diffusion with δ = 1 would never forget
// anything and is refused.
//
// # Undo
//
// Step records the active entries it is about to change (node, old value)
// so that Undo restores the previous field bit for bit, as the planners'
// look-ahead needs (planners.Session contract). The last Params.UndoDepth
// steps keep such snapshots; undoing further back rebuilds the field from
// the recorded laser nodes (exact, just slower).
package thermal
