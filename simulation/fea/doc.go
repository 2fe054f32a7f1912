// Package fea is fabcell's linear 3-D frame analysis: the beam FEA that
// gives d_max, the maximal nodal displacement of a partial wire-frame under
// self-weight (spec lsg-dqn.md §8.1, Eq. 8, after Wang et al. 2013), and the
// `fabcell fea` command.
//
// # Model
//
// A Frame holds nodes (metres), supports (a Fixity per node) and elements
// (section in m², m⁴; material in Pa and N/m³). Everything inside the
// package is SI: m, N, N·m, Pa, rad. Conversions from the wire formats
// (millimetre graphs, conmech kN/kN·m/kN·m⁻¹ files, assembly_instances
// kN/cm²) happen once, in FromGraph and ParseLoads.
//
// Each node has 6 DOFs in global axes, in this order:
//
//	ux, uy, uz (m), rx, ry, rz (rad, right-hand rule about +x, +y, +z)
//
// # Element
//
// A rigid (bending-stiff) element is the 12×12 Euler–Bernoulli space-frame
// element (McGuire, Gallagher & Ziemian, Matrix Structural Analysis 2nd ed.,
// ch. 4; spec §8.1): axial EA/L, torsion GJ/L and bending about the
// local y and z axes (12EI/L³, 6EI/L², 4EI/L, 2EI/L), rotated to global axes
// by the direction-cosine matrix Γ (k_global = Tᵀ k_local T, T = diag(Γ,Γ,Γ,Γ)).
//
// Local axes: x runs from end A to end B. y = normalise(v × x) and
// z = x × y, where v is the element's OrientXZ vector (a vector in the local
// x–z plane, as OpenSees' vecxz) or, by default, global +Z; for a member
// within 1e-6 rad of vertical the default becomes global +X. So a horizontal
// member has local z pointing up and a vertical member has local z along
// global X. For round struts (Iy = Iz) the choice does not change any
// result.
//
// A pin-ended element (Element.Pinned, conmech "bending_stiff": false) is
// a truss member: axial stiffness only, and its distributed loads go to its
// ends as forces wL/2 without end moments (simply supported span).
//
// # Loads
//
// A LoadCase combines point loads (force N, moment N·m at a node, global
// axes), uniform element loads (N/m in global axes, over the element
// length) and self-weight (Gravity multiplies each element's weight per
// length γ·A, so Gravity = (0,0,−1) is self-weight acting downward). A
// uniform load w on a rigid element is replaced by its consistent
// (fixed-end) nodal loads: forces wL/2 at both ends and moments
// ±(L²/12)·(x̂ × w), i.e. the familiar wL/2 and wL²/12 expressed in global
// axes. Element end forces add the fixed-end reactions back, so they are
// exact for uniform loads.
//
// # Supports and singular structures
//
// A restrained DOF has zero displacement; its row and column are replaced
// by the identity, and nodes with all six DOFs restrained are left out of
// the system. Before factorising, every connected part of the analysed
// structure must touch at least one restrained DOF, otherwise the solve
// returns a *FloatingError naming its nodes (a strut printed in mid-air).
// A rotation to which no element contributes any stiffness — the rotations
// of a node held only by pin-ended members — is dropped: it is solved as
// zero, listed in Result.Dropped, and a moment on it is an error
// (ErrUnresisted). A translation without stiffness, and any zero or
// negative pivot of the LDLᵀ factorisation (a pivot below PivotTol times
// the DOF's own assembled stiffness), is a mechanism: the solve returns a
// *MechanismError with the failing node and DOF and the nodes that move in
// the mechanism mode (from the null vector of the partial factor). A
// legitimate cantilever strut is never affected: a bending-stiff element
// gives every DOF of its free end stiffness, including the rotation about
// its own axis (torsion GJ/L). Both errors wrap ErrUnstable.
//
// # Solvers
//
// The direct solver (default) is a block (6×6 per node) sparse LDLᵀ
// factorisation: left-looking, elimination tree (Liu) and row-subtree
// symbolic analysis. The node ordering is computed once per Frame: the
// default AutoOrdering tries geometric nested dissection, minimum degree
// and reverse Cuthill–McKee (the classic envelope/skyline ordering) and
// keeps the one with the least predicted work; partial structures use the
// induced order. The iterative solver is conjugate gradients preconditioned
// with the inverse 6×6 diagonal node blocks (block Jacobi, which also
// equalises the metre/radian scaling).
//
// # Incremental evaluation for planning
//
// Session holds a printed set (Add/Remove: the planner's apply/undo) and
// answers WithCandidate(e) — d_max of "printed set + strut e" — without
// changing state. Three methods are implemented (Incremental):
//
//   - Woodbury (default): the printed set is factorised once per state
//     (cached by a Zobrist hash of the printed set, so undo/redo and
//     repeated episodes do not refactor). A strut between two printed or
//     supported nodes is the symmetric rank-≤6 update K + B̃B̃ᵀ (B̃ from the
//     element's natural modes), solved by Sherman–Morrison–Woodbury with a
//     6×6 SPD capacitance matrix and the K⁻¹ columns of its end nodes; a
//     strut hanging from the printed set at a new node is exact static
//     condensation (its weight reaches the root as a force and a moment;
//     the tip follows the root rigidly plus its own cantilever
//     deflection). Node columns are cached per state, so all candidates
//     around the tool share them; the update itself is O(n).
//     Printed sets without a factorisation of their own (the planners'
//     look-ahead trees: the decision's structure plus a few struts) are
//     not factorised: WithCandidate takes a cached state that lacks at
//     most SessionOptions.MaxDelta (8) of the printed struts and solves
//     the bordered system of the missing struts + candidate against its
//     factorisation (delta.go; the nodes the struts touch and the new
//     nodes, 6 DOFs each, a dense LU of ~50–100 unknowns), then sweeps
//     u₀ + Z r over all nodes, skipping nodes whose norm bound cannot
//     reach the maximum. When no such state is cached, the prefix
//     MaxDelta/2 struts back is factorised and serves the next printed
//     sets. It agrees with Refactor within 1e-10 relative (tested to
//     1e-9); pin-ended struts, partially restrained new nodes and
//     unstable structures fall back to factorising the printed set.
//   - Refactor: factorise "printed set + candidate" from scratch.
//   - WarmPCG: PCG on "printed set + candidate" from the printed set's
//     displacements (a new tip node starts at the rigid extension of its
//     root).
//
// Session.Window (and the one-call Session.Local) is the paper's LSG-local
// analysis (spec §8.1): only the printed struts inside the LSG, with LSG
// nodes that have printed struts outside it fixed. It is two orders of
// magnitude cheaper than a global query but measures deformation relative
// to the window boundary, not absolute sag; see the README for measured
// costs and the accuracy trade-off.
package fea
