package masks

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
)

// Layer is a named generated test layer.
type Layer struct {
	Name string
	Gen  func() *image.Gray
}

// HeldOut returns the held-out LPBF test layers: shapes of other topology
// and size than the README table's layers, generated here (deterministic;
// the random ones from fixed seeds) and used by `go test -table -layers
// heldout` in processes/lpbf/compare to check the session rules — whose
// defaults were chosen on the table's layers — on layers they were not
// tuned on. Sizes run from a few hundred to 20,000 pixels: a spur gear,
// a ring, a lattice of thin struts, text, an L-bracket with holes, straight
// thin walls of width 2–6 px, diagonal walls, a 20,000-pixel plate and
// seeded random blobs.
func HeldOut() []Layer {
	ls := []Layer{
		{"gear", func() *image.Gray { return Gear(24, 70, 60, 20, 0.45) }},
		{"ring", func() *image.Gray { return Annulus(60, 50) }},
		{"ring-thin", func() *image.Gray { return Annulus(80, 77) }},
		{"lattice", func() *image.Gray { return Lattice(6, 5, 24, 3) }},
		{"lattice-diag", func() *image.Gray { return DiagonalLattice(140, 100, 20, 2.5) }},
		{"text", func() *image.Gray { return Text("MAKE", 40, 5) }},
		{"l-bracket", func() *image.Gray { return LBracket(150, 110, 40) }},
	}
	for _, w := range []int{2, 3, 4, 6} {
		for _, l := range []int{60, 250} {
			ls = append(ls, Layer{fmt.Sprintf("wall-%dx%d", l, w), func() *image.Gray { return Wall(l, w, 0) }})
		}
	}
	ls = append(ls,
		Layer{"wall-vert-300x3", func() *image.Gray { return Wall(300, 3, 90) }},
		Layer{"wall-diag45-200x3", func() *image.Gray { return Wall(200, 3, 45) }},
		Layer{"wall-diag30-200x2", func() *image.Gray { return Wall(200, 2, 30) }},
		Layer{"walls-box", func() *image.Gray { return WallBox(160, 120, 3) }},
		Layer{"plate-20k", func() *image.Gray { return Plate(0.969) }},
	)
	for _, seed := range []uint64{1, 2, 3} {
		ls = append(ls, Layer{fmt.Sprintf("blob-%d", seed), func() *image.Gray { return Blob(seed, 110) }})
	}
	return ls
}

// capsule is the set of points within w/2 of the segment (x0,y0)–(x1,y1).
func capsule(x0, y0, x1, y1, w float64) Shape {
	dx, dy := x1-x0, y1-y0
	l2 := dx*dx + dy*dy
	return func(x, y float64) bool {
		t := 0.0
		if l2 > 0 {
			t = math.Max(0, math.Min(1, ((x-x0)*dx+(y-y0)*dy)/l2))
		}
		ex, ey := x-x0-t*dx, y-y0-t*dy
		return ex*ex+ey*ey <= w*w/4
	}
}

// band is the set of points within w/2 of the segment (x0,y0)–(x1,y1),
// cut square at its ends (a rotated rectangle).
func band(x0, y0, x1, y1, w float64) Shape {
	dx, dy := x1-x0, y1-y0
	l := math.Hypot(dx, dy)
	ux, uy := dx/l, dy/l
	return func(x, y float64) bool {
		a := (x-x0)*ux + (y-y0)*uy
		b := -(x-x0)*uy + (y-y0)*ux
		return a >= 0 && a <= l && math.Abs(b) <= w/2
	}
}

// Gear returns a spur gear of n teeth: tip radius ro, root radius rr, a
// bore of radius rb and a keyway, teeth of angular duty d (share of the
// pitch at the tip radius that is tooth), flanks straight in the radial
// direction.
func Gear(n int, ro, rr, rb, d float64) *image.Gray {
	s := int(math.Ceil(2*ro)) + 4
	c := float64(s) / 2
	pitch := 2 * math.Pi / float64(n)
	return Render(s, s, func(x, y float64) bool {
		dx, dy := x-c, y-c
		r := math.Hypot(dx, dy)
		if r > ro || r < rb {
			return r >= rb && r <= rr
		}
		if dx > -rb-4 && dx < -rb+5 && math.Abs(dy) < 4 { // keyway
			return false
		}
		if r <= rr {
			return true
		}
		a := math.Mod(math.Atan2(dy, dx)+2*math.Pi, pitch) / pitch // 0..1 within one pitch
		// the tooth narrows linearly from the root to the tip (duty d)
		f := (r - rr) / (ro - rr)
		duty := (1-f)*math.Min(0.9, d+0.2) + f*d
		return math.Abs(a-0.5) <= duty/2
	})
}

