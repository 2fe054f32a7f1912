package collision_test

import (
	"fmt"
	"math"

	"github.com/golang/geo/r3"

	"fabcell/config"
	"fabcell/simulation/collision"
	"fabcell/simulation/geom"
)

// The wire-frame planner's loop: printed struts go into a World, each
// candidate move asks the Checker for the collision-free tool axis closest
// to the previous one (Eq. 6), and undo removes the strut again.
func ExampleChecker_Best() {
	cfg := config.Defaults().Wireframe // release head, 64 axes within 60°
	w, err := collision.NewWorld(collision.Options{})
	if err != nil {
		panic(err)
	}
	c, err := collision.NewCheckerFromConfig(w, cfg)
	if err != nil {
		panic(err)
	}
	r := collision.StrutRadiusMM(cfg)
	// a printed post 40 mm to the right of the next move, 80 mm tall
	if err := w.Add(1, r3.Vector{X: 40}, r3.Vector{X: 40, Z: 80}, r); err != nil {
		panic(err)
	}
	a, b := r3.Vector{Z: 10}, r3.Vector{Y: 10, Z: 10} // tip moves along +y at z = 10
	o, ok := c.Best(a, b, r3.Vector{X: 1, Z: 1})      // previous axis tilted 45° toward the post
	fmt.Printf("free=%v axis=(%.2f, %.2f, %.2f) tilt=%.0f° rotation=%.2f rad\n", ok, o.Axis.X, o.Axis.Y, o.Axis.Z, math.Acos(o.Axis.Z)*180/math.Pi, o.AngleRad)
	// the previous axis itself (and vertical) would sweep the cone into
	// the post; the nearest free sample leans along the move instead
	fmt.Println("45° toward the post is free:", c.MoveFree(a, b, r3.Vector{X: 1, Z: 1}))

	w.Remove(1) // planner undo
	o, _ = c.Best(a, b, r3.Vector{X: 1, Z: 1})
	fmt.Printf("after undo: rotation=%.2f rad\n", o.AngleRad)
	// Output:
	// free=true axis=(0.29, 0.51, 0.81) tilt=36° rotation=0.68 rad
	// 45° toward the post is free: false
	// after undo: rotation=0.06 rad
}

// Distances between convex shapes: closed form for capsules, GJK otherwise.
func ExampleDistance() {
	strut := collision.Capsule{A: r3.Vector{}, B: r3.Vector{X: 10}, R: 1}
	link := collision.Capsule{A: r3.Vector{X: 5, Y: 5, Z: -5}, B: r3.Vector{X: 5, Y: 5, Z: 5}, R: 2}
	fmt.Printf("%.3f\n", collision.Distance(strut, link).Dist)

	box, _ := collision.NewBox(geom.IdentityPose(), r3.Vector{X: 1, Y: 1, Z: 1})
	cone, _ := collision.NewCone(r3.Vector{Z: 3}, r3.Vector{Z: 8}, 4) // apex 2 mm above the box
	fmt.Printf("%.3f %v\n", collision.Distance(box, cone).Dist, collision.Intersects(box, cone))
	// Output:
	// 2.000
	// 2.000 false
}
