package kin_test

import (
	"fmt"
	"math"

	"github.com/golang/geo/r3"

	"fabcell/robot/ur/kin"
	"fabcell/simulation/geom"
)

func Example() {
	// A UR5e carrying a tool whose tip is 150 mm beyond the flange.
	m := kin.UR5e().WithTCP(geom.Pose{R: geom.Identity(), P: r3.Vector{Z: 0.150}})
	home := [6]float64{0, -math.Pi / 2, math.Pi / 2, -math.Pi / 2, -math.Pi / 2, 0}
	tcp := m.FK(home)
	fmt.Printf("home TCP: (%.4f, %.4f, %.4f) m\n", tcp.P.X, tcp.P.Y, tcp.P.Z)

	// Move the tool 5 cm down, keeping its orientation, and pick the
	// solution nearest to home.
	target := tcp
	target.P.Z -= 0.05
	q, err := m.IKNear(target, home)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d solutions; nearest q = %.3f\n", len(m.IK(target)), q)
	kind, _ := m.Singularity(q)
	fmt.Println("singularity:", kind)
	// Output:
	// home TCP: (-0.4919, -0.1333, 0.3379) m
	// 8 solutions; nearest q = [0.000 -1.563 1.691 -1.699 -1.571 0.000]
	// singularity: none
}
