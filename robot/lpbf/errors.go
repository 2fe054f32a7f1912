package lpbf

import (
	"errors"
	"fmt"
)

// Sentinels; RejectedError matches the one of its code with errors.Is.
var (
	// ErrRejected is matched by every rejection.
	ErrRejected = errors.New("lpbf: rejected by the machine")
	// ErrFieldSize: a vector leaves the machine's scan field.
	ErrFieldSize = errors.New("lpbf: vector outside the machine's scan field")
	// ErrPower: a vector's power is above the machine's limit.
	ErrPower = errors.New("lpbf: laser power above the machine's limit")
	// ErrSpeed: a vector's speed is outside the machine's range.
	ErrSpeed = errors.New("lpbf: scan speed outside the machine's range")
	// ErrSequence: the message does not fit the job's chunk/layer sequence.
	ErrSequence = errors.New("lpbf: chunk or layer out of sequence")
	// ErrInterrupted: the chunk was cut short by a machine restart.
	ErrInterrupted = errors.New("lpbf: chunk interrupted mid-scan by a machine restart")
	// ErrAckTimeout: no ack within the timeout while connected.
	ErrAckTimeout = errors.New("lpbf: no acknowledgement from the machine")
	// ErrOffline: the machine did not come online in time.
	ErrOffline = errors.New("lpbf: machine offline")
	// ErrClosed: the link was closed.
	ErrClosed = errors.New("lpbf: link closed")
	// ErrTooLarge: a message exceeds the payload limit.
	ErrTooLarge = errors.New("lpbf: message larger than the payload limit")
)

// RejectedError is a rejection by the machine, naming the message and, for
// vector checks, the offending vector.
type RejectedError struct {
	Kind  string // KindLayerBegin, KindChunk or KindLayerEnd
	Job   string
	Layer int
	Chunk int64 // −1 for layer messages
	// Vector is the index of the offending vector in the chunk (−1: none).
	Vector int
	Code   string
	Reason string
}

func (e *RejectedError) Error() string {
	what := fmt.Sprintf("%s of job %s layer %d", e.Kind, e.Job, e.Layer)
	if e.Kind == KindChunk {
		what = fmt.Sprintf("chunk %d of job %s (layer %d)", e.Chunk, e.Job, e.Layer)
	}
	s := "lpbf machine rejected " + what + " [" + e.Code + "]"
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Is matches ErrRejected and the sentinel of the rejection code.
func (e *RejectedError) Is(target error) bool {
	switch target {
	case ErrRejected:
		return true
	case ErrFieldSize:
		return e.Code == CodeField
	case ErrPower:
		return e.Code == CodePower
	case ErrSpeed:
		return e.Code == CodeSpeed
	case ErrSequence:
		return e.Code == CodeSequence || e.Code == CodeCount
	case ErrInterrupted:
		return e.Code == CodeInterrupted
	case ErrMalformed:
		return e.Code == CodeMalformed
	}
	return false
}

func rejection(a Ack) *RejectedError {
	return &RejectedError{Kind: a.Kind, Job: a.Job, Layer: a.Layer, Chunk: a.Chunk, Vector: a.Vector, Code: a.Code, Reason: a.Reason}
}
