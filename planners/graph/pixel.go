package graph

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"

	"fabcell/planners/graph/commonlayer"

	"github.com/golang/geo/r3"
)

// Pixel graphs (LPBF layers). A layer is a set of cells of a square grid
// of pitch s (SpacingMM); every cell is a node at its centre and every two
// cells that share a side are joined by an edge (4-neighbourhood).
//
// Node order is row-major from the top row: rows by decreasing y, cells in
// a row by increasing x. Edge order follows node order: for each node v,
// first the edge to its right neighbour, then the edge to the neighbour
// below, when those are cells; A is always the smaller index v.
//
// A PNG mask with W×H pixels, pixel pitch p: pixel (col, row), row 0 at the
// top of the image, has centre x = (col+0.5)·p, y = (H−1−row+0.5)·p, z = 0.
// A pixel is "in" when its colour, composited over white by its alpha and
// reduced to grey with the Rec. 601 weights (0.299 R + 0.587 G + 0.114 B),
// is darker than 50 % (grey < 0x8000 of 0xffff): black or opaque-dark pixels
// are in, white or transparent pixels are out. An image with more than two
// distinct grey levels after compositing is not a binary mask and is
// rejected (ErrNonBinary) instead of being thresholded silently.

func init() {
	RegisterFormat(Loader{
		Name:  "png-mask",
		Match: func(path string) bool { return strings.EqualFold(filepath.Ext(path), ".png") },
		Load:  LoadPNG,
	})
}

// FromRaster builds the 4-neighbour pixel graph of a raster (see the rules
// above; commonlayer.Raster documents the grid). Nodes sit at cell centres
// at height zMM. It fails with ErrTooLarge when the raster has more than
// maxNodes cells (0 = package MaxNodes) or the graph would exceed MaxEdges.
func FromRaster(r *commonlayer.Raster, zMM float64, maxNodes int) (*Graph, error) {
	if maxNodes <= 0 {
		maxNodes = MaxNodes
	}
	if r.Cells == 0 {
		return nil, ErrEmpty
	}
	if r.Cells > maxNodes {
		return nil, fmt.Errorf("%w: %d cells exceed the node limit %d", ErrTooLarge, r.Cells, maxNodes)
	}
	n := r.Cells
	// node index of the first cell of every span
	base := make([]int, len(r.Spans))
	k := 0
	for i, sp := range r.Spans {
		base[i] = k
		k += int(sp.C1 - sp.C0)
	}
	// count edges first so the slices are allocated once
	ne := 0
	for i := 0; i < r.Height; i++ {
		for _, sp := range r.Row(i) {
			ne += int(sp.C1-sp.C0) - 1
		}
		if i+1 < r.Height {
			ne += overlap(r.Row(i), r.Row(i+1))
		}
	}
	if ne > MaxEdges {
		return nil, fmt.Errorf("%w: %d pixel edges exceed the limit %d", ErrTooLarge, ne, MaxEdges)
	}
	g := &Graph{
		Kind:      Pixel,
		SpacingMM: r.SpacingMM,
		Pos:       make([]r3.Vector, 0, n),
		Edges:     make([]Edge, 0, ne),
		Grounded:  make([]bool, n),
	}
	for i := 0; i < r.Height; i++ {
		row := r.Row(i)
		off := int(r.RowStart[i])
		var below []commonlayer.Span
		belowOff := 0
		if i+1 < r.Height {
			below = r.Row(i + 1)
			belowOff = int(r.RowStart[i+1])
		}
		kb := 0
		for si, sp := range row {
			for c := sp.C0; c < sp.C1; c++ {
				v := base[off+si] + int(c-sp.C0)
				p := r.Center(i, int(c))
				g.Pos = append(g.Pos, r3.Vector{X: p.X, Y: p.Y, Z: zMM})
				if c+1 < sp.C1 {
					g.Edges = append(g.Edges, Edge{A: v, B: v + 1})
				}
				for kb < len(below) && below[kb].C1 <= c {
					kb++
				}
				if kb < len(below) && below[kb].C0 <= c {
					g.Edges = append(g.Edges, Edge{A: v, B: base[belowOff+kb] + int(c-below[kb].C0)})
				}
			}
		}
	}
	// The construction guarantees the Graph invariants (distinct in-range
	// ends, no duplicates, finite centres), so the O(E) map of Validate is
	// skipped for these potentially huge graphs.
	g.Index()
	return g, nil
}

// overlap counts columns present in both span lists.
func overlap(a, b []commonlayer.Span) int {
	n, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		lo, hi := max(a[i].C0, b[j].C0), min(a[i].C1, b[j].C1)
		if hi > lo {
			n += int(hi - lo)
		}
		if a[i].C1 < b[j].C1 {
			i++
		} else {
			j++
		}
	}
	return n
}

