// Package config describes a fabrication cell in one YAML file: the robot
// and its tool, the process heads (wire-frame extruder, dual-nozzle CCF
// head, LPBF scanner), the planner, the MQTT broker, serial ports, the
// operator interfaces and the safety limits.
//
// Rules (after Klipper's configfile check_unused and Caddy's strict JSON):
//   - unknown keys are errors, reported with their line;
//   - a key the file omits takes its default (Defaults() returns a Cell
//     with every default filled in); a key the file sets keeps its value,
//     zero included — so "qos: 0" or an empty web_addr mean what they say
//     (Cells built in code get defaults only through Defaults);
//   - Validate() checks ranges and cross-field rules and names the offending
//     field by its YAML path (e.g. "safety.max_tcp_speed_mm_s").
//
// Units are in the key names (mm, mm_s, deg, degC, rad, w, s, hz) and in the
// Go field names; code converts once, at the wire.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Cell is the whole cell configuration.
type Cell struct {
	// Name identifies the cell on the shop floor (MQTT topic level, job
	// reports). Letters, digits, '-' and '_' only.
	Name       string           `yaml:"name"`
	Robot      Robot            `yaml:"robot"`
	Wireframe  WireframeProcess `yaml:"wireframe"`
	CCF        CCFProcess       `yaml:"ccf"`
	LPBF       LPBFProcess      `yaml:"lpbf"`
	Planner    Planner          `yaml:"planner"`
	MQTT       MQTT             `yaml:"mqtt"`
	Serial     Serial           `yaml:"serial"`
	Pendant    Pendant          `yaml:"pendant"`
	Controller Controller       `yaml:"controller"`
	Safety     Safety           `yaml:"safety"`
	GCode      GCode            `yaml:"gcode"`
}

// FieldError names the configuration field that failed validation.
type FieldError struct {
	Field string // YAML path, e.g. "robot.rtde_port"
	Msg   string
}

func (e *FieldError) Error() string { return "config: " + e.Field + ": " + e.Msg }

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid configuration")

// MaxFileBytes bounds the size of a configuration file.
const MaxFileBytes = 1 << 20

// Defaults returns a Cell with every default filled in. It is valid.
func Defaults() Cell {
	var c Cell
	c.applyDefaults()
	return c
}

