package graph_test

import (
	"fmt"
	"path/filepath"

	"fabcell/planners/graph"
)

// Load an RL3DP pair, an OBJ mesh and one rasterised CLI layer.
func ExampleLoad() {
	for _, path := range []string{
		filepath.Join("testdata", "NodeFemur_wireframe.txt"),
		filepath.Join("testdata", "Femur_wireframe.obj"),
		filepath.Join("commonlayer", "testdata", "s_Cylinder_ex.cli#0"),
	} {
		g, err := graph.Load(path, graph.LoadOptions{SpacingMM: 0.05})
		if err != nil {
			fmt.Println(err)
			continue
		}
		_, comps := g.Components()
		fmt.Printf("%s: %s, %d nodes, %d edges, %d components, %d grounded\n",
			filepath.Base(path), g.Kind, g.NumNodes(), g.NumEdges(), comps, g.NumGrounded())
	}
	_, err := graph.Load(filepath.Join("testdata", "bad", "EdgeSelfLoop_wireframe.txt"), graph.LoadOptions{})
	fmt.Println(err)
	// Output:
	// NodeFemur_wireframe.txt: wireframe, 263 nodes, 772 edges, 1 components, 14 grounded
	// Femur_wireframe.obj: wireframe, 263 nodes, 772 edges, 1 components, 14 grounded
	// s_Cylinder_ex.cli#0: pixel, 2382 nodes, 3989 edges, 2 components, 0 grounded
	// testdata/bad/EdgeSelfLoop_wireframe.txt:2: self-loop on node 1
}