// LoadPNG reads a binary PNG mask as a pixel graph with pitch
// LoadOptions.PixelMM (default 0.05 mm).
func LoadPNG(path string, opts LoadOptions) (*Graph, error) {
	pitch := opts.PixelMM
	if pitch == 0 {
		pitch = DefaultPixelMM
	}
	if !(pitch > 0) || pitch > 1e6 {
		return nil, perr(path, 0, ErrSyntax, "pixel pitch %v mm: want > 0", pitch)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		return nil, pngErr(path, err)
	}
	maxN := opts.maxNodes()
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, perr(path, 0, ErrEmpty, "image has no pixels (%d×%d)", cfg.Width, cfg.Height)
	}
	// decoding allocates up to 8 bytes per pixel: refuse before that
	if int64(cfg.Width)*int64(cfg.Height) > 4*int64(maxN) {
		return nil, perr(path, 0, ErrTooLarge, "image of %d×%d pixels exceeds the limit of %d pixels", cfg.Width, cfg.Height, 4*maxN)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	img, err := png.Decode(f)
	if err != nil {
		return nil, pngErr(path, err)
	}
	r, err := maskRaster(path, img, pitch, maxN)
	if err != nil {
		return nil, err
	}
	g, err := FromRaster(r, 0, maxN)
	if err != nil {
		return nil, &ParseError{File: path, Msg: err.Error(), Err: unwrapSentinel(err)}
	}
	if opts.Kind != nil {
		g.Kind = *opts.Kind
	}
	return g, nil
}

func pngErr(path string, err error) error {
	// image/png reports a cut-off image data stream as the FormatError
	// "not enough pixel data" rather than an EOF.
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || strings.Contains(err.Error(), "not enough pixel data") {
		return perr(path, 0, ErrTruncated, "PNG is truncated: %v", err)
	}
	return perr(path, 0, ErrSyntax, "not a readable PNG: %v", err)
}

// grey composites c over white and returns the Rec. 601 luma in [0, 0xffff].
func grey(c color.Color) uint32 {
	r, g, b, a := c.RGBA() // alpha-premultiplied, 16 bit
	w := 0xffff - a
	r, g, b = r+w, g+w, b+w
	return (299*r + 587*g + 114*b + 500) / 1000
}

// maskRaster classifies pixels and builds the tight raster.
func maskRaster(path string, img image.Image, pitch float64, maxN int) (*commonlayer.Raster, error) {
	bd := img.Bounds()
	w, h := bd.Dx(), bd.Dy()
	var levels [2]uint32
	nlev := 0
	classify := func(v uint32, x, y int) error {
		for k := 0; k < nlev; k++ {
			if levels[k] == v {
				return nil
			}
		}
		if nlev == 2 {
			return perr(path, 0, ErrNonBinary, "more than two grey levels after compositing alpha over white (0x%04x, 0x%04x and 0x%04x at pixel %d,%d): threshold the mask to black and white first",
				levels[0], levels[1], v, x, y)
		}
		levels[nlev] = v
		nlev++
		return nil
	}
	// per-pixel grey, with fast paths for the common mask encodings
	var at func(x, y int) uint32
	switch m := img.(type) {
	case *image.Gray:
		at = func(x, y int) uint32 { v := uint32(m.Pix[m.PixOffset(x, y)]); return v<<8 | v }
	case *image.Paletted:
		pal := make([]uint32, len(m.Palette))
		for i, c := range m.Palette {
			pal[i] = grey(c)
		}
		at = func(x, y int) uint32 {
			i := int(m.Pix[m.PixOffset(x, y)])
			if i >= len(pal) {
				return 0 // image/png rejects such indices; keep the closure total
			}
			return pal[i]
		}
	default:
		at = func(x, y int) uint32 { return grey(img.At(x, y)) }
	}
	rows := make([][]commonlayer.Span, h)
	cells := 0
	for y := 0; y < h; y++ {
		var sp []commonlayer.Span
		for x := 0; x < w; x++ {
			v := at(bd.Min.X+x, bd.Min.Y+y)
			if err := classify(v, x, y); err != nil {
				return nil, err
			}
			if v >= 0x8000 {
				continue
			}
			cells++
			if cells > maxN {
				return nil, perr(path, 0, ErrTooLarge, "more than %d mask pixels (node limit)", maxN)
			}
			if k := len(sp) - 1; k >= 0 && int(sp[k].C1) == x {
				sp[k].C1++
			} else {
				sp = append(sp, commonlayer.Span{C0: int32(x), C1: int32(x + 1)})
			}
		}
		rows[y] = sp
	}
	if cells == 0 {
		return nil, perr(path, 0, ErrEmpty, "mask has no dark or opaque pixel (%d×%d image)", w, h)
	}
	top, bot := -1, -1
	cMin, cMax := int32(w), int32(0)
	for y, sp := range rows {
		if len(sp) == 0 {
			continue
		}
		if top < 0 {
			top = y
		}
		bot = y
		cMin, cMax = min(cMin, sp[0].C0), max(cMax, sp[len(sp)-1].C1)
	}
	r := &commonlayer.Raster{
		SpacingMM: pitch,
		Col0:      int(cMin),
		Row0:      h - 1 - bot,
		Width:     int(cMax - cMin),
		Height:    bot - top + 1,
		Cells:     cells,
	}
	for y := top; y <= bot; y++ {
		r.RowStart = append(r.RowStart, int32(len(r.Spans)))
		for _, s := range rows[y] {
			r.Spans = append(r.Spans, commonlayer.Span{C0: s.C0 - cMin, C1: s.C1 - cMin})
		}
	}
	r.RowStart = append(r.RowStart, int32(len(r.Spans)))
	return r, nil
}
