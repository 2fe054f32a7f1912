package graph

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ParseError locates a problem in an input file. Its message is one line:
// "FILE:LINE: what is wrong" (LINE omitted when it does not apply).
type ParseError struct {
	File string
	Line int // 1-based; 0 = whole file
	Msg  string
	Err  error // sentinel (ErrSyntax, ErrIndex, ...) for errors.Is
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

func (e *ParseError) Unwrap() error { return e.Err }

func perr(file string, line int, sentinel error, format string, args ...any) *ParseError {
	return &ParseError{File: file, Line: line, Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

// LoadOptions tune how a model file becomes a graph. The zero value is valid
// and gives the documented defaults.
type LoadOptions struct {
	// Kind forces the graph kind; nil = infer from the file (RL3DP names
	// containing "_CCF", or OBJ meshes with all z equal → Planar; PNG/CLI →
	// Pixel; JSON models and everything else → Wireframe).
	Kind *Kind
	// GroundZMM: nodes with z below this are grounded when the format has no
	// explicit flags (RL3DP text, OBJ). 0 = default 1 mm.
	GroundZMM float64
	// PixelMM is the pixel pitch of a PNG mask (mm). 0 = default 0.05 mm.
	PixelMM float64
	// SpacingMM is the raster pitch used to rasterise a CLI layer (mm).
	// 0 = default 0.05 mm (the 50 µm LPBF spot).
	SpacingMM float64
	// Layer selects the CLI layer (0-based, in file order). A "#N" suffix on
	// the path overrides it.
	Layer int
	// MaxNodes caps the node count (0 = package MaxNodes).
	MaxNodes int
}

// Defaults used when LoadOptions fields are zero.
const (
	DefaultGroundZMM = 1.0
	DefaultPixelMM   = 0.05
)

func (o LoadOptions) groundZ() float64 {
	if o.GroundZMM > 0 {
		return o.GroundZMM
	}
	return DefaultGroundZMM
}

func (o LoadOptions) maxNodes() int {
	if o.MaxNodes > 0 {
		return o.MaxNodes
	}
	return MaxNodes
}

// Loader reads one file format. Loaders register themselves in init() with
// RegisterFormat; Load picks the first whose Match accepts the path.
type Loader struct {
	Name  string
	Match func(path string) bool
	Load  func(path string, opts LoadOptions) (*Graph, error)
	// Layers, if set, returns how many layers the file holds (layered
	// formats such as CLI); Load then reads the layer opts.Layer.
	Layers func(path string) (int, error)
}

var formats []Loader

// RegisterFormat adds a loader. It panics on a duplicate name (programmer
// error).
func RegisterFormat(l Loader) {
	for _, f := range formats {
		if f.Name == l.Name {
			panic("graph: duplicate format " + l.Name)
		}
	}
	formats = append(formats, l)
}

// Formats lists the registered format names in registration order.
func Formats() []string {
	out := make([]string, len(formats))
	for i, f := range formats {
		out[i] = f.Name
	}
	return out
}

// Load reads a model file in any registered format. PATH may end in "#N" to
// select layer N of a layered format (CLI). The returned graph is validated
// and indexed.
func Load(path string, opts LoadOptions) (*Graph, error) {
	selected := false
	if i := strings.LastIndexByte(path, '#'); i > 0 {
		if n, err := strconv.Atoi(path[i+1:]); err == nil {
			if n < 0 {
				return nil, fmt.Errorf("%s: layer %d: must be >= 0", path, n)
			}
			opts.Layer = n
			path = path[:i]
			selected = true
		}
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	for _, f := range formats {
		if f.Match(path) {
			if selected && f.Layers == nil && opts.Layer != 0 {
				return nil, perr(path, 0, ErrIndex, "layer %d does not exist: %s models have a single layer (#0)", opts.Layer, f.Name)
			}
			g, err := f.Load(path, opts)
			if err != nil {
				return nil, err
			}
			if g.Source == "" {
				g.Source = path
			}
			if g.Name == "" {
				g.Name = ModelName(path)
			}
			return g, nil
		}
	}
	return nil, fmt.Errorf("%s: unknown model format (known: %s)", path, strings.Join(Formats(), ", "))
}

// LayerCount returns the number of layers in a layered model file, or 1
// for single-layer formats.
func LayerCount(path string) (int, error) {
	if i := strings.LastIndexByte(path, '#'); i > 0 {
		if _, err := strconv.Atoi(path[i+1:]); err == nil {
			return 1, nil
		}
	}
	for _, f := range formats {
		if f.Match(path) {
			if f.Layers == nil {
				return 1, nil
			}
			return f.Layers(path)
		}
	}
	return 0, fmt.Errorf("%s: unknown model format (known: %s)", path, strings.Join(Formats(), ", "))
}

// ModelName derives a model name from a path: the file stem without the
// RL3DP "Node"/"Edge" prefixes.
func ModelName(path string) string {
	b := filepath.Base(path)
	b = strings.TrimSuffix(b, filepath.Ext(b))
	for _, p := range []string{"Node", "Edge"} {
		if strings.HasPrefix(b, p) && len(b) > len(p) {
			return b[len(p):]
		}
	}
	return b
}

// finishGraph validates, indexes and wraps validation errors with the file.
func finishGraph(file string, g *Graph) (*Graph, error) {
	if err := g.Validate(); err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, &ParseError{File: file, Msg: err.Error(), Err: unwrapSentinel(err)}
	}
	g.Index()
	return g, nil
}

func unwrapSentinel(err error) error {
	for _, s := range []error{ErrEmptyLayer, ErrEmpty, ErrNoEdges, ErrSelfLoop, ErrDuplicate, ErrIndex, ErrNonFinite, ErrTooLarge,
		ErrSyntax, ErrUnit, ErrMissing, ErrTruncated, ErrNonBinary, ErrUnsupported, ErrNotModel} {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}
