package config

import (
	"strings"
	"testing"
)

func TestExplicitZerosKept(t *testing.T) {
	c, err := Parse(strings.NewReader(`
mqtt:
  qos: 0
pendant:
  web_addr: ""
safety:
  min_tcp_height_mm: 0
robot:
  blend_radius_mm: 0
planner:
  epsilon: 0
  seed: 0
wireframe:
  nozzle_diameter_mm: 0.8
lpbf:
  max_residual_heat: 0
  stranding_penalty: 0
  hot_area_weight: 0
  reheat_jump: 0
  thin_width_px: 0
  line_run_px: 0
  line_jump_radii: 0
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.MQTT.QoS != 0 || c.Pendant.WebAddr != "" || c.Safety.MinTCPHeightMM != 0 || c.Robot.BlendRadiusMM != 0 || c.Planner.Epsilon != 0 || c.Planner.Seed != 0 {
		t.Fatalf("explicit zeros replaced by defaults: %+v %+v %+v", c.MQTT, c.Pendant, c.Planner)
	}
	if c.LPBF.MaxResidualHeat != 0 || c.LPBF.StrandingPenalty != 0 || c.LPBF.Stranding != "mask" || c.LPBF.HotAreaWeight != 0 || c.LPBF.ReheatJump != 0 {
		t.Fatalf("lpbf: hot-spot rule %g, stranding %q/%g, hot-area weight %g, reheat jump %d; want 0 (off as written), default mask, 0, 0, 0",
			c.LPBF.MaxResidualHeat, c.LPBF.Stranding, c.LPBF.StrandingPenalty, c.LPBF.HotAreaWeight, c.LPBF.ReheatJump)
	}
	if c.LPBF.ThinWidthPX != 0 || c.LPBF.LineRunPX != 0 || c.LPBF.LineJumpRadii != 0 {
		t.Fatalf("lpbf: thin_width_px %d, line_run_px %d, line_jump_radii %g; want 0 (off as written)", c.LPBF.ThinWidthPX, c.LPBF.LineRunPX, c.LPBF.LineJumpRadii)
	}
	// omitted keys keep defaults; derived limit follows the nozzle
	if c.MQTT.KeepAliveS != 30 || c.Safety.MaxDisplacementMM != 0.4 {
		t.Fatalf("defaults lost: keepalive %d maxdisp %v", c.MQTT.KeepAliveS, c.Safety.MaxDisplacementMM)
	}
	c2, err := Parse(strings.NewReader("safety:\n  max_displacement_mm: 0.3\nwireframe:\n  nozzle_diameter_mm: 0.8\n"))
	if err != nil || c2.Safety.MaxDisplacementMM != 0.3 {
		t.Fatalf("explicit derived limit: %v %v", err, c2.Safety.MaxDisplacementMM)
	}
}
