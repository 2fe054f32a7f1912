package config

import (
	"errors"
	"strings"
	"testing"
)

// TestPeakDisplacementWeight covers wireframe.peak_displacement_weight_per_mm:
// its default, values kept as written (zero included), and the bad values
// rejected with the field named.
func TestPeakDisplacementWeight(t *testing.T) {
	if got := Defaults().Wireframe.PeakDisplacementWeightPerMM; got != defaultPeakDisplacementWeightPerMM {
		t.Fatalf("default %v, want %v", got, defaultPeakDisplacementWeightPerMM)
	}
	for _, tc := range []struct {
		yaml string
		want float64
	}{
		{"wireframe:\n  peak_displacement_weight_per_mm: 0\n", 0},
		{"wireframe:\n  peak_displacement_weight_per_mm: 2500\n", 2500},
		{"wireframe:\n  peak_displacement_weight_per_mm: 1e7\n", 1e7},
		{"wireframe:\n  displacement_weight_per_mm: 0\n  peak_displacement_weight_per_mm: 1000\n", 1000},
	} {
		c, err := Parse(strings.NewReader(tc.yaml))
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		if got := c.Wireframe.PeakDisplacementWeightPerMM; got != tc.want {
			t.Fatalf("%q: %v, want %v", tc.yaml, got, tc.want)
		}
	}
	for _, bad := range []string{"-1", ".nan", ".inf", "-.inf", "1.5e7", "heavy"} {
		y := "wireframe:\n  peak_displacement_weight_per_mm: " + bad + "\n"
		_, err := Parse(strings.NewReader(y))
		if err == nil {
			t.Fatalf("%q accepted", y)
		}
		if bad == "heavy" {
			if !strings.Contains(err.Error(), "line 2") {
				t.Fatalf("%q: %v does not name the line", y, err)
			}
			continue
		}
		if !strings.Contains(err.Error(), "peak_displacement_weight_per_mm") {
			t.Fatalf("%q: %v does not name the field", y, err)
		}
		var fe *FieldError
		if !errors.Is(err, ErrInvalid) || !errors.As(err, &fe) || fe.Field != "wireframe.peak_displacement_weight_per_mm" {
			t.Fatalf("%q: %v is not a FieldError of wireframe.peak_displacement_weight_per_mm", y, err)
		}
	}
	// unknown keys near the name are errors, not silently ignored
	if _, err := Parse(strings.NewReader("wireframe:\n  peak_displacement_weight: 10\n")); err == nil {
		t.Fatal("misspelt key accepted")
	}
}
