package fea

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"fabcell/config"
	"fabcell/planners/graph"
)

// loadModel loads a model from testdata with the options the fea command
// uses: the model's own material where it declares one, else PLA struts of
// the configured default diameter.
func loadModel(t testing.TB, path string) (*graph.Graph, *Frame) {
	t.Helper()
	g, err := graph.Load(path, graph.LoadOptions{})
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	pla, err := config.LookupMaterial("pla")
	if err != nil {
		t.Fatal(err)
	}
	f, err := FromGraph(g, FrameOptions{Material: pla, StrutDiameterMM: 2, UseModel: true})
	if err != nil {
		t.Fatalf("frame %s: %v", path, err)
	}
	return g, f
}

func allModels(t testing.TB) []string {
	var out []string
	for _, pat := range []string{"testdata/assembly_instances/*.json", "testdata/rl3dp/Node*.txt", "testdata/rl3dp/*.obj", "testdata/conmech/*.json"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			if !strings.HasSuffix(p, "_loads.json") {
				out = append(out, p)
			}
		}
	}
	if len(out) < 30 {
		t.Fatalf("only %d models found in testdata", len(out))
	}
	return out
}

// TestEveryModelSelfWeight solves every wire-frame model of the data set
// under self-weight — including the 4.2k-strut Lounge and the 6.4k-element
// DJMM_bridge — and checks global equilibrium (Σ reactions = total weight,
// moments about the origin too), the nodal residual, and agreement of the
// direct solver with PCG on the smaller models.
func TestEveryModelSelfWeight(t *testing.T) {
	for _, path := range allModels(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			g, f := loadModel(t, path)
			lc := SelfWeight()
			res, err := f.Solve(context.Background(), lc, Options{})
			if err != nil {
				t.Fatalf("%s (%d nodes, %d elements, %d grounded): %v", path, f.NumNodes(), f.NumElems(), g.NumGrounded(), err)
			}
			checkEquilibrium(t, path, f, nil, lc, res, 1e-8)
			if !(res.MaxTranslationM > 0) || math.IsInf(res.MaxTranslationM, 0) {
				t.Fatalf("max translation %v", res.MaxTranslationM)
			}
			W := 0.0
			for e := 0; e < f.NumElems(); e++ {
				W += f.WeightN(e)
			}
			Rz := 0.0
			for _, r := range res.Reactions {
				Rz += r.F[2]
			}
			checkRel(t, "ΣRz", Rz, W, 1e-9)
			t.Logf("%d nodes, %d elements: d_max %.4g mm at node %d, weight %.4g N", f.NumNodes(), f.NumElems(), res.MaxTranslationM*1e3, res.MaxNode, W)
			if f.NumNodes() <= 400 && !testing.Short() {
				pr, err := f.Solve(context.Background(), lc, Options{Method: PCG, Tol: 1e-12})
				if err != nil {
					t.Fatalf("pcg: %v", err)
				}
				checkRel(t, "pcg d_max", pr.MaxTranslationM, res.MaxTranslationM, 1e-6)
			}
		})
	}
}

// TestConmechLoadCases solves the conmech test models with their own loads
// files (tower_3D: 2 × 10 kN horizontal; topopt-100: 16 × 0.02 kN plus
// self-weight; four-frame, simple_frame: self-weight) and checks global
// equilibrium, as conmech's own tests do.
func TestConmechLoadCases(t *testing.T) {
	for _, name := range []string{"tower_3D", "topopt-100", "four-frame", "simple_frame"} {
		t.Run(name, func(t *testing.T) {
			g, f := loadModel(t, "testdata/conmech/"+name+".json")
			lcs, err := ReadLoads("testdata/conmech/"+name+"_loads.json", f, g.Meta.ElemTags)
			if err != nil {
				t.Fatal(err)
			}
			for _, lc := range lcs {
				res, err := f.Solve(context.Background(), lc, Options{})
				if err != nil {
					t.Fatal(err)
				}
				checkEquilibrium(t, name, f, nil, lc, res, 1e-9)
				F, _ := lc.TotalForceN(f, nil)
				t.Logf("load case %s: resultant %v N, d_max %.4g mm at node %d", lc.Name, F, res.MaxTranslationM*1e3, res.MaxNode)
			}
		})
	}
}
