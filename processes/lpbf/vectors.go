package lpbf

import (
	"fabcell/config"
	"fabcell/planners/graph"
)

// Vector is one scan vector: the laser marks from the centre of pixel From
// to the centre of pixel To over Pixels consecutive pixels in one
// direction (package comment).
type Vector struct {
	From, To int
	Pixels   int
}

// ScanVectors splits a laser order into scan vectors: maximal runs of
// consecutive entries that are side-adjacent cells in one constant
// direction. Every entry of order belongs to exactly one vector, in order.
func ScanVectors(lat *Lattice, order []int) []Vector {
	var out []Vector
	for i := 0; i < len(order); {
		v := Vector{From: order[i], To: order[i], Pixels: 1}
		j := i + 1
		if j < len(order) {
			if dc, dr, ok := lat.Adjacent(order[i], order[j]); ok {
				for j < len(order) {
					ec, er, ok := lat.Adjacent(order[j-1], order[j])
					if !ok || ec != dc || er != dr {
						break
					}
					v.To = order[j]
					v.Pixels++
					j++
				}
			}
		}
		out = append(out, v)
		i = j
	}
	return out
}

// Timing is the scan time estimate of a vector sequence (package comment).
type Timing struct {
	Vectors int
	// PointVectors counts the vectors of one pixel: zero-length hatches,
	// which mark for mark_delay only (package comment, "Scan vectors and
	// timing").
	PointVectors int
	MarkMM       float64 // Σ vector lengths (centre to centre)
	LaserOffMM   float64 // Σ distances jumped between consecutive vectors
	MarkS        float64 // Σ length/scan speed + mark delay
	JumpS        float64 // Σ distance/jump speed + jump delay
	TotalS       float64
}

// EstimateTime returns the mark/jump timing of vecs on g with the speeds
// and delays of c.
func EstimateTime(c config.LPBFProcess, g *graph.Graph, vecs []Vector) Timing {
	t := Timing{Vectors: len(vecs)}
	for i, v := range vecs {
		l := g.Pos[v.To].Sub(g.Pos[v.From]).Norm()
		if v.Pixels == 1 {
			t.PointVectors++
		}
		t.MarkMM += l
		t.MarkS += l/c.ScanSpeedMMS + c.MarkDelayS
		if i > 0 {
			d := g.Pos[v.From].Sub(g.Pos[vecs[i-1].To]).Norm()
			t.LaserOffMM += d
			t.JumpS += d/c.JumpSpeedMMS + c.JumpDelayS
		}
	}
	t.TotalS = t.MarkS + t.JumpS
	return t
}
