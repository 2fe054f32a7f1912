package planners

import (
	"math"
	"testing"
)

func TestCostOrders(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		a, b    []float64
		noWorse bool
		cmp     int
	}{
		{[]float64{0, 1, 2}, []float64{0, 1, 2}, true, 0},
		{[]float64{0, 1, 1}, []float64{0, 1, 2}, true, -1},
		{[]float64{0, 0, 3}, []float64{0, 1, 2}, false, -1}, // fewer left out, more sag: incomparable
		{[]float64{1, 0, 0}, []float64{0, 9, 9}, false, 1},
		{[]float64{0, 1, nan}, []float64{0, 1, 2}, false, 1},
		{[]float64{0, 1, 2}, []float64{0, 1, nan}, false, -1},
		{[]float64{nan}, []float64{nan}, false, 0},
		{[]float64{0, 1}, []float64{0, 1, 2}, false, -1},
		{nil, nil, true, 0},
	} {
		if got := NoWorse(c.a, c.b); got != c.noWorse {
			t.Errorf("NoWorse(%v, %v) = %v", c.a, c.b, got)
		}
		if got := CompareCost(c.a, c.b); got != c.cmp {
			t.Errorf("CompareCost(%v, %v) = %d, want %d", c.a, c.b, got, c.cmp)
		}
		if got := CompareCost(c.b, c.a); got != -c.cmp {
			t.Errorf("CompareCost(%v, %v) = %d, want %d", c.b, c.a, got, -c.cmp)
		}
	}
}
