package baseline

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"fabcell/planners"
	"fabcell/planners/graph"
)

const bunny = "../lsgdqn/testdata/NodeBunny_wireframe.txt"

// countRewards counts Session.Reward calls (memo misses of the search).
type countRewards struct {
	planners.Session
	n int
}

func (c *countRewards) Reward(m planners.Move) float64 { c.n++; return c.Session.Reward(m) }

var errEnough = errors.New("enough moves")

// BenchmarkBFSMove measures the exhaustive LSG search (the paper's BFS
// baseline) on the Bunny with the travel process: one iteration plans the
// first 40 moves from a fresh session. rewards/move counts Reward
// evaluations — the number that multiplies an FEA/collision reward's cost.
func BenchmarkBFSMove(b *testing.B) {
	g, err := graph.Load(bunny, graph.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	const moves = 40
	for _, n := range []int{2, 3, 4, 5, 6} {
		b.Run(fmt.Sprintf("n%d", n), func(b *testing.B) {
			c := plannerCfg(n, 1)
			rewards, total := 0, 0
			b.ReportAllocs()
			for b.Loop() {
				s := &countRewards{Session: travelSession(b, g)}
				p, _ := NewBFS(planners.Options{Config: c})
				k := 0
				err := p.Plan(context.Background(), s, func(planners.Move) error {
					k++
					if k == moves {
						return errEnough
					}
					return nil
				})
				if !errors.Is(err, errEnough) {
					b.Fatal(err)
				}
				rewards += s.n
				total += moves
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "moves/s")
			b.ReportMetric(float64(rewards)/float64(total), "rewards/move")
		})
	}
}
