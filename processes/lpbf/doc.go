// Package lpbf is the laser-powder-bed-fusion process (paper §4.1.3,
// §4.2.3; spec lsg-dqn.md §2 application 3, §8.3, §11): one layer of a part
// is rasterised into pixels of the laser spot size (a planners/graph Pixel
// graph: PNG masks or CLI layers rasterised at lpbf.spacing_mm), every pixel
// is scanned exactly once, and the scan order should keep the laser moving
// into cool material so that the hot area — and with it the thermal
// distortion — stays small.
//
// The package provides:
//
//   - the process "lpbf" (planners.RegisterProcess): a Session over the
//     pixel graph with coverage "all nodes once", candidates = unvisited
//     4-neighbours, the temperature field of package simulation/thermal
//     updated incrementally on every Apply/Undo, the step reward of Eq. 13,
//     the jump rule of §11, the session rules below and NodeHeat for the
//     LSG state (§5.1);
//   - the baselines "zigzag" (raster, alternating direction per row) and
//     "chessboard" (square islands of lpbf.chessboard_island_mm, scan
//     orientation alternating by island colour, islands in checkerboard or
//     raster order), registered for this process only;
//   - one shared evaluator (Evaluate) that turns any node order into the
//     thermal and scan metrics, used by Session.Metrics and therefore by
//     `fabcell plan` for every planner and by `fabcell evaluate`;
//   - scan vectors (maximal straight runs of consecutive pixels) with a
//     mark/jump timing estimate, and the artifacts "cli" (ASCII CLI scan
//     vectors with per-vector power and speed), "cli-binary" (the same in
//     binary CLI) and "plot" (PNG heat map of the thermal history).
//
// # Reward (Eq. 13)
//
// Session.Reward returns the undiscounted step reward; the planner applies
// the discount D(k):
//
//	r = (H_max − T(v_{k+1})) − H_max·[revisit]
//
// where T is the field after the laser reached v_k (it includes the kernel
// at v_k, as in the release) and [revisit] is 1 for a move that does not
// scan a new pixel by a 4-neighbour step: a Travel onto a scanned pixel, or
// a Jump (the release fires the penalty right after a jump, when its
// 3-node history repeats one node). A scan step thus earns H_max − T ∈
// [0, H_max] — the cooler the target, the better — and a jump earns
// −T ≤ 0, so planners do not seek dead ends.
//
// # Jumps (§11)
//
// When the laser has no unvisited 4-neighbour, Jump moves it to the
// coolest unvisited pixel and, among equally cool ones (in practice the
// many pixels at T = 0), to the one farthest from the laser — the release
// jumps to the farthest unvisited node because it is the coolest; fabcell
// asks the thermal field directly and uses the Euclidean distance, which
// unlike the release's graph distance is defined across the disconnected
// islands CLI layers often have. Pixels whose only two free neighbours lie
// on opposite sides of them are skipped — landing there would split a scan
// line in two — unless every unvisited pixel is such a splitter. Ties go
// to the lower node index.
//
// # Session rules (fabcell extensions of Eq. 13 and §11)
//
// Eq. 13 is myopic and reads a field capped at H_max: above the cap every
// move looks equally hot, so a planner that follows it can curl around a
// pixel, heat it from all sides and enter it last — the peak residual heat
// (peak_temperature) of the plain Eq. 13 planner was the highest of all
// planners on 7 of the 9 README layers. Eight rules of the session, set in
// the lpbf configuration, address that and the hot area; they change which moves the
// session offers and what it rewards, so every planner that drives the
// session follows them (lsg-dqn, and greedy as its one-step version, bfs,
// random), while the zigzag and chessboard baselines replay fixed orders
// and the shared evaluator is the same for all.
//
//   - Hot-spot rule (lpbf.max_residual_heat, units of H_max, default 1.8,
//     0 = off): LPBF practice — do not melt a pixel that is still hot. The
//     session keeps the residual-heat field the evaluator measures (Residual:
//     thermal.Field.NewResidual, the uncapped twin of the planner's field,
//     stepped and undone with it, cost per step local as for the field), so
//     planner and evaluator agree bit for bit. A scan step onto a neighbour
//     whose residual heat exceeds the threshold is not offered while a
//     cooler neighbour is; when all neighbours are that hot, none is offered
//     and the planner takes the §11 jump — to the coolest, farthest unvisited
//     pixel that does not split a scan line, "coolest" read on the residual
//     field — and the hot pixel is scanned later, once it has cooled. When
//     no unvisited pixel of the layer is at or below the threshold (the last
//     pixels of a layer), the coolest pixel left is taken: a neighbour if it
//     is one, else by a jump, which then may split a scan line.
//   - Fewest neighbours (lpbf.warnsdorff, default "mask"; Warnsdorff's
//     rule): only the scan steps onto the unvisited neighbours with the
//     fewest unvisited neighbours of their own are offered, and this
//     comes before the hot-spot rule — if those pixels are too hot the
//     laser jumps instead of taking a cooler neighbour along the track.
//     Pixels that would be left beside the track are scanned while their
//     neighbours are still hot (the heat of the second pass goes into
//     pixels at the cap instead of reheating cooled ones): a 3-pixel wall
//     is scanned across in short blocks, not along and back. O(1) per
//     Candidates call (≤ 4 pixels × 4 neighbours).
//   - Stranding (lpbf.stranding, default "mask"): a scan step from c to t
//     strands the unvisited pixels next to c or t that have no unvisited
//     neighbour left after it (they can only be entered from a dead end or
//     by a jump, typically last and hot). "mask" offers only the steps that
//     strand the fewest pixels (Warnsdorff's rule, local: ≤ 8 pixels × 4
//     neighbours per step); "penalty" subtracts lpbf.stranding_penalty·H_max
//     per stranded pixel from the reward instead.
//   - Reward heat (lpbf.reward_heat, default "capped" = Eq. 13 as released):
//     "residual" makes Eq. 13 read the residual heat, so moves still differ
//     above the cap (scan-step reward H_max − R ≤ H_max, unbounded below).
//   - Hot-area term (lpbf.hot_area_weight, default 0.3, 0 = off): Eq. 13
//     judges a move by the heat of the one pixel it enters, but the
//     kernel heats the whole disc around it, and hot_area_mm2 counts the
//     scanned pixels of that disc that stay above lpbf.hot_threshold. Every
//     move (scan step or jump) therefore loses hot_area_weight·H_max per
//     scanned pixel, the entered one included, that is hot after it: the
//     field takes the step and is undone (exact, O(active set) per
//     Reward), so the term is the move's share of the evaluator's hot-area
//     integral (thermal.Report.HotNodes) and a planner's return sums it.
//     Scan-step rewards stay ≤ H_max − weight·H_max.
//   - Reheat rule (lpbf.reheat_jump = m pixels, default 1, 0 = off): a
//     step onto t reheats the scanned pixels of t's kernel disc that were
//     at or below the hot threshold after the model's time step and are
//     above it after t's kernel (thermal.Field.KernelRise; the time step
//     does not depend on where the laser goes, so these are exactly the
//     pixels the step adds to the hot-area integral beyond the move
//     itself). When every offered step reheats at least m pixels and the
//     §11 jump target m fewer, no step is offered and the laser jumps.
//     Jump targets then prefer pixels with no scanned pixel inside their
//     kernel disc (among equally cool ones). Cost per Candidates call:
//     one field step and undo per candidate (O(active set)), plus a jump
//     search (O(unvisited pixels)) only when every step reheats.
//   - Jump target (lpbf.jump_target, default "nearest"): ties between
//     equally cool jump targets go to the nearest pixel at least
//     lpbf.jump_min_radii (default 2) kernel radii from the laser — nearer
//     ones only after all others — not to the farthest as released (§11):
//     with the reheat rule's many jumps "farthest" gave the bracket 14.6 s
//     of scan time (README "LPBF"); without the minimum distance jumps
//     landed beside pieces the track was about to reheat (lanze#70's peak
//     rose above the baselines'). "farthest" restores the release.
//   - Local width: the session classes every pixel once per layer by the
//     largest square of layer pixels that contains it — width 1 (in no
//     2 × 2 square: 1-px lines, their corners and ends), width 2 (in a
//     2 × 2 but no 3 × 3 square: 2-px walls) or wider. The two thin
//     rules below read only this class and the thermal state, never the
//     layer's name or size. Cost O(13·pixels) per session.
//   - Thin tie-break (lpbf.thin_width_px, default 2, 0 = off): when the
//     laser's pixel has local width ≤ thin_width_px, ties of the
//     fewest-neighbours rule go to the neighbours with the fewest
//     unvisited pixels among their eight side and corner neighbours. On a
//     2-px wall the fewest-neighbours rule alone ties "along" and
//     "across" once the laser has landed mid-wall, and lsg-dqn went along,
//     leaving the other row to be scanned later beside cooled pixels
//     (every pixel of it reheats one: 1-px distance gives 0.585 H_max,
//     above the 0.5 hot threshold); the tie-break takes the pixel the
//     track would otherwise leave behind, so the wall is scanned across in
//     serpentine blocks that the hot-spot rule ends (jumps to cool
//     material). O(1) per Candidates call.
//   - Line rule (lpbf.line_run_px = R, default 2, 0 = off;
//     lpbf.line_jump_radii, default 4): on a 1-px line the laser scans
//     runs of at most R pixels of width 1, then no scan step is offered
//     (while another unvisited pixel is left) and it jumps — to the
//     coolest unvisited pixel, virgin pixels first, the nearest at least
//     line_jump_radii kernel radii away, and here a pixel that splits a
//     line is allowed (splitting lines is the point). Short runs spread
//     over the line like chessboard islands chosen by the thermal field:
//     a turn or a run into pixels the kernel has preheated is where heat
//     stacks on a 1-px line (residual 1.145 H_max at every corner of a
//     loop; 0.88 in a straight run), and the runs placed later start and
//     end beside pixels that have cooled for a lap. The run is read from
//     the move history (O(R), nothing to undo). Costs jumps: about one per
//     R pixels of 1-px line (box#300: 753 on 1,354 pixels).
//
// The defaults of the first three rules come from the README comparison
// (one run, nine layers); the hot-area term and its weight were checked
// on the held-out layers as well (package masks, HeldOut; compare -layers
// heldout). The thin tie-break and the line rule were chosen on synthetic
// 2-px walls (20–401 px long) and 1-px loops, lines, grids and combs
// (thin_test.go and the measurements in the README), then checked on the
// 40 table and held-out layers.
// With the rules off the session is Eq. 13 and §11 exactly as above.
//
// # Metrics
//
// Evaluate applies the same thermal model to every order, whoever planned
// it (Evaluation.Map lists the keys). The thermal ones are those of
// thermal.Report (package simulation/thermal, "Metrics"):
// peak_temperature is the peak residual heat — the most heat the earlier
// exposures left in a pixel before the laser melts it, from the uncapped
// twin of the field, so it is not clipped at h_max and separates orders
// that keep moving into cold material from orders that return into
// material they just heated; peak_preheat, preheat_p95 and mean_preheat
// describe the capped field the planner sees (what Eq. 13 penalises);
// hot_area_mm2 is the mean scanned area above lpbf.hot_threshold·h_max.
//
// # Scan vectors and timing
//
// A scan vector is a maximal run of consecutive pixels of the order that
// are 4-neighbours in one constant direction; it goes from the centre of
// its first pixel to the centre of its last one (a single pixel gives a
// zero-length vector). Between vectors the laser is off (a galvo jump,
// also between two vectors that touch at a corner). The estimate is
//
//	t = Σ_vectors (length/scan_speed + mark_delay) + Σ_gaps (distance/jump_speed + jump_delay)
//
// with the speeds and delays of the lpbf configuration.
//
// Geometry convention (masks, vectors, CLI, plot): pixel (col, row) of the
// layer's grid covers [col·s, (col+1)·s) × [row·s, (row+1)·s) mm (row grows
// with y; a PNG's top image row is the layer's top row) and is melted by
// the spot centred on it. A vector's spot centre therefore stays on the
// centres of its own pixels — the half-spot beam offset of hatching, with
// the spot as wide as a pixel — and never runs over powder or a hole.
//
// Point exposures. A one-pixel vector is a zero-length hatch: the CLI has
// no dwell time, so the file asks for a mark of length 0 (the estimate
// counts mark_delay only, and build processors commonly drop vectors below
// a minimum length), while the thermal model deposits a full step of
// spacing/scan_speed in every pixel. Orders that leave many single pixels
// between jumps (greedy, lsg-dqn with the session rules) are thus modelled
// with energy the file does not deliver; point_vectors counts them so the
// operator sees it.
package lpbf