// Annulus returns a ring of outer radius ro and inner radius ri.
func Annulus(ro, ri float64) *image.Gray {
	s := int(math.Ceil(2*ro)) + 4
	c := float64(s) / 2
	return Render(s, s, minus(disc(c, c, ro), disc(c, c, ri)))
}

// Lattice returns a rectangular grid of nx × ny cells of pitch p with
// struts of width w (a frame around every cell).
func Lattice(nx, ny int, p, w float64) *image.Gray {
	W, H := int(float64(nx)*p+w)+4, int(float64(ny)*p+w)+4
	x0, y0 := 2.0, 2.0
	return Render(W, H, func(x, y float64) bool {
		u, v := x-x0, y-y0
		if u < 0 || v < 0 || u > float64(nx)*p+w || v > float64(ny)*p+w {
			return false
		}
		return math.Mod(u, p) < w || math.Mod(v, p) < w
	})
}

// DiagonalLattice returns a w × h rectangle frame filled with ±45° struts
// of spacing p and width sw.
func DiagonalLattice(w, h int, p, sw float64) *image.Gray {
	frame := minus(roundRect(2, 2, float64(w-2), float64(h-2), 0), roundRect(2+sw, 2+sw, float64(w-2)-sw, float64(h-2)-sw, 0))
	inner := roundRect(2, 2, float64(w-2), float64(h-2), 0)
	q := p * math.Sqrt2            // spacing along x of lines x ± y = const at perpendicular spacing p
	near := func(c float64) bool { // perpendicular distance to the nearest line ≤ sw/2
		d := math.Mod(c, q)
		if d < 0 {
			d += q
		}
		return math.Min(d, q-d)/math.Sqrt2 <= sw/2
	}
	return Render(w, h, union(frame, func(x, y float64) bool {
		return inner(x, y) && (near(x+y) || near(x-y))
	}))
}

// strokes of a small straight-stroke font on a 0..1 × 0..1 box (y down).
var font = map[rune][][4]float64{
	'M': {{0, 1, 0, 0}, {0, 0, 0.5, 0.6}, {0.5, 0.6, 1, 0}, {1, 0, 1, 1}},
	'A': {{0, 1, 0.5, 0}, {0.5, 0, 1, 1}, {0.22, 0.6, 0.78, 0.6}},
	'K': {{0, 0, 0, 1}, {0, 0.6, 0.9, 0}, {0.3, 0.4, 1, 1}},
	'E': {{0, 0, 0, 1}, {0, 0, 1, 0}, {0, 0.5, 0.8, 0.5}, {0, 1, 1, 1}},
	'L': {{0, 0, 0, 1}, {0, 1, 1, 1}},
	'X': {{0, 0, 1, 1}, {1, 0, 0, 1}},
	'Z': {{0, 0, 1, 0}, {1, 0, 0, 1}, {0, 1, 1, 1}},
}

// Text renders s (letters of the built-in stroke font: A E K L M X Z) with
// letter height h and stroke width sw.
func Text(s string, h, sw float64) *image.Gray {
	lw := 0.7 * h // letter box width
	gap := 0.35 * h
	m := sw + 2
	var parts []Shape
	x := m
	for _, r := range s {
		for _, st := range font[r] {
			parts = append(parts, capsule(x+st[0]*lw, m+st[1]*h, x+st[2]*lw, m+st[3]*h, sw))
		}
		x += lw + gap
	}
	return Render(int(math.Ceil(x-gap+m)), int(math.Ceil(h+2*m)), union(parts...))
}

// LBracket returns an L-shaped plate with legs of length a (horizontal) and
// b (vertical) and thickness t, four bolt holes, a slot and a rounded
// outer corner.
func LBracket(a, b, t float64) *image.Gray {
	x0, y0 := 3.0, 3.0
	leg1 := roundRect(x0, y0+b-t, x0+a, y0+b, 8)
	leg2 := roundRect(x0, y0, x0+t, y0+b, 8)
	holes := []Shape{
		disc(x0+a-18, y0+b-t/2, 7), disc(x0+a-48, y0+b-t/2, 7),
		disc(x0+t/2, y0+18, 7), disc(x0+t/2, y0+45, 5),
		roundRect(x0+t+10, y0+b-t/2-4, x0+t+40, y0+b-t/2+4, 4),
	}
	return Render(int(x0+a)+3, int(y0+b)+3, minus(union(leg1, leg2), holes...))
}

