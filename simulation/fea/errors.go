package fea

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnstable is wrapped by every error that says the structure cannot
// carry load (floating parts, mechanisms). A planner treats it as an
// infinitely bad candidate.
var ErrUnstable = errors.New("structure is unstable")

// ErrUnresisted is returned when a load acts on a DOF that has no
// stiffness at all (a moment on a node held only by pin-ended members).
var ErrUnresisted = errors.New("load on a DOF without stiffness")

// ErrNotConverged is returned by the iterative solver when it reaches its
// iteration limit.
var ErrNotConverged = errors.New("iterative solver did not converge")

// FloatingError: a connected part of the analysed structure has no
// restrained DOF (e.g. a strut printed in mid-air).
type FloatingError struct {
	Nodes []int // nodes of the floating part, sorted
}

func (e *FloatingError) Error() string {
	return fmt.Sprintf("fea: structure is unstable: %d node(s) float without support: %s", len(e.Nodes), listNodes(e.Nodes))
}

// Unwrap returns ErrUnstable.
func (e *FloatingError) Unwrap() error { return ErrUnstable }

// MechanismError: the stiffness matrix is singular at Node/DOF — the
// structure (or part of it) can move without deforming.
type MechanismError struct {
	Node     int     // node whose pivot vanished
	DOF      int     // 0..5 (ux..rz)
	RelPivot float64 // pivot / diagonal stiffness
	Nodes    []int   // nodes that move in the mechanism mode, sorted
}

func (e *MechanismError) Error() string {
	return fmt.Sprintf("fea: structure is unstable: mechanism at node %d %s (pivot/stiffness %.2g); moving nodes: %s",
		e.Node, DOFName(e.DOF), e.RelPivot, listNodes(e.Nodes))
}

// Unwrap returns ErrUnstable.
func (e *MechanismError) Unwrap() error { return ErrUnstable }

func listNodes(n []int) string {
	const max = 12
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range n {
		if i == max {
			fmt.Fprintf(&b, " … %d more", len(n)-max)
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, v)
	}
	b.WriteByte(']')
	return b.String()
}
