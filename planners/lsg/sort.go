package lsg

import (
	"cmp"
	"math"
	"slices"
)

// sortKey is one node's encoding key.
type sortKey struct {
	u, v float64
	bfs  int // BFS index: the final tie-break (stable under rigid motions)
}

// uvTol returns the tolerance under which two flattened coordinates count
// as equal: rounding noise of the LSCM solve must not reorder nodes that
// lie on one row of the layout.
func uvTol(a, b float64) float64 { return 1e-7 * (1 + math.Max(math.Abs(a), math.Abs(b))) }

// sortUV orders order (BFS indices) by (v, u) as in the release
// (np.lexsort((u, v))): v ascending, u ascending within a row, where values
// closer than uvTol are equal and the BFS index breaks remaining ties.
func sortUV(order []int, uv [][2]float64, keys []sortKey) []sortKey {
	keys = keys[:0]
	for _, i := range order {
		keys = append(keys, sortKey{u: uv[i][0], v: uv[i][1], bfs: i})
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		if c := cmp.Compare(a.v, b.v); c != 0 {
			return c
		}
		return cmp.Compare(a.bfs, b.bfs)
	})
	// rows: chains of v within tolerance
	for s := 0; s < len(keys); {
		e := s + 1
		for e < len(keys) && keys[e].v-keys[e-1].v <= uvTol(keys[e].v, keys[e-1].v) {
			e++
		}
		row := keys[s:e]
		slices.SortFunc(row, func(a, b sortKey) int {
			if c := cmp.Compare(a.u, b.u); c != 0 {
				return c
			}
			return cmp.Compare(a.bfs, b.bfs)
		})
		for t := 0; t < len(row); {
			w := t + 1
			for w < len(row) && row[w].u-row[w-1].u <= uvTol(row[w].u, row[w-1].u) {
				w++
			}
			slices.SortFunc(row[t:w], func(a, b sortKey) int { return cmp.Compare(a.bfs, b.bfs) })
			t = w
		}
		s = e
	}
	for k := range keys {
		order[k] = keys[k].bfs
	}
	return keys
}

// sortByIndex orders order (BFS indices) by global node index.
func sortByIndex(order []int, bfs []int) {
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(bfs[a], bfs[b]) })
}

func sortEdges(es []Edge) {
	slices.SortFunc(es, func(a, b Edge) int {
		if c := cmp.Compare(a.I, b.I); c != 0 {
			return c
		}
		return cmp.Compare(a.J, b.J)
	})
}

func sortInt32(s []int32) { slices.Sort(s) }
