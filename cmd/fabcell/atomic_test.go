package main

import (
	"errors"
	"os"
	"path/filepath"
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
	if err := writeFileAtomic(filepath.Join(dir, "missing", "x"), nil); err == nil {
		t.Fatal("no error for a missing directory")
	}
	es, _ := os.ReadDir(dir)
	if len(es) != 1 {
		t.Fatalf("left in the directory: %v", es)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}
