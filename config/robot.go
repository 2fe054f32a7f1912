package config

import "math"

// Robot describes the UR5e arm, its controller's network interfaces, the
// tool and the print-bed frame.
type Robot struct {
	// Model is the arm type; only "ur5e" kinematics ship today.
	Model string `yaml:"model"`
	// Host is the robot controller's address. Empty = the built-in simulator
	// (dry runs always use the simulator).
	Host string `yaml:"host"`
	// RTDEPort, DashboardPort and ScriptPort are the controller's TCP ports
	// (UR defaults 30004, 29999, 30002).
	RTDEPort      int `yaml:"rtde_port"`
	DashboardPort int `yaml:"dashboard_port"`
	ScriptPort    int `yaml:"script_port"`
	// RTDEFrequencyHz is the requested RTDE output rate (e-Series max 500).
	RTDEFrequencyHz float64 `yaml:"rtde_frequency_hz"`
	// ConnectTimeoutS bounds each connection attempt.
	ConnectTimeoutS float64 `yaml:"connect_timeout_s"`
	// RegisterOffset is 0 for input/output registers 0–23, 24 for the upper
	// range 24–47 (ur_rtde's UPPER_RANGE_REGISTERS).
	RegisterOffset int `yaml:"register_offset"`

	// ToolOffset is the TCP relative to the flange: translation in mm and a
	// rotation vector in rad (URScript set_tcp convention).
	ToolOffset Pose `yaml:"tool_offset"`
	// BedFrame is the print-bed frame in the robot base frame (mm / rotation
	// vector in rad). Model coordinates are bed coordinates. A model file
	// that carries its own frame (assembly_instances base_frame_in_rob_base)
	// overrides it when UseModelBedFrame is true.
	BedFrame         Pose `yaml:"bed_frame"`
	UseModelBedFrame bool `yaml:"use_model_bed_frame"`
	// HomeJointsRad is the safe start/end configuration.
	HomeJointsRad [6]float64 `yaml:"home_joints_rad"`

	// Motion parameters for generated URScript.
	PrintSpeedMMS    float64 `yaml:"print_speed_mm_s"`   // extruding moves (movel/movep v)
	TravelSpeedMMS   float64 `yaml:"travel_speed_mm_s"`  // non-extruding moves
	LinearAccelMMS2  float64 `yaml:"linear_accel_mm_s2"` // movel/movep a
	JointSpeedRadS   float64 `yaml:"joint_speed_rad_s"`  // movej v
	JointAccelRadS2  float64 `yaml:"joint_accel_rad_s2"` // movej a
	BlendRadiusMM    float64 `yaml:"blend_radius_mm"`    // r for movep/movel blends
	ApproachMM       float64 `yaml:"approach_mm"`        // approach offset along the tool axis
	RetractMM        float64 `yaml:"retract_mm"`         // retract offset along the tool axis
	AllowLocalScript bool    `yaml:"allow_local_script"` // skip the remote-control check (simulator only)
}

// Pose is a rigid transform: translation in mm plus a rotation vector
// (axis × angle) in radians.
type Pose struct {
	XMM   float64 `yaml:"x_mm"`
	YMM   float64 `yaml:"y_mm"`
	ZMM   float64 `yaml:"z_mm"`
	RXRad float64 `yaml:"rx_rad"`
	RYRad float64 `yaml:"ry_rad"`
	RZRad float64 `yaml:"rz_rad"`
}

func (r *Robot) applyDefaults() {
	def(&r.Model, "ur5e")
	def(&r.RTDEPort, 30004)
	def(&r.DashboardPort, 29999)
	def(&r.ScriptPort, 30002)
	def(&r.RTDEFrequencyHz, 500)
	def(&r.ConnectTimeoutS, 5)
	def(&r.ToolOffset, Pose{ZMM: 150})
	def(&r.BedFrame, Pose{XMM: 400, ZMM: 25})
	def(&r.HomeJointsRad, [6]float64{0, -math.Pi / 2, math.Pi / 2, -math.Pi / 2, -math.Pi / 2, 0})
	def(&r.PrintSpeedMMS, 8)
	def(&r.TravelSpeedMMS, 100)
	def(&r.LinearAccelMMS2, 500)
	def(&r.JointSpeedRadS, 1.05)
	def(&r.JointAccelRadS2, 1.4)
	def(&r.BlendRadiusMM, 0.5)
	def(&r.ApproachMM, 10)
	def(&r.RetractMM, 10)
}

func (r Robot) validate(v *validator) {
	v.oneOf("robot.model", r.Model, "ur5e")
	v.port("robot.rtde_port", r.RTDEPort)
	v.port("robot.dashboard_port", r.DashboardPort)
	v.port("robot.script_port", r.ScriptPort)
	v.within("robot.rtde_frequency_hz", r.RTDEFrequencyHz, 1, 500)
	v.positive("robot.connect_timeout_s", r.ConnectTimeoutS)
	if r.RegisterOffset != 0 && r.RegisterOffset != 24 {
		v.add("robot.register_offset", "must be 0 (registers 0–23) or 24 (registers 24–47), got %d", r.RegisterOffset)
	}
	for i, q := range r.HomeJointsRad {
		if math.Abs(q) > 2*math.Pi {
			v.add("robot.home_joints_rad", "joint %d = %v rad is outside ±2π", i, q)
		}
	}
	v.positive("robot.print_speed_mm_s", r.PrintSpeedMMS)
	v.positive("robot.travel_speed_mm_s", r.TravelSpeedMMS)
	v.positive("robot.linear_accel_mm_s2", r.LinearAccelMMS2)
	v.positive("robot.joint_speed_rad_s", r.JointSpeedRadS)
	v.positive("robot.joint_accel_rad_s2", r.JointAccelRadS2)
	v.within("robot.blend_radius_mm", r.BlendRadiusMM, 0, 50)
	v.within("robot.approach_mm", r.ApproachMM, 0, 200)
	v.within("robot.retract_mm", r.RetractMM, 0, 200)
}
