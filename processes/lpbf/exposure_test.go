package lpbf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fabcell/config"
	"fabcell/planners"
	"fabcell/planners/graph/commonlayer"
	"fabcell/processes/lpbf/internal/clicheck"
)

func exposureMasks() map[string][]string { return clicheck.Masks() }

func writeMaskPNG(t *testing.T, dir, name string, rows []string) string {
	t.Helper()
	path := filepath.Join(dir, name+".png")
	if err := clicheck.WritePNG(path, rows); err != nil {
		t.Fatal(err)
	}
	return path
}

// verifyArtifacts writes both CLI artifacts of r, re-reads them from bytes
// with the independent reader and checks them against mask m; it also
// recomputes the scan time from the bytes and compares it with the
// metrics.
func verifyArtifacts(t *testing.T, p *Process, r *planners.Result, m clicheck.Mask, what string) {
	t.Helper()
	c := p.Config()
	for _, enc := range []string{"cli", "cli-binary"} {
		data := artifact(t, p, enc, r)
		f, rep, err := clicheck.Verify(data, m, clicheck.Expect{PowerW: c.PowerW, SpeedMMS: c.ScanSpeedMMS})
		if err != nil {
			t.Fatalf("%s %s: unreadable: %v", what, enc, err)
		}
		if err := rep.Err(); err != nil {
			t.Fatalf("%s %s: %v", what, enc, err)
		}
		if f.Binary != (enc == "cli-binary") || f.UnitsMM != CLIUnitsMM {
			t.Fatalf("%s %s: binary %v, units %v mm", what, enc, f.Binary, f.UnitsMM)
		}
		ts := clicheck.ScanTimeS(f.Layers[0], c.ScanSpeedMMS, c.JumpSpeedMMS, c.MarkDelayS, c.JumpDelayS)
		for _, k := range []struct {
			key  string
			want float64
		}{{"scan_time_s", ts}, {"mark_mm", rep.MarkMM}, {"laser_off_mm", rep.LaserOffMM}, {"scan_vectors", float64(rep.Hatches)}, {"point_vectors", float64(rep.ZeroLength)}} {
			if got := r.Metrics[k.key]; math.Abs(got-k.want) > 1e-6*(1+math.Abs(k.want)) {
				t.Fatalf("%s %s: metric %s = %v, recomputed from the file %v", what, enc, k.key, got, k.want)
			}
		}
	}
}

// TestExposureIndependentCheck: every planner of package lpbf's tests, on
// every generated mask, writes CLI files (both encodings) whose marks melt
// every part pixel exactly once and nothing else, as re-read from the
// bytes by package clicheck; the time estimate is recomputed from the
// bytes. lsg-dqn passes the same check in package compare.
func TestExposureIndependentCheck(t *testing.T) {
	p := testProcess(t, nil)
	dir := t.TempDir()
	masks := exposureMasks()
	for name, rows := range masks {
		path := writeMaskPNG(t, dir, name, rows)
		m := clicheck.MaskFromRows(p.Config().SpacingMM, rows)
		for _, pl := range []string{"zigzag", "chessboard", "greedy", "bfs"} {
			t.Run(name+"/"+pl, func(t *testing.T) {
				r := planned(t, p, path, pl)
				verifyArtifacts(t, p, r, m, name+"/"+pl)
			})
		}
	}
}

// TestExposureCLIExamples: layers of the CLI samples. The mask is computed
// here from the source geometry (even-odd rule at every cell centre, own
// point-in-polygon; cells an open support line passes through), not taken
// from the rasteriser.
func TestExposureCLIExamples(t *testing.T) {
	p := testProcess(t, nil)
	s := p.Config().SpacingMM
	for _, tc := range []struct {
		file  string
		layer int
	}{{cylinderCLI, 3}, {cylinderCLI, 0}, {lanzeCLI, 70}, {boxCLI, 300}} {
		src, err := commonlayer.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		var polys [][][2]float64
		m := clicheck.Mask{PitchMM: s, In: map[clicheck.Cell]bool{}}
		lo, hi := [2]float64{math.Inf(1), math.Inf(1)}, [2]float64{math.Inf(-1), math.Inf(-1)}
		for _, pl := range src.Layers[tc.layer].Polylines {
			if pl.Dir == commonlayer.Open {
				// the track of an open line (a support wall): the cells
				// it passes through, sampled every pitch/64
				for i := 1; i < len(pl.Points); i++ {
					a, b := pl.Points[i-1], pl.Points[i]
					n := int(math.Ceil(math.Hypot(b.X-a.X, b.Y-a.Y)/(s/64))) + 1
					for k := 0; k <= n; k++ {
						f := float64(k) / float64(n)
						m.In[m.CellOf(a.X+f*(b.X-a.X), a.Y+f*(b.Y-a.Y))] = true
					}
				}
				continue
			}
			var pts [][2]float64
			for _, q := range pl.Points {
				pts = append(pts, [2]float64{q.X, q.Y})
				lo[0], lo[1] = math.Min(lo[0], q.X), math.Min(lo[1], q.Y)
				hi[0], hi[1] = math.Max(hi[0], q.X), math.Max(hi[1], q.Y)
			}
			polys = append(polys, pts)
		}
		for c := int(math.Floor(lo[0]/s)) - 1; c <= int(math.Ceil(hi[0]/s)); c++ {
			for r := int(math.Floor(lo[1]/s)) - 1; r <= int(math.Ceil(hi[1]/s)); r++ {
				if clicheck.PointInPolygons((float64(c)+0.5)*s, (float64(r)+0.5)*s, polys) {
					m.In[clicheck.Cell{Col: c, Row: r}] = true
				}
			}
		}
		if len(m.In) == 0 {
			t.Fatalf("%s#%d: no cells", tc.file, tc.layer)
		}
		model := fmt.Sprintf("%s#%d", tc.file, tc.layer)
		for _, pl := range []string{"zigzag", "chessboard", "greedy"} {
			t.Run(filepath.Base(model)+"/"+pl, func(t *testing.T) {
				r := planned(t, p, model, pl)
				verifyArtifacts(t, p, r, m, model+"/"+pl)
			})
		}
	}
}

