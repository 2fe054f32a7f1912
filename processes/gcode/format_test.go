package gcode

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestAppendUnits checks the digit writer against the strconv version and
// against an independent rendering through strconv.FormatFloat.
func TestAppendUnits(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ns := []int64{0, 1, -1, 9, 10, 100, -100, 123456789, -5, 1000000000, math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
	for range 20000 {
		ns = append(ns, rng.Int64N(1e12)-5e11, rng.Int64N(2000)-1000, int64(rng.IntN(50))*int64(math.Pow10(rng.IntN(9))))
	}
	for dec := 0; dec <= 9; dec++ {
		for _, n := range ns {
			got := string(appendUnits([]byte("x"), n, dec))
			want := string(appendUnitsSlow([]byte("x"), n, dec))
			if got != want {
				t.Fatalf("appendUnits(%d, %d) = %q, want %q", n, dec, got, want)
			}
			if n == math.MinInt64 || math.Abs(float64(n)) > 1<<52 {
				continue
			}
			// Independent: the exact decimal of n/10^dec, trailing zeros cut.
			ref := strconv.FormatFloat(float64(n)/math.Pow10(dec), 'f', dec, 64)
			if dec > 0 {
				for ref[len(ref)-1] == '0' {
					ref = ref[:len(ref)-1]
				}
				if ref[len(ref)-1] == '.' {
					ref = ref[:len(ref)-1]
				}
			}
			if ref == "-0" {
				ref = "0"
			}
			if got[1:] != ref && math.Abs(float64(n)) < 1e14 {
				t.Fatalf("appendUnits(%d, %d) = %q, want %q", n, dec, got[1:], ref)
			}
		}
	}
}
