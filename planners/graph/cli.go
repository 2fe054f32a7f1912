package graph

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"fabcell/planners/graph/commonlayer"
)

// CLI layers (LPBF). LoadCLI reads layer LoadOptions.Layer (0-based in file
// order; "file.cli#N" selects it through Load) of an ASCII or binary CLI
// file with package commonlayer and rasterises it at LoadOptions.SpacingMM
// (default 0.05 mm) with the even-odd rule (commonlayer.Layer.Rasterize
// documents the rules: pixel centres inside closed contours; cells crossed
// by open polylines; hatches only in layers without closed contours). The
// result is a pixel graph (see pixel.go) at the layer's z. A layer with no
// geometry fails with ErrEmptyLayer; a layer whose contours enclose no
// pixel centre with ErrEmpty; a raster above the node cap with ErrTooLarge
// naming the layer and the size, before any node is allocated.

func init() {
	RegisterFormat(Loader{
		Name:   "cli",
		Match:  func(path string) bool { return strings.EqualFold(filepath.Ext(path), ".cli") },
		Load:   LoadCLI,
		Layers: cliLayers,
	})
}

// cliCache keeps the last parsed CLI file, so walking all layers of a file
// (fabcell validate, a planner going layer by layer) parses it once. The
// entry is keyed by absolute path, size and modification time.
var cliCache struct {
	sync.Mutex
	path  string
	size  int64
	mtime time.Time
	file  *commonlayer.File
}

// ReadCLI parses a CLI file, reusing the cached parse of the same unchanged
// file. The returned File is shared: do not modify it.
func ReadCLI(path string) (*commonlayer.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	cliCache.Lock()
	if cliCache.file != nil && cliCache.path == abs && cliCache.size == st.Size() && cliCache.mtime.Equal(st.ModTime()) {
		f := cliCache.file
		cliCache.Unlock()
		return f, nil
	}
	cliCache.Unlock()
	f, err := commonlayer.ReadFile(path)
	if err != nil {
		return nil, cliErr(path, err)
	}
	cliCache.Lock()
	cliCache.path, cliCache.size, cliCache.mtime, cliCache.file = abs, st.Size(), st.ModTime(), f
	cliCache.Unlock()
	return f, nil
}

func cliLayers(path string) (int, error) {
	f, err := ReadCLI(path)
	if err != nil {
		return 0, err
	}
	return len(f.Layers), nil
}

// cliErr converts commonlayer errors into ParseErrors that match both the
// graph sentinels and the commonlayer ones with errors.Is.
func cliErr(path string, err error) error {
	var ce *commonlayer.Error
	if !errors.As(err, &ce) {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("load model: %w", err)
		}
		return &ParseError{File: path, Msg: err.Error(), Err: err}
	}
	msg := ce.Msg
	if ce.Line == 0 && ce.Offset >= 0 {
		msg = fmt.Sprintf("byte %d: %s", ce.Offset, ce.Msg)
	}
	return &ParseError{File: path, Line: ce.Line, Msg: msg, Err: fmt.Errorf("%w: %w", cliSentinel(ce.Err), ce.Err)}
}

func cliSentinel(err error) error {
	switch {
	case errors.Is(err, commonlayer.ErrTruncated):
		return ErrTruncated
	case errors.Is(err, commonlayer.ErrUnit):
		return ErrUnit
	case errors.Is(err, commonlayer.ErrNonFinite):
		return ErrNonFinite
	case errors.Is(err, commonlayer.ErrTooLarge):
		return ErrTooLarge
	case errors.Is(err, commonlayer.ErrUnsupported):
		return ErrUnsupported
	case errors.Is(err, commonlayer.ErrEmpty):
		return ErrEmpty
	}
	return ErrSyntax
}

// LoadCLI rasterises one layer of a CLI file into a pixel graph.
func LoadCLI(path string, opts LoadOptions) (*Graph, error) {
	f, err := ReadCLI(path)
	if err != nil {
		return nil, err
	}
	if len(f.Layers) == 0 {
		return nil, perr(path, 0, ErrEmpty, "file has no layers")
	}
	li := opts.Layer
	if li < 0 || li >= len(f.Layers) {
		return nil, perr(path, 0, ErrIndex, "layer %d does not exist (file has %d layers, 0..%d)", li, len(f.Layers), len(f.Layers)-1)
	}
	layer := &f.Layers[li]
	if layer.Empty() {
		return nil, perr(path, 0, ErrEmptyLayer, "layer %d (z=%.4g mm) is empty: nothing to expose", li, layer.ZMM)
	}
	s := opts.SpacingMM
	if s == 0 {
		s = commonlayer.DefaultSpacingMM
	}
	r, err := f.Rasterize(li, commonlayer.RasterOptions{SpacingMM: s, Rule: commonlayer.EvenOdd, MaxCells: opts.maxNodes()})
	if err != nil {
		return nil, &ParseError{File: path, Msg: err.Error(), Err: fmt.Errorf("%w: %w", cliSentinel(err), err)}
	}
	g, err := FromRaster(r, layer.ZMM, opts.maxNodes())
	if err != nil {
		return nil, &ParseError{File: path, Msg: fmt.Sprintf("layer %d: %v", li, err), Err: unwrapSentinel(err)}
	}
	g.Meta.Unit = fmt.Sprintf("%g mm", f.Header.UnitsMM)
	if f.Header.Layers != 0 && f.Header.Layers != len(f.Layers) {
		g.Meta.Warnings = append(g.Meta.Warnings, fmt.Sprintf("header declares $$LAYERS/%d but the file holds %d layers", f.Header.Layers, len(f.Layers)))
	}
	names := make([]string, 0, len(f.Skipped))
	for name := range f.Skipped {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		g.Meta.Warnings = append(g.Meta.Warnings, fmt.Sprintf("ignored %d vendor command(s) $$%s that are not a single number", f.Skipped[name], name))
	}
	if opts.Kind != nil {
		g.Kind = *opts.Kind
	}
	return g, nil
}
