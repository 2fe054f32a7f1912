// Package thermal is fabcell's temperature model of an LPBF layer: a scalar
// field T on the nodes of a pixel graph (or any graph with node positions
// in millimetres) that the laser heats node by node, after Huang et al.
// 2024 §4.2.3 (spec lsg-dqn.md §8.3, Eq. 12) and Qin et al. 2023b.
//
// Temperatures are dimensionless, in units of the kernel peak H_max
// (Params.HMax): 0 is the powder-bed base temperature, H_max the cap (an
// uncapped field, Params.Uncapped, holds heat contents in the same units;
// see "Metrics").
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
// Diffusion (default; the paper's description, constants from physics as
// below): one laser step maps the field T_{k−1} to
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
// # Physical calibration (default)
//
// The paper gives the form of the model, not its constants; the release's
// decay 0.52 per step (heat gone after ≈ 4 steps) is not a property of any
// metal. fabcell derives the diffusion model's constants from the material
// and the scan (Physical, config lpbf.thermal_calibration: physical) and
// reads the field as one layer of cubic voxels of edge h = pixel pitch on
// top of the part:
//
//   - Material: AISI 316L (the paper's alloy), k = 16.2 W/(m·K),
//     ρ = 8000 kg/m³, c = 500 J/(kg·K) (AK Steel 316/316L data bulletin,
//     room temperature): α = k/(ρc) = 4.05 mm²/s (≈ 5–6 mm²/s near the
//     melting range, Mills 2002).
//   - Time step: one laser step lasts Δt = h/v: 0.05 mm / 800 mm/s =
//     62.5 µs (lpbf.spacing_mm, lpbf.scan_speed_mm_s).
//   - In-plane diffusion: the explicit (FTCS) discretisation of
//     ∂T/∂t = α∇²T on the pixel grid is exactly the sub-step
//     T ← T − (α·Δt_sub/h²)·L·T of this package, so one laser step is
//     Fo = α·Δt/h² = 0.10125 of Laplacian rate, split into
//     n = ⌈Fo·(4 + G)⌉ sub-steps (1 at the defaults) to keep the maximum
//     principle. The calibrated field spreads a point's heat with variance
//     2αt per axis, as the continuous equation does (tested), i.e. by
//     √(4αΔt) = 32 µm per laser step: less than a pixel, so one ring per
//     step is the physical support.
//   - Loss to the material under the layer (the decay δ): the voxel's
//     fifth link, to the solid below (earlier layers, the build plate),
//     treated like an in-plane link whose far end stays at the base
//     temperature: each sub-step loses G·rate of the heat, so
//     δ = (1 − G·Fo/n)^n = 0.89875 per laser step (G =
//     lpbf.substrate_conductance, 1 for a solid below, ≈ 0.01 for powder
//     below an overhang). Equivalently heat leaves with the time constant
//     h²/(G·α) ≈ 0.6 ms ≈ 10 laser steps. The powder beside the part is
//     not part of the graph (an insulated boundary): loose 316L powder
//     conducts ≈ 0.1–0.3 W/(m·K) (Rombouts et al., J. Appl. Phys. 97,
//     024905, 2005), 1–2 % of the solid. Radiation and convection from
//     the top are negligible over Δt (εσT⁴ at the melting point is
//     ≈ 2·10⁵ W/m², i.e. ≈ 4·10⁻⁵ of the voxel's heat per step).
//   - Energy: the kernel of Eq. 12 deposits Σh = 8.12 H_max·pixels per
//     step; reading H_max as the rise to the solidus (1355 K) in one voxel
//     of h³ that is 8.12 × 0.68 mJ = 5.5 mJ, the energy a laser of 200 W
//     with absorptivity 0.44 delivers in Δt (316L: 0.3–0.7 depending on the
//     melt mode) — the kernel, the voxel depth h and the loss rate are
//     consistent with each other.
//
// What the model cannot do (measured in the tests): the quasi-steady
// point-source solution of Rosenthal for a thick 316L plate keeps the track
// behind a 200 W, 800 mm/s laser above half the melting rise for
// AP/(π·k·ΔT_m) = 0.55–1.45 mm (A = 0.3–0.5, k = 16–25 W/(m·K)), i.e.
// 11–29 pixels; the calibrated field keeps it there for 8 pixels (a point's
// history: capped for 3 steps, then ×0.89 per step; the release constants:
// 3 pixels). Real heat under the
// spot warms the substrate, which then gives heat back — a t^(−1/2) tail
// that a constant per-step loss cannot represent — so the model forgets
// heat somewhat faster than the metal does, but on the right time scale
// (10 steps, against 4 for the release constant 0.52). Set
// lpbf.thermal_calibration: manual to use diffusion_rings,
// diffusion_rate and decay as given.
//
// The hot threshold of the metrics (lpbf.hot_threshold, default 0.5 H_max)
// is relative to the kernel: h(d) > 0.5 H_max for d < 0.5^(1/0.8)·r =
// 1.26 pitches, so one deposit on cold material heats exactly its pixel and
// the four side neighbours above it (the spot and its melt-pool rim);
// every further hot pixel is accumulated or re-deposited heat. In kelvin
// it is half the rise to the solidus, ≈ 700 °C for 316L, where its yield
// strength has fallen to about half the room-temperature value.
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
// # Metrics (Evaluate)
//
// Evaluate replays a laser order v_0, v_1, … on the field T the planner sees
// and, alongside, on its uncapped twin U: the same model, parameters and
// order, with every kernel added without the cap (Params.Uncapped), so U
// is linear in the deposits — the superposition of what each earlier
// step left at each node. Per step k ≥ 1 it records
//
//   - the preheat T_{k−1}(v_k): the capped temperature the laser meets on
//     arrival, the quantity Eq. 13 penalises (PeakPreheat, PreheatP95,
//     MeanPreheat, PreheatStd, CappedSteps);
//   - the residual heat R_k = U_{k−1}(v_k): the heat the earlier exposures
//     have left in the pixel the laser is about to melt (PeakResidual,
//     ResidualP95, MeanResidual); R_k = T_{k−1}(v_k) while no cap was hit;
//   - the hot area: scanned nodes with T_k above the hot threshold.
//
// Peak temperature is the peak residual heat, max_k R_k (the LPBF
// evaluator's peak_temperature). Heat accumulation is what a process
// engineer watches for overheating and distortion: heat left by earlier
// tracks where the laser is about to melt raises the melt pool's peak
// temperature and size above those of a track on cold material (keyhole
// pores, balling, a larger heat-affected zone, larger thermal strain).
// Scan strategies are rated by the same quantity, e.g. the residual heat
// factor of Yeung & Lane (Manufacturing Letters 25, 2020), a weighted sum
// of the earlier exposures near the next point. R_k excludes what the
// laser itself imposes (its own deposit, H_max at v_k by construction) and
// is not clipped: the cap of T stands for the melt temperature — above it
// real material stores the extra energy as latent heat and melt-pool
// superheat, it does not lose it — so max T_{k−1}(v_k) stops at H_max
// (every planner reaches it on every test layer of package lpbf/compare)
// while U keeps the heat. Reading: R = 0 on cold material; a straight
// hatch line through a cold layer carries R ≈ 0.87 H_max with the default
// physical calibration (the spot's own previous deposits one and two
// pitches back, 0.585 + 0.277·δ, plus diffusion); R > 1 means the pixel
// holds more heat before its exposure than one deposit gives its own
// pixel — a hot spot (a short hatch, a corner, a return next to a fresh
// track). R is a heat content in units of H_max, not a thermometer reading
// above the melt temperature.
//
// A planner that wants to see R_k while it plans keeps a residual field
// beside its own (Field.NewResidual: a cold uncapped field sharing the
// kernel index, stepped and undone with the planner's field); before the
// laser reaches v its Temp(v) is, bit for bit, the R_k that Evaluate
// reports. The LPBF session's hot-spot rule reads it (package
// processes/lpbf, "Session rules").
//
// Two alternatives were measured and rejected because they do not depend
// on the scan order: the largest T at a scanned pixel outside the laser's
// current kernel disc is the trail of the laser's own track one kernel
// radius behind it, δ·H_max (0.8988 with the physical calibration); the
// largest T a scanned pixel reaches again after it has cooled below the
// hot threshold is H_max (one neighbouring deposit alone gives
// 0.585 H_max) — both for all four LPBF planners on the four CLI test
// layers of package lpbf/compare where this was measured (cylinder#0,
// cylinder#5, lanze#0, box#101).
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
