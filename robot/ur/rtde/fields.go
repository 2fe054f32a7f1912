package rtde

import (
	"fmt"
	"sort"
)

// Field registry of the e-Series controller (spec §1 "Key fields" plus the
// rest of UR's published RTDE field table). Output fields are what a client
// may name in CONTROL_PACKAGE_SETUP_OUTPUTS, input fields what it may name
// in CONTROL_PACKAGE_SETUP_INPUTS. The simulator serves a subset of the
// output fields (see ursim); a name not listed here is NOT_FOUND on every
// controller.
var (
	outputFields = map[string]DataType{}
	inputFields  = map[string]DataType{}
)

func init() {
	out := map[string]DataType{
		"timestamp": Double,
		"target_q":  Vector6D, "target_qd": Vector6D, "target_qdd": Vector6D,
		"target_current": Vector6D, "target_moment": Vector6D,
		"actual_q": Vector6D, "actual_qd": Vector6D, "actual_current": Vector6D,
		"joint_control_output": Vector6D,
		"actual_TCP_pose":      Vector6D, "actual_TCP_speed": Vector6D, "actual_TCP_force": Vector6D,
		"target_TCP_pose": Vector6D, "target_TCP_speed": Vector6D,
		"actual_digital_input_bits": Uint64, "joint_temperatures": Vector6D,
		"actual_execution_time": Double, "robot_mode": Int32, "joint_mode": Vector6Int32,
		"safety_mode": Int32, "safety_status": Int32, "actual_tool_accelerometer": Vector3D,
		"speed_scaling": Double, "target_speed_fraction": Double, "actual_momentum": Double,
		"actual_main_voltage": Double, "actual_robot_voltage": Double, "actual_robot_current": Double,
		"actual_joint_voltage": Vector6D, "actual_digital_output_bits": Uint64, "runtime_state": Uint32,
		"elbow_position": Vector3D, "elbow_velocity": Vector3D,
		"robot_status_bits": Uint32, "safety_status_bits": Uint32, "analog_io_types": Uint32,
		"standard_analog_input0": Double, "standard_analog_input1": Double,
		"standard_analog_output0": Double, "standard_analog_output1": Double,
		"io_current": Double, "euromap67_input_bits": Uint32, "euromap67_output_bits": Uint32,
		"euromap67_24V_voltage": Double, "euromap67_24V_current": Double,
		"tool_mode": Uint32, "tool_analog_input_types": Uint32,
		"tool_analog_input0": Double, "tool_analog_input1": Double,
		"tool_output_voltage": Int32, "tool_output_current": Double, "tool_temperature": Double,
		"tcp_force_scalar": Double, "tool_output_mode": Uint8,
		"tool_digital_output0_mode": Uint8, "tool_digital_output1_mode": Uint8,
		"payload": Double, "payload_cog": Vector3D, "payload_inertia": Vector6D,
		"script_control_line": Uint32, "ft_raw_wrench": Vector6D,
		"joint_position_deviation_ratio": Vector6D, "collision_detection_ratio": Double,
		"output_bit_registers0_to_31": Uint32, "output_bit_registers32_to_63": Uint32,
		"input_bit_registers0_to_31": Uint32, "input_bit_registers32_to_63": Uint32,
	}
	in := map[string]DataType{
		"speed_slider_mask": Uint32, "speed_slider_fraction": Double,
		"standard_digital_output_mask": Uint8, "standard_digital_output": Uint8,
		"configurable_digital_output_mask": Uint8, "configurable_digital_output": Uint8,
		"tool_digital_output_mask": Uint8, "tool_digital_output": Uint8,
		"standard_analog_output_mask": Uint8, "standard_analog_output_type": Uint8,
		"standard_analog_output_0": Double, "standard_analog_output_1": Double,
		"input_bit_registers0_to_31": Uint32, "input_bit_registers32_to_63": Uint32,
		"external_force_torque": Vector6D,
	}
	for i := 64; i < 128; i++ {
		out[fmt.Sprintf("output_bit_register_%d", i)] = Bool
		out[fmt.Sprintf("input_bit_register_%d", i)] = Bool
		in[fmt.Sprintf("input_bit_register_%d", i)] = Bool
	}
	for i := 0; i < NumRegisters; i++ {
		out[fmt.Sprintf("output_int_register_%d", i)] = Int32
		out[fmt.Sprintf("output_double_register_%d", i)] = Double
		out[fmt.Sprintf("input_int_register_%d", i)] = Int32
		out[fmt.Sprintf("input_double_register_%d", i)] = Double
		in[fmt.Sprintf("input_int_register_%d", i)] = Int32
		in[fmt.Sprintf("input_double_register_%d", i)] = Double
	}
	outputFields, inputFields = out, in
}

// NumRegisters is the number of int and double registers in each
// direction (0–47).
const NumRegisters = 48

// OutputFieldType returns the type of a controller output field.
func OutputFieldType(name string) (DataType, bool) {
	t, ok := outputFields[name]
	return t, ok
}

