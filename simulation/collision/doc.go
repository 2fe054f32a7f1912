// Package collision is fabcell's collision detection for the wire-frame
// process (spec lsg-dqn.md §8.1, Eqs. 5–7) and the arm-level check: convex
// shapes by support functions, GJK distance / intersection and EPA
// penetration depth, the print-head model and its swept volume, a uniform
// grid over printed struts, and the search for the collision-free tool axis
// with minimal rotation on the Gauss sphere.
//
// Frames and units: everything is in the print-bed frame, millimetres; z is
// up and the bed is the plane z = BedZMM. Angles are radians. A tool axis is
// a unit vector from the nozzle tip up into the head.
//
// Layers, bottom up:
//   - Shape (support function) with Point, Segment, Sphere, Capsule, Disc,
//     Frustum (cylinder, cone, truncated cone), Box, Hull, and the
//     combinators Transform, MinkowskiSum/Sweep, HullOf, Inflate. Rounded
//     shapes (core ⊕ ball) let GJK work on their cores.
//   - Distance, WithinDistance, Intersects (GJK; closed form for
//     point/segment cores via geom.SegmentSegment) and Penetration (EPA).
//   - Head: cone + cylinder hull cut at the nozzle; Head.Swept is the
//     swept volume of a straight move at constant orientation.
//   - World: printed struts in a dense uniform grid with O(1)-ish Add/Remove,
//     static obstacles, the bed; FirstHit/Hits/Nearest for any shape
//     (CapsuleHit for arm links).
//   - Checker: MoveHit/MoveFree (Eq. 5), FreeAxes (O_free) and Best (Eq. 6,
//     angle for Eq. 7) over FibonacciAxes or ReleaseAxes.
package collision