// TestNewRefusesBadLaserSettings: New used to accept a configuration that
// skipped config.Cell.Validate with NaN power, an infinite jump speed or
// 1e9 W, and wrote them into the CLI ("power_w=NaN" in the binary label,
// $$POWER/1000000000). It now names the key in one line.
func TestNewRefusesBadLaserSettings(t *testing.T) {
	for _, tc := range []struct {
		key string
		mod func(*config.LPBFProcess)
	}{
		{"lpbf.power_w", func(c *config.LPBFProcess) { c.PowerW = math.NaN() }},
		{"lpbf.power_w", func(c *config.LPBFProcess) { c.PowerW = 1e9 }},
		{"lpbf.power_w", func(c *config.LPBFProcess) { c.PowerW = -5 }},
		{"lpbf.max_power_w", func(c *config.LPBFProcess) { c.MaxPowerW = math.Inf(1) }},
		{"lpbf.scan_speed_mm_s", func(c *config.LPBFProcess) { c.ScanSpeedMMS = 0 }},
		{"lpbf.jump_speed_mm_s", func(c *config.LPBFProcess) { c.JumpSpeedMMS = math.Inf(1) }},
		{"lpbf.jump_speed_mm_s", func(c *config.LPBFProcess) { c.JumpSpeedMMS = -1 }},
		{"lpbf.mark_delay_s", func(c *config.LPBFProcess) { c.MarkDelayS = math.NaN() }},
		{"lpbf.jump_delay_s", func(c *config.LPBFProcess) { c.JumpDelayS = -0.001 }},
		{"lpbf.spacing_mm", func(c *config.LPBFProcess) { c.SpacingMM = math.NaN() }},
		{"lpbf.field_size_mm", func(c *config.LPBFProcess) { c.FieldSizeMM = 0 }},
	} {
		cfg := config.Defaults()
		tc.mod(&cfg.LPBF)
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), tc.key) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v, want one line naming the key", tc.key, err)
		}
	}
	if _, err := New(config.Defaults()); err != nil {
		t.Fatal(err)
	}
}

// TestCLIRefusesAPartialPlan: the CLI artifacts of a plan that stopped
// halfway used to be written as a valid-looking program that leaves half
// the layer as powder (the independent check found 403 of 807 pixels
// unmelted). Both encodings now refuse it in one line and write nothing;
// the plot of the partial plan is still drawn (unscanned pixels grey).
func TestCLIRefusesAPartialPlan(t *testing.T) {
	p := testProcess(t, nil)
	path := writeMaskPNG(t, t.TempDir(), "holes", exposureMasks()["holes"])
	g := load(t, p, path)
	moves := plan(t, p, "zigzag", session(t, p, g), config.Defaults().Planner)
	half := moves[:len(moves)/2]
	s := session(t, p, g)
	if _, err := planners.Replay(s, planners.PathOf(half)); err != nil {
		t.Fatal(err)
	}
	r := &planners.Result{Process: "lpbf", Planner: "zigzag", Model: path, Graph: g, Session: s, Moves: half}
	for _, a := range p.Artifacts() {
		var buf bytes.Buffer
		err := a.Write(&buf, r)
		if a.Name == "plot" {
			if err != nil {
				t.Errorf("plot of a partial plan: %v", err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "unmelted") || strings.Contains(err.Error(), "\n") || buf.Len() != 0 {
			t.Errorf("%s of a partial plan: err = %v, %d bytes written", a.Name, err, buf.Len())
		}
	}
}

// pngWithHeader returns a PNG signature and an IHDR chunk (valid CRC) of
// the given size, then the given tail.
func pngWithHeader(w, h uint32, tail []byte) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := []byte("IHDR")
	ihdr = binary.BigEndian.AppendUint32(ihdr, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 0, 0, 0, 0) // 8-bit grey
	b.Write(binary.BigEndian.AppendUint32(nil, 13))
	b.Write(ihdr)
	b.Write(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(ihdr)))
	b.Write(tail)
	return b.Bytes()
}