// InputFieldType returns the type of a controller input field.
func InputFieldType(name string) (DataType, bool) {
	t, ok := inputFields[name]
	return t, ok
}

// OutputFieldNames returns every output field name, sorted.
func OutputFieldNames() []string { return sortedKeys(outputFields) }

// InputFieldNames returns every input field name, sorted.
func InputFieldNames() []string { return sortedKeys(inputFields) }

func sortedKeys(m map[string]DataType) []string {
	s := make([]string, 0, len(m))
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// Register field names.
func InputIntRegister(n int) string     { return fmt.Sprintf("input_int_register_%d", n) }
func InputDoubleRegister(n int) string  { return fmt.Sprintf("input_double_register_%d", n) }
func OutputIntRegister(n int) string    { return fmt.Sprintf("output_int_register_%d", n) }
func OutputDoubleRegister(n int) string { return fmt.Sprintf("output_double_register_%d", n) }

// Enumerations (spec §1 "Enumerations").

// RobotMode is the robot_mode output.
type RobotMode int32

const (
	RobotModeNoController     RobotMode = -1
	RobotModeDisconnected     RobotMode = 0
	RobotModeConfirmSafety    RobotMode = 1
	RobotModeBooting          RobotMode = 2
	RobotModePowerOff         RobotMode = 3
	RobotModePowerOn          RobotMode = 4
	RobotModeIdle             RobotMode = 5
	RobotModeBackdrive        RobotMode = 6
	RobotModeRunning          RobotMode = 7
	RobotModeUpdatingFirmware RobotMode = 8
)

var robotModeNames = map[RobotMode]string{
	-1: "NO_CONTROLLER", 0: "DISCONNECTED", 1: "CONFIRM_SAFETY", 2: "BOOTING", 3: "POWER_OFF",
	4: "POWER_ON", 5: "IDLE", 6: "BACKDRIVE", 7: "RUNNING", 8: "UPDATING_FIRMWARE",
}

func (m RobotMode) String() string {
	if s, ok := robotModeNames[m]; ok {
		return s
	}
	return fmt.Sprintf("RobotMode(%d)", int32(m))
}

// ParseRobotMode maps the dashboard name ("RUNNING") to the mode.
func ParseRobotMode(s string) (RobotMode, bool) {
	for k, v := range robotModeNames {
		if v == s {
			return k, true
		}
	}
	return 0, false
}

// SafetyMode is the safety_mode / safety_status output.
type SafetyMode int32

const (
	SafetyNormal                     SafetyMode = 1
	SafetyReduced                    SafetyMode = 2
	SafetyProtectiveStop             SafetyMode = 3
	SafetyRecovery                   SafetyMode = 4
	SafetySafeguardStop              SafetyMode = 5
	SafetySystemEmergencyStop        SafetyMode = 6
	SafetyRobotEmergencyStop         SafetyMode = 7
	SafetyViolation                  SafetyMode = 8
	SafetyFault                      SafetyMode = 9
	SafetyValidateJointID            SafetyMode = 10
	SafetyUndefined                  SafetyMode = 11
	SafetyAutomaticModeSafeguardStop SafetyMode = 12
	SafetySystemThreePositionStop    SafetyMode = 13
)

var safetyModeNames = map[SafetyMode]string{
	1: "NORMAL", 2: "REDUCED", 3: "PROTECTIVE_STOP", 4: "RECOVERY", 5: "SAFEGUARD_STOP",
	6: "SYSTEM_EMERGENCY_STOP", 7: "ROBOT_EMERGENCY_STOP", 8: "VIOLATION", 9: "FAULT",
	10: "VALIDATE_JOINT_ID", 11: "UNDEFINED", 12: "AUTOMATIC_MODE_SAFEGUARD_STOP",
	13: "SYSTEM_THREE_POSITION_ENABLING_STOP",
}

func (m SafetyMode) String() string {
	if s, ok := safetyModeNames[m]; ok {
		return s
	}
	return fmt.Sprintf("SafetyMode(%d)", int32(m))
}

// ParseSafetyMode maps the dashboard name ("PROTECTIVE_STOP") to the mode.
func ParseSafetyMode(s string) (SafetyMode, bool) {
	for k, v := range safetyModeNames {
		if v == s {
			return k, true
		}
	}
	return 0, false
}

// RuntimeState is the runtime_state output.
type RuntimeState uint32

const (
	RuntimeStopping RuntimeState = 0
	RuntimeStopped  RuntimeState = 1
	RuntimePlaying  RuntimeState = 2
	RuntimePausing  RuntimeState = 3
	RuntimePaused   RuntimeState = 4
	RuntimeResuming RuntimeState = 5
)

func (s RuntimeState) String() string {
	switch s {
	case RuntimeStopping:
		return "STOPPING"
	case RuntimeStopped:
		return "STOPPED"
	case RuntimePlaying:
		return "PLAYING"
	case RuntimePausing:
		return "PAUSING"
	case RuntimePaused:
		return "PAUSED"
	case RuntimeResuming:
		return "RESUMING"
	}
	return fmt.Sprintf("RuntimeState(%d)", uint32(s))
}
