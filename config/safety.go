package config

import (
	"math"
	"strconv"
)

// Safety holds the limits the safety gate enforces on every motion and the
// runtime monitors. All positions are in the robot base frame.
type Safety struct {
	// WorkspaceMM bounds every TCP position.
	Workspace Box `yaml:"workspace"`
	// KeepOut lists boxes the TCP and arm links must never enter (fixtures,
	// the LPBF machine, a camera mount).
	KeepOut []Box `yaml:"keep_out"`
	// Joint limits (UR5e: ±2π, π rad/s; acceleration is a placeholder, UR
	// does not publish it).
	JointMinRad     [6]float64 `yaml:"joint_min_rad"`
	JointMaxRad     [6]float64 `yaml:"joint_max_rad"`
	JointSpeedRadS  float64    `yaml:"joint_speed_rad_s"`
	JointAccelRadS2 float64    `yaml:"joint_accel_rad_s2"`
	// MaxTCPSpeedMMS is the TCP speed limit (UR default safety: 1000 mm/s).
	MaxTCPSpeedMMS float64 `yaml:"max_tcp_speed_mm_s"`
	// MaxDisplacementMM bounds the FEA sag of a partial wire frame before
	// its next strut is dispatched; 0 = wireframe.max_displacement_mm.
	MaxDisplacementMM float64 `yaml:"max_displacement_mm"`
	// MaxFiberTurnDeg refuses a CCF fibre move whose turning angle from
	// the previous move exceeds it (0 = straight on, 180 = U-turn; 180
	// refuses none). The planner minimises sharp turns; this is the hard
	// limit of the head (a fibre that would kink or tear).
	MaxFiberTurnDeg float64 `yaml:"max_fiber_turn_deg"`
	// Temperature windows (°C) outside which extrusion is refused.
	NozzleTempMinC float64 `yaml:"nozzle_temp_min_degC"`
	NozzleTempMaxC float64 `yaml:"nozzle_temp_max_degC"`
	BedTempMaxC    float64 `yaml:"bed_temp_max_degC"`
	// MaxLaserPowerW: 0 = lpbf.max_power_w.
	MaxLaserPowerW float64 `yaml:"max_laser_power_w"`
	// Door interlock: when DoorInterlock is true, digital input DoorInputBit
	// must read high (door closed) for any motion.
	DoorInterlock bool `yaml:"door_interlock"`
	DoorInputBit  int  `yaml:"door_input_bit"`
	// WatchdogS stops motion when the controller loop has not run for this
	// long.
	WatchdogS float64 `yaml:"watchdog_s"`
	// MinTCPHeightMM keeps the nozzle above the bed (bed frame z).
	MinTCPHeightMM float64 `yaml:"min_tcp_height_mm"`
}

func (s *Safety) applyDefaults(c *Cell) {
	if s.Workspace.Empty() {
		s.Workspace = Box{MinMM: Vec3{-850, -850, -50}, MaxMM: Vec3{850, 850, 1000}}
	}
	if s.JointMinRad == [6]float64{} && s.JointMaxRad == [6]float64{} {
		for i := range s.JointMinRad {
			s.JointMinRad[i], s.JointMaxRad[i] = -2*math.Pi, 2*math.Pi
		}
	}
	def(&s.JointSpeedRadS, math.Pi)
	def(&s.JointAccelRadS2, math.Pi)
	def(&s.MaxTCPSpeedMMS, 1000)
	def(&s.MaxDisplacementMM, c.Wireframe.DisplacementLimitMM())
	def(&s.MaxFiberTurnDeg, 180)
	def(&s.NozzleTempMinC, 170)
	def(&s.NozzleTempMaxC, 300)
	def(&s.BedTempMaxC, 120)
	def(&s.MaxLaserPowerW, c.LPBF.MaxPowerW)
	def(&s.WatchdogS, 0.5)
	def(&s.MinTCPHeightMM, -0.5)
}

