package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"fabcell/config"

	"github.com/spf13/cobra"
)

// loadConfig reads --config (or the defaults).
func loadConfig(cmd *cobra.Command) (config.Cell, error) {
	path, _ := cmd.Flags().GetString("config")
	return config.Load(path)
}

// writeJSON writes v as indented JSON to path atomically ("-" = stdout).
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if path == "-" {
		_, err = os.Stdout.Write(data)
		return err
	}
	return writeFileAtomic(path, data)
}

// writeFileAtomic writes data to a temporary file next to path and renames
// it, so a crash never leaves a half-written output.
func writeFileAtomic(path string, data []byte) error {
	f, err := createAtomic(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.abort()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.commit()
}

// atomicFile is an output being written to a temporary file next to its
// path: commit renames it over the path, abort removes it.
type atomicFile struct {
	*os.File
	path string
}

// createAtomic starts writing path through a temporary file in its
// directory.
func createAtomic(path string) (*atomicFile, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		// name the directory, not the hidden temporary file
		if st, serr := os.Stat(filepath.Dir(path)); serr != nil {
			return nil, fmt.Errorf("write %s: directory %s: %w", path, filepath.Dir(path), unwrapPath(serr))
		} else if !st.IsDir() {
			return nil, fmt.Errorf("write %s: %s is not a directory", path, filepath.Dir(path))
		}
		return nil, fmt.Errorf("write %s: %w", path, unwrapPath(err))
	}
	return &atomicFile{File: tmp, path: path}, nil
}

// commit closes the file, makes it readable by all (0644, what os.Create
// gives under the usual umask; a temporary file is created 0600, which
// other users, e.g. a print server, could not read) and renames it over
// the path.
func (f *atomicFile) commit() error {
	err := f.Chmod(0o644)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return nil
}

// abort discards the temporary file.
func (f *atomicFile) abort() {
	f.Close()
	os.Remove(f.Name())
}

// unwrapPath drops the *PathError's own path (a temporary file's name the
// user never chose) and keeps its reason.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
