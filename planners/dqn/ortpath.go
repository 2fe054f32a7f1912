package dqn

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ORTLibEnv names the environment variable that overrides the location of
// libonnxruntime.so.
const ORTLibEnv = "ONNXRUNTIME_LIB"

// ortLibRel is the library location relative to the module root.
const ortLibRel = ".cache/onnxruntime/lib/libonnxruntime.so"

var (
	// ErrNoORT is wrapped when the onnxruntime backend cannot be used: the
	// shared library is missing, or the binary was built without cgo.
	ErrNoORT = errors.New("dqn: onnxruntime not available")
	// ErrClosed is returned by ONNXNet methods after Close.
	ErrClosed = errors.New("dqn: ONNX network is closed")
)

// ORTLibraryPath resolves the onnxruntime shared library: libPath if not
// empty, else $ONNXRUNTIME_LIB, else <module root>/.cache/onnxruntime/lib/
// libonnxruntime.so where the module root is the nearest directory at or
// above the working directory that holds go.mod. The file must exist.
func ORTLibraryPath(libPath string) (string, error) {
	if libPath == "" {
		libPath = os.Getenv(ORTLibEnv)
	}
	if libPath == "" {
		dir, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrNoORT, err)
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				libPath = filepath.Join(dir, ortLibRel)
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return "", fmt.Errorf("%w: $%s not set and no go.mod above the working directory (run bash .ci/setup)", ErrNoORT, ORTLibEnv)
			}
			dir = parent
		}
	}
	if st, err := os.Stat(libPath); err != nil || st.IsDir() {
		return "", fmt.Errorf("%w: no library at %s (set $%s or run bash .ci/setup)", ErrNoORT, libPath, ORTLibEnv)
	}
	return libPath, nil
}
