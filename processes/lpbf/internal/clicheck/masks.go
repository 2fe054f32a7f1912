package clicheck

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"strings"
)

// Masks returns test layers nobody had tried, as picture rows (top row
// first, '#' = part): holes, islands, 1–2 px features, staircase and
// corner-touching edges, a single pixel, sizes that are multiples of
// nothing. Tests write them with WritePNG and load them as `fabcell plan`
// does.
func Masks() map[string][]string {
	grid := func(w, h int, in func(c, r int) bool) []string {
		rows := make([]string, h)
		for r := range h {
			var b strings.Builder
			for c := range w {
				if in(c, r) {
					b.WriteByte('#')
				} else {
					b.WriteByte('.')
				}
			}
			rows[r] = b.String()
		}
		return rows
	}
	return map[string][]string{
		"single":  {"#"},
		"offset1": {".......", ".......", "....#..", "......."},
		// 37×23 plate with a 1-px hole, a 5×3 hole and a notch
		"holes": grid(37, 23, func(c, r int) bool {
			return !(c == 6 && r == 5) && !(c >= 20 && c < 25 && r >= 10 && r < 13) && !(c >= 30 && r < 4)
		}),
		// three islands: a 1-px, a 2×1 and an L
		"islands": grid(41, 19, func(c, r int) bool {
			return c == 2 && r == 2 || r == 16 && (c == 5 || c == 6) ||
				c >= 12 && c < 20 && r >= 3 && r < 17 || c >= 20 && c < 39 && r >= 12 && r < 17
		}),
		// 1-px line, 2-px wall, 1-px L, a comb of 1-px teeth
		"thin": grid(43, 29, func(c, r int) bool {
			return r == 1 && c >= 1 && c < 40 || // 1-px line
				(r == 4 || r == 5) && c >= 3 && c < 38 || // 2-px wall
				c == 41 && r >= 1 && r < 27 || r == 26 && c >= 30 && c < 42 || // 1-px L
				r == 10 && c >= 2 && c < 28 || r > 10 && r < 20 && c%3 == 2 && c < 28 // comb
		}),
		// staircase triangle and a diagonal of pixels that touch only at
		// corners (each is its own 4-neighbour island)
		"staircase": grid(31, 33, func(c, r int) bool {
			return c < 25 && r > c+2 && r < 30 || c == r && c >= 25 && c < 30 || c == r-1 && c < 2
		}),
	}
}

// WritePNG writes rows as an 8-bit grey PNG mask (black = part).
func WritePNG(path string, rows []string) error {
	h, w := len(rows), len(rows[0])
	img := image.NewGray(image.Rect(0, 0, w, h))
	for r, s := range rows {
		for c := range w {
			v := uint8(255)
			if s[c] == '#' {
				v = 0
			}
			img.SetGray(c, r, color.Gray{Y: v})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