// Load reads, defaults and validates a configuration file. An empty path
// returns Defaults().
func Load(path string) (Cell, error) {
	if path == "" {
		return Defaults(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return Cell{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	c, err := Parse(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return Cell{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse decodes YAML (unknown keys rejected) over the defaults and
// validates. Keys the file sets keep their value even when it is zero
// (`mqtt.qos: 0`, `pendant.web_addr: ""`, `planner.epsilon: 0`); keys it
// omits keep their defaults. Limits derived from other sections
// (safety.max_displacement_mm from the nozzle, safety.max_laser_power_w
// from lpbf.max_power_w) are re-derived unless the file sets them.
func Parse(r io.Reader) (Cell, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Cell{}, fmt.Errorf("config: read: %w", err)
	}
	if len(data) > MaxFileBytes {
		return Cell{}, fmt.Errorf("config: file larger than %d bytes", MaxFileBytes)
	}
	c := Defaults()
	if len(bytes.TrimSpace(data)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			var te *yaml.TypeError
			if errors.As(err, &te) {
				// one line: yaml.v3 lists them under "unmarshal errors:"
				return Cell{}, fmt.Errorf("config: %s", strings.Join(nameTypeErrors(data, te.Errors), "; "))
			}
			return Cell{}, fmt.Errorf("config: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			return Cell{}, fmt.Errorf("config: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if err := checkWholeNumbers(&root, reflect.TypeFor[Cell](), ""); err != nil {
			return Cell{}, fmt.Errorf("config: %w", err)
		}
		if !hasKey(&root, "safety", "max_displacement_mm") {
			c.Safety.MaxDisplacementMM = c.Wireframe.DisplacementLimitMM()
		}
		if !hasKey(&root, "safety", "max_laser_power_w") {
			c.Safety.MaxLaserPowerW = c.LPBF.MaxPowerW
		}
	}
	if err := c.Validate(); err != nil {
		return Cell{}, err
	}
	return c, nil
}

// hasKey reports whether the YAML document sets the mapping key path.
func hasKey(n *yaml.Node, path ...string) bool {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, k := range path {
		if n.Kind != yaml.MappingNode {
			return false
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return false
		}
		n = next
	}
	return true
}

// Marshal writes the configuration as YAML.
func (c Cell) Marshal() ([]byte, error) { return yaml.Marshal(c) }

func (c *Cell) applyDefaults() {
	def(&c.Name, "cell1")
	c.Robot.applyDefaults()
	c.Wireframe.applyDefaults()
	c.CCF.applyDefaults()
	c.LPBF.applyDefaults()
	c.Planner.applyDefaults()
	c.MQTT.applyDefaults()
	c.Serial.applyDefaults()
	c.Pendant.applyDefaults()
	c.Controller.applyDefaults()
	c.Safety.applyDefaults(c)
	c.GCode.applyDefaults()
}

// Validate checks every section. The error joins one FieldError per problem.
func (c Cell) Validate() error {
	var v validator
	if !validName(c.Name) {
		v.add("name", "%q: use letters, digits, '-' and '_' only (it becomes an MQTT topic level)", c.Name)
	}
	c.Robot.validate(&v)
	c.Wireframe.validate(&v)
	c.CCF.validate(&v)
	c.LPBF.validate(&v)
	c.Planner.validate(&v)
	c.MQTT.validate(&v)
	c.Serial.validate(&v)
	c.Pendant.validate(&v)
	c.Controller.validate(&v)
	c.Safety.validate(&v, c)
	c.GCode.validate(&v)
	return v.err()
}

// validName reports whether s is usable as an MQTT topic level and file stem.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

type validator struct{ errs []error }

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}

// positive requires x > 0 and finite (at most 1e300: larger values
// overflow the arithmetic they enter).
func (v *validator) positive(field string, x float64) {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		v.add(field, "must be a finite number > 0, got %v", x)
	case x > 1e300:
		v.add(field, "must be > 0 and at most 1e300, got %v", x)
	case !(x > 0):
		v.add(field, "must be > 0, got %v", x)
	}
}

// within requires lo <= x <= hi.
func (v *validator) within(field string, x, lo, hi float64) {
	if !(x >= lo && x <= hi) {
		v.add(field, "must be in [%v, %v], got %v", lo, hi, x)
	}
}

func (v *validator) port(field string, p int) {
	if p < 0 || p > 65535 {
		v.add(field, "port must be in [0, 65535], got %d", p)
	}
}

func (v *validator) oneOf(field, s string, allowed ...string) {
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	v.add(field, "%q: must be one of %s", s, strings.Join(allowed, ", "))
}

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(v.errs...))
}

// def sets *p to d when *p is the zero value.
func def[T comparable](p *T, d T) {
	var zero T
	if *p == zero {
		*p = d
	}
}

// Vec3 is a 3-vector written as a YAML sequence [x, y, z].
type Vec3 [3]float64

// Box is an axis-aligned box given by its min and max corners (mm).
type Box struct {
	MinMM Vec3 `yaml:"min_mm"`
	MaxMM Vec3 `yaml:"max_mm"`
}

// Empty reports whether the box is unset (both corners zero).
func (b Box) Empty() bool { return b.MinMM == Vec3{} && b.MaxMM == Vec3{} }

func (b Box) validate(v *validator, field string) {
	for i := 0; i < 3; i++ {
		if !(b.MinMM[i] < b.MaxMM[i]) {
			v.add(field, "min_mm[%d]=%v must be < max_mm[%d]=%v", i, b.MinMM[i], i, b.MaxMM[i])
		}
	}
}

// Contains reports whether p (mm) lies inside the box (inclusive).
func (b Box) Contains(p Vec3) bool {
	for i := 0; i < 3; i++ {
		if p[i] < b.MinMM[i] || p[i] > b.MaxMM[i] {
			return false
		}
	}
	return true
}