// TestLoadRejectsMalformedMasks: corrupt, empty, cut, 0×0, all-white and
// huge masks, an empty CLI layer and a missing one give one line naming
// the file and the problem.
func TestLoadRejectsMalformedMasks(t *testing.T) {
	p := testProcess(t, nil)
	dir := t.TempDir()
	good := writeMaskPNG(t, dir, "good", []string{"##.", ".##"})
	goodBytes, _ := os.ReadFile(good)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"corrupt", append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0xa5}, 64)...), "PNG"},
		{"empty", nil, "PNG"},
		{"cut", goodBytes[:len(goodBytes)-20], "PNG"},
		{"zero", pngWithHeader(0, 0, nil), ""},
		{"huge", pngWithHeader(200000, 200000, nil), "exceeds"},
		{"white", nil, "no dark"},
	} {
		path := filepath.Join(dir, tc.name+".png")
		data := tc.data
		if tc.name == "white" {
			path = writeMaskPNG(t, dir, tc.name, []string{"...", "..."})
		} else if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := p.Load(path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	} // an empty CLI layer and one past the end
	for _, tc := range [][2]string{{boxCLI + "#1", "empty"}, {boxCLI + "#5000", "does not exist"}} {
		_, err := p.Load(tc[0])
		if err == nil || !strings.Contains(err.Error(), tc[1]) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v", tc[0], err)
		}
	}
}

// TestExposureOddPitchAndLargeLayer: pitches whose cell centres are not
// whole µm (0.0333 mm: centres at 16.65 µm steps, not exact in float32
// units) and 0.07 mm, and a 17k-pixel plate of 149×131 px with holes,
// pass the same independent check (the units factor applied once, in
// both encodings).
func TestExposureOddPitchAndLargeLayer(t *testing.T) {
	dir := t.TempDir()
	masks := exposureMasks()
	for _, pitch := range []float64{0.0333, 0.07} {
		p := testProcess(t, func(c *config.Cell) { c.LPBF.SpacingMM = pitch })
		for _, name := range []string{"holes", "staircase"} {
			path := writeMaskPNG(t, dir, name, masks[name])
			m := clicheck.MaskFromRows(pitch, masks[name])
			for _, pl := range []string{"zigzag", "greedy"} {
				t.Run(fmt.Sprintf("%s/%g/%s", name, pitch, pl), func(t *testing.T) {
					r := planned(t, p, path, pl)
					verifyArtifacts(t, p, r, m, fmt.Sprintf("%s at %g mm/%s", name, pitch, pl))
				})
			}
		}
	}
	big := make([]string, 131)
	for r := range big {
		b := []byte(strings.Repeat("#", 149))
		for c := range b {
			dx, dy := c-70, r-80
			if dx*dx+dy*dy < 30*30 || (c > 150 && c < 190 && r > 20 && r < 25) || (c+r)%97 == 0 {
				b[c] = '.'
			}
		}
		big[r] = string(b)
	}
	p := testProcess(t, nil)
	path := writeMaskPNG(t, dir, "big", big)
	m := clicheck.MaskFromRows(p.Config().SpacingMM, big)
	for _, pl := range []string{"zigzag", "chessboard"} {
		t.Run("big/"+pl, func(t *testing.T) {
			if pl == "chessboard" && testing.Short() {
				t.Skip("short: zigzag only on the large layer")
			}
			r := planned(t, p, path, pl)
			verifyArtifacts(t, p, r, m, "big/"+pl)
		})
	}
}

// TestPlotMatchesTheMask: the plot's map panel shows the layer the way the
// mask was drawn (x right, y up — the PNG's top row at the top): a block is
// white exactly where the mask has no pixel.
func TestPlotMatchesTheMask(t *testing.T) {
	p := testProcess(t, nil)
	dir := t.TempDir()
	for _, name := range []string{"islands", "staircase", "offset1"} {
		rows := exposureMasks()[name]
		r := planned(t, p, writeMaskPNG(t, dir, name, rows), "zigzag")
		img, err := png.Decode(bytes.NewReader(artifact(t, p, "plot", r)))
		if err != nil {
			t.Fatal(err)
		}
		// tight box of the mask, in picture rows/columns
		c0, c1, r0, r1 := 1<<30, -1, 1<<30, -1
		for ri, s := range rows {
			for ci := range s {
				if s[ci] == '#' {
					c0, c1, r0, r1 = min(c0, ci), max(c1, ci), min(r0, ri), max(r1, ri)
				}
			}
		}
		k, _ := plotScale(c1-c0+1, r1-r0+1)
		top := plotMargin + 2*16
		for ri := r0; ri <= r1; ri++ {
			for ci := c0; ci <= c1; ci++ {
				x, y := plotMargin+(ci-c0)*k+k/2, top+(ri-r0)*k+k/2
				rr, gg, bb, _ := img.At(x, y).RGBA()
				white := rr == 0xffff && gg == 0xffff && bb == 0xffff
				if white != (rows[ri][ci] != '#') {
					t.Fatalf("%s: picture cell (%d,%d) mask %q, plot white %v", name, ci, ri, rows[ri][ci], white)
				}
			}
		}
	}
}