func (s Safety) validate(v *validator, c Cell) {
	s.Workspace.validate(v, "safety.workspace")
	for i, b := range s.KeepOut {
		b.validate(v, "safety.keep_out["+strconv.Itoa(i)+"]")
	}
	for i := 0; i < 6; i++ {
		if !(s.JointMinRad[i] < s.JointMaxRad[i]) {
			v.add("safety.joint_min_rad", "joint %d: min %v must be < max %v", i, s.JointMinRad[i], s.JointMaxRad[i])
		}
		if s.JointMinRad[i] < -2*math.Pi-1e-9 || s.JointMaxRad[i] > 2*math.Pi+1e-9 {
			v.add("safety.joint_max_rad", "joint %d: limits [%v, %v] exceed the UR5e's ±2π", i, s.JointMinRad[i], s.JointMaxRad[i])
		}
	}
	v.within("safety.joint_speed_rad_s", s.JointSpeedRadS, 1e-6, math.Pi)
	v.within("safety.joint_accel_rad_s2", s.JointAccelRadS2, 1e-6, 40)
	v.within("safety.max_tcp_speed_mm_s", s.MaxTCPSpeedMMS, 1e-6, 5000)
	v.positive("safety.max_displacement_mm", s.MaxDisplacementMM)
	v.within("safety.max_fiber_turn_deg", s.MaxFiberTurnDeg, 1, 180)
	if !(s.NozzleTempMinC < s.NozzleTempMaxC) {
		v.add("safety.nozzle_temp_min_degC", "%v must be < nozzle_temp_max_degC %v", s.NozzleTempMinC, s.NozzleTempMaxC)
	}
	v.within("safety.nozzle_temp_max_degC", s.NozzleTempMaxC, 0, 500)
	v.within("safety.bed_temp_max_degC", s.BedTempMaxC, 0, 200)
	v.positive("safety.max_laser_power_w", s.MaxLaserPowerW)
	v.within("safety.door_input_bit", float64(s.DoorInputBit), 0, 63)
	v.within("safety.watchdog_s", s.WatchdogS, 0.01, 60)
	if c.Robot.PrintSpeedMMS > s.MaxTCPSpeedMMS {
		v.add("robot.print_speed_mm_s", "%v mm/s exceeds safety.max_tcp_speed_mm_s %v", c.Robot.PrintSpeedMMS, s.MaxTCPSpeedMMS)
	}
	if c.Robot.TravelSpeedMMS > s.MaxTCPSpeedMMS {
		v.add("robot.travel_speed_mm_s", "%v mm/s exceeds safety.max_tcp_speed_mm_s %v", c.Robot.TravelSpeedMMS, s.MaxTCPSpeedMMS)
	}
	if c.Robot.JointSpeedRadS > s.JointSpeedRadS {
		v.add("robot.joint_speed_rad_s", "%v rad/s exceeds safety.joint_speed_rad_s %v", c.Robot.JointSpeedRadS, s.JointSpeedRadS)
	}
	if c.CCF.MatrixTempC > s.NozzleTempMaxC || c.CCF.FiberTempC > s.NozzleTempMaxC {
		v.add("ccf.matrix_temp_degC", "nozzle temperatures %v/%v °C exceed safety.nozzle_temp_max_degC %v", c.CCF.MatrixTempC, c.CCF.FiberTempC, s.NozzleTempMaxC)
	}
	if c.CCF.BedTempC > s.BedTempMaxC {
		v.add("ccf.bed_temp_degC", "%v °C exceeds safety.bed_temp_max_degC %v", c.CCF.BedTempC, s.BedTempMaxC)
	}
	if c.LPBF.PowerW > s.MaxLaserPowerW {
		v.add("lpbf.power_w", "%v W exceeds safety.max_laser_power_w %v", c.LPBF.PowerW, s.MaxLaserPowerW)
	}
}