// Wall returns a straight wall of length l and width w pixels at angle deg
// (0 = along x, counter-clockwise in the image seen y-up), square ends.
func Wall(l, w int, deg float64) *image.Gray {
	a := deg * math.Pi / 180
	ux, uy := math.Cos(a), -math.Sin(a)
	ex, ey := math.Abs(ux)*float64(l)+math.Abs(uy)*float64(w), math.Abs(uy)*float64(l)+math.Abs(ux)*float64(w)
	W, H := int(math.Ceil(ex))+4, int(math.Ceil(ey))+4
	cx, cy := float64(W)/2, float64(H)/2
	hl := float64(l) / 2
	if deg == 0 || deg == 90 { // axis-aligned: exactly l × w pixels
		if deg == 0 {
			return Render(W, H, roundRect(2, 2, 2+float64(l), 2+float64(w), 0))
		}
		return Render(W, H, roundRect(2, 2, 2+float64(w), 2+float64(l), 0))
	}
	return Render(W, H, band(cx-hl*ux, cy-hl*uy, cx+hl*ux, cy+hl*uy, float64(w)))
}

// WallBox returns the outline of a w × h box with walls of thickness t and
// an inner cross wall (thin walls meeting at T-junctions).
func WallBox(w, h int, t float64) *image.Gray {
	W, H := float64(w), float64(h)
	out := roundRect(2, 2, W-2, H-2, 0)
	in := roundRect(2+t, 2+t, W-2-t, H-2-t, 0)
	cross := roundRect(W/2-t/2, 2, W/2+t/2, H-2, 0)
	cross2 := roundRect(2, H/2-t/2, W/2, H/2+t/2, 0)
	return Render(w, h, union(minus(out, in), cross, cross2))
}

// Plate returns a rounded plate with a grid of holes and a central slot,
// scaled by k (k = 0.969: about 20,000 pixels).
func Plate(k float64) *image.Gray {
	w, h := 190*k, 130*k
	body := roundRect(3, 3, 3+w, 3+h, 20*k)
	var holes []Shape
	for i := 0; i < 4; i++ {
		for j := 0; j < 2; j++ {
			holes = append(holes, disc(3+w*(0.14+0.24*float64(i)), 3+h*(0.22+0.56*float64(j)), 9*k))
		}
	}
	holes = append(holes, roundRect(3+0.3*w, 3+0.45*h, 3+0.7*w, 3+0.55*h, 6*k))
	return Render(int(math.Ceil(w))+6, int(math.Ceil(h))+6, minus(body, holes...))
}

// Blob returns a random part of size about s × s pixels from the seed: a
// union of discs, rectangles and thick strokes, minus a few holes
// (deterministic for a seed; may have several islands).
func Blob(seed uint64, s float64) *image.Gray {
	rng := rand.New(rand.NewPCG(seed, 0x6c706266))
	m := 3.0
	u := func(a, b float64) float64 { return a + (b-a)*rng.Float64() }
	var parts, holes []Shape
	for i := 0; i < 4; i++ {
		parts = append(parts, disc(u(0.25, 0.75)*s, u(0.25, 0.75)*s, u(0.08, 0.2)*s))
	}
	for i := 0; i < 3; i++ {
		x, y := u(0.05, 0.6)*s, u(0.05, 0.6)*s
		parts = append(parts, roundRect(x, y, x+u(0.15, 0.4)*s, y+u(0.1, 0.35)*s, u(0, 6)))
	}
	for i := 0; i < 3; i++ {
		parts = append(parts, capsule(u(0.05, 0.95)*s, u(0.05, 0.95)*s, u(0.05, 0.95)*s, u(0.05, 0.95)*s, u(2, 8)))
	}
	for i := 0; i < 3; i++ {
		holes = append(holes, disc(u(0.2, 0.8)*s, u(0.2, 0.8)*s, u(3, 9)))
	}
	inside := minus(union(parts...), holes...)
	n := int(math.Ceil(s + 2*m))
	return Render(n, n, func(x, y float64) bool { return inside(x-m, y-m) })
}
