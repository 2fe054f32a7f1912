package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAtomicOutputs: outputs appear complete, readable by all (0644), with
// no temporary file left; an aborted one leaves the old file alone.
func TestAtomicOutputs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "plan.json")
	if err := writeFileAtomic(path, []byte("one")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, err %v", st.Mode(), err)
	}
	f, err := createAtomic(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("two, unfinished"))
	f.abort()
	if b, _ := os.ReadFile(path); string(b) != "one" {
		t.Fatalf("aborted write changed the file: %q", b)
	}
	// the error names the directory, not the hidden temporary file
	missing := filepath.Join(dir, "missing", "x")
	if err := writeFileAtomic(missing, nil); err == nil || strings.Contains(err.Error(), ".tmp") ||
		!strings.Contains(err.Error(), "directory "+filepath.Join(dir, "missing")+": no such file") {
		t.Fatalf("missing directory: %v", err)
	}
	if err := writeFileAtomic(filepath.Join(path, "x"), nil); err == nil || !strings.Contains(err.Error(), path+" is not a directory") {
		t.Fatalf("file as directory: %v", err)
	}
	es, _ := os.ReadDir(dir)
	if len(es) != 1 {
		t.Fatalf("left in the directory: %v", es)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}
