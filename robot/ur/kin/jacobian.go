package kin

import (
	"github.com/golang/geo/r3"
)

// Jacobian returns the geometric Jacobian at q for the TCP, in the base
// frame: rows 0–2 map joint rates (rad/s) to the TCP's linear velocity
// (m/s), rows 3–5 to its angular velocity (rad/s). Column i is
// [z_i × (p_tcp − o_i); z_i] with z_i, o_i the axis and origin of joint
// i+1 (DH frame i).
func (m *Model) Jacobian(q [6]float64) [6][6]float64 {
	f := m.Frames(q)
	p := f[6].Mul(m.tcp).P
	var j [6][6]float64
	for i := 0; i < 6; i++ {
		z := f[i].R.Col(2)
		v := z.Cross(p.Sub(f[i].P))
		j[0][i], j[1][i], j[2][i] = v.X, v.Y, v.Z
		j[3][i], j[4][i], j[5][i] = z.X, z.Y, z.Z
	}
	return j
}

// TCPVelocity returns the TCP's linear (m/s) and angular (rad/s) velocity
// in the base frame for joint rates qd (rad/s) at q.
func (m *Model) TCPVelocity(q, qd [6]float64) (v, w r3.Vector) {
	j := m.Jacobian(q)
	var out [6]float64
	for r := 0; r < 6; r++ {
		for c := 0; c < 6; c++ {
			out[r] += j[r][c] * qd[c]
		}
	}
	return r3.Vector{X: out[0], Y: out[1], Z: out[2]}, r3.Vector{X: out[3], Y: out[4], Z: out[5]}
}
