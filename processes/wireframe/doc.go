// Package wireframe is fabcell's robotic wire-frame printing process
// (Huang et al. 2024, paper §4.1.1, §4.2.1; spec lsg-dqn.md §2, §8.1,
// §11): a UR5e carries an extrusion head and prints every strut of a graph
// exactly once along its straight line, without the head or the arm
// hitting what is printed, keeping the gravity sag of every partial
// structure small.
//
// Frames and units: model coordinates are the print-bed frame in
// millimetres (z up, the bed plane through the lowest node); the bed
// frame sits in the robot base frame as robot.bed_frame (or the model's
// base_frame_in_rob_base with robot.use_model_bed_frame). A head axis is a
// unit vector in the bed frame from the nozzle tip up into the head; the
// TCP z axis points the other way. Rewards are in the units of Eqs. 5–8:
// radians of head rotation and millimetres of sag times their weights
// (Eq. 8's d_max per step, and fabcell's rise of the job's running
// maximum sag, whose sum over a job is its maximum sag).
// Robot steps (Motions) are in the base frame in metres and radians.
//
// Pieces:
//   - Process (registered as "wireframe"): Load, NewSession, artifacts
//     "urscript" (a complete URScript program), "plot" (PNG: toolpath by
//     order and displacement curve) and "report" (JSON per-strut report).
//   - Session: coverage, candidates, reward (Eqs. 5–8), Apply/Undo, the
//     jump rule (§7.3), the arm-level check and the metrics.
//   - Motions: planner moves → robot Steps, one move at a time, for the
//     URScript artifact and for a controller streaming over RTDE.
package wireframe
