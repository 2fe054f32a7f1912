package main

import (
	"encoding/json"
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
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}
