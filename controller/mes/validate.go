package mes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"fabcell/config"
	"fabcell/controller"
	"fabcell/planners"
)

// Error codes of error events (field "code"). An MES can switch on them;
// the message says the details.
const (
	CodeBadTopic       = "bad_topic"         // topic not in the API (unknown command, bad job id)
	CodeTooLarge       = "too_large"         // payload above mqtt.max_payload_bytes
	CodeNotUTF8        = "not_utf8"          // payload is not UTF-8 text
	CodeEmpty          = "empty_payload"     // commands need at least {}
	CodeMalformed      = "malformed_json"    // not one JSON object
	CodeUnknownField   = "unknown_field"     // a field the API does not define
	CodeInvalidField   = "invalid_field"     // a field of the wrong type
	CodeInvalidJob     = "invalid_job"       // the job fails validation (id, model/model_inline, ring...)
	CodeUnknownProcess = "unknown_process"   // process not registered
	CodeUnknownPlanner = "unknown_planner"   // planner unknown or not for this process
	CodeBadParams      = "invalid_params"    // params name unknown keys or invalid values
	CodeModelOutside   = "model_outside_dir" // reference leaves mqtt.model_dir
	CodeModelMissing   = "model_not_found"   // no such model file
	CodeBadModel       = "model_invalid"     // the model does not load
	CodeUnknownJob     = "unknown_job"       // command for a job that does not exist
	CodeIllegalState   = "illegal_state"     // command not possible in the job's state
	CodeRetained       = "retained_command"  // commands must not be retained
	CodeQoS            = "qos_too_low"       // motion commands need QoS >= 1
	CodeForeignStatus  = "foreign_status"    // someone else wrote a status topic
	CodeRejected       = "rejected"          // the controller refused the job (closed, ...)
	CodeInternal       = "internal"          // a bug: reported instead of crashing
)

// reject is an inbound message refused with a code.
type reject struct {
	code string
	msg  string
}

func (r *reject) Error() string { return r.code + ": " + r.msg }

func rejectf(code, format string, args ...any) *reject {
	return &reject{code: code, msg: fmt.Sprintf(format, args...)}
}

// submitMsg is the payload of jobs/submit: a controller.JobSpec plus a
// request id echoed in the answer.
type submitMsg struct {
	controller.JobSpec
	RequestID string `json:"request_id,omitempty"`
}

// commandMsg is the payload of jobs/<id>/<verb>.
type commandMsg struct {
	RequestID string `json:"request_id,omitempty"`
	// Reason is recorded with pause and cancel.
	Reason string `json:"reason,omitempty"`
}

// decodeStrict decodes exactly one JSON object into v, rejecting unknown
// fields and trailing data, and classifies the failure.
func decodeStrict(data []byte, v any) *reject {
	trim := bytes.TrimSpace(data)
	if len(trim) == 0 {
		return rejectf(CodeEmpty, "empty payload: send a JSON object (at least {})")
	}
	if trim[0] != '{' {
		return rejectf(CodeMalformed, "payload is not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return rejectf(CodeMalformed, "malformed JSON at byte %d: %v", se.Offset, se)
		case errors.As(err, &te):
			return rejectf(CodeInvalidField, "field %q: want %s, got a JSON %s", strings.TrimPrefix(te.Field, "JobSpec."), jsonKind(te.Type.Kind().String()), te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return rejectf(CodeUnknownField, "%s (see the topic API in the README)", strings.TrimPrefix(err.Error(), "json: "))
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return rejectf(CodeMalformed, "malformed JSON: unexpected end of input")
		default:
			return rejectf(CodeMalformed, "malformed JSON: %v", strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return rejectf(CodeMalformed, "trailing data after the JSON object")
	}
	return nil
}

// lenientRequestID extracts request_id from a payload that failed strict
// decoding, so the error event can still be correlated.
func lenientRequestID(data []byte) string {
	var v struct {
		RequestID any `json:"request_id"`
	}
	if json.Unmarshal(data, &v) != nil {
		return ""
	}
	if s, ok := v.RequestID.(string); ok {
		return clip(s, 128)
	}
	return ""
}

// clip shortens s to at most n runes and removes control characters.
func clip(s string, n int) string {
	var b strings.Builder
	i := 0
	for _, r := range s {
		if i == n {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) {
			r = ' '
		}
		b.WriteRune(r)
		i++
	}
	return b.String()
}

// resolveModel resolves a model reference inside dir: relative paths only,
// no "..", and the resolved file (symlinks followed) must lie inside dir. A
// "#N" layer suffix (CLI) is kept. It returns the absolute path.
func resolveModel(dir, ref string) (string, *reject) {
	if strings.ContainsRune(ref, 0) {
		return "", rejectf(CodeInvalidJob, "model reference contains a NUL byte")
	}
	file, suffix := ref, ""
	if i := strings.LastIndexByte(ref, '#'); i > 0 {
		if _, err := strconv.Atoi(ref[i+1:]); err == nil {
			file, suffix = ref[:i], ref[i:]
		}
	}
	if filepath.IsAbs(file) || strings.HasPrefix(file, "/") || strings.HasPrefix(file, `\`) || filepath.VolumeName(file) != "" {
		return "", rejectf(CodeModelOutside, "model %q: absolute paths are not accepted; name a file inside the model directory", ref)
	}
	clean := filepath.Clean(file)
	if clean == "." || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", rejectf(CodeModelOutside, "model %q leaves the model directory", ref)
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", rejectf(CodeModelMissing, "model directory is not available: %v", errors.Unwrap(err))
	}
	full := filepath.Join(root, clean)
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", rejectf(CodeModelMissing, "model %q not found in the model directory", ref)
		}
		return "", rejectf(CodeModelMissing, "model %q: %v", ref, errors.Unwrap(err))
	}
	if rel, err := filepath.Rel(root, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", rejectf(CodeModelOutside, "model %q resolves outside the model directory", ref)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", rejectf(CodeModelMissing, "model %q: %v", ref, err)
	}
	if !fi.Mode().IsRegular() {
		return "", rejectf(CodeModelMissing, "model %q is not a regular file", ref)
	}
	return real + suffix, nil
}

// inlineFormats are the accepted model_format values of inline models
// (file extensions of the graph loaders that read a single text file).
var inlineFormats = []string{".json", ".obj", ".cli"}

// checkSpec validates a submitted job against the cell before it is queued:
// process, planner, parameter overrides and the model (loaded once, so a
// broken model is rejected now instead of failing later). It returns the
// spec to submit (model resolved to an absolute path inside modelDir).
func checkSpec(cell config.Cell, modelDir string, spec controller.JobSpec) (controller.JobSpec, *reject) {
	if err := spec.Validate(); err != nil {
		return spec, rejectf(CodeInvalidJob, "%s", strings.TrimPrefix(err.Error(), "job: "))
	}
	if !slices.Contains(planners.ProcessNames(), spec.Process) {
		return spec, rejectf(CodeUnknownProcess, "unknown process %q (known: %s)", spec.Process, strings.Join(planners.ProcessNames(), ", "))
	}
	if spec.Planner != "" && !slices.Contains(planners.PlannerNames(spec.Process), spec.Planner) {
		return spec, rejectf(CodeUnknownPlanner, "planner %q is unknown or does not support process %s (usable: %s)", spec.Planner, spec.Process, strings.Join(planners.PlannerNames(spec.Process), ", "))
	}
	c, err := controller.ApplyOverrides(cell, spec)
	if err != nil {
		return spec, rejectf(CodeBadParams, "%v", err)
	}
	proc, err := planners.NewProcess(spec.Process, c)
	if err != nil {
		return spec, rejectf(CodeUnknownProcess, "%v", err)
	}
	var path string
	if spec.Model != "" {
		p, rej := resolveModel(modelDir, spec.Model)
		if rej != nil {
			return spec, rej
		}
		spec.Model, path = p, p
	} else {
		if !slices.Contains(inlineFormats, strings.ToLower(spec.ModelFormat)) {
			return spec, rejectf(CodeInvalidJob, "model_format %q: inline models must be one of %s", spec.ModelFormat, strings.Join(inlineFormats, ", "))
		}
		f, err := os.CreateTemp("", "fabcell-inline-*"+strings.ToLower(spec.ModelFormat))
		if err != nil {
			return spec, rejectf(CodeInternal, "inline model: %v", err)
		}
		defer os.Remove(f.Name())
		_, werr := f.WriteString(spec.ModelInline)
		if cerr := f.Close(); werr != nil || cerr != nil {
			return spec, rejectf(CodeInternal, "inline model: %v", errors.Join(werr, cerr))
		}
		path = f.Name()
	}
	if _, err := proc.Load(path); err != nil {
		msg := err.Error()
		if spec.Model != "" {
			msg = strings.ReplaceAll(msg, filepath.Dir(path)+string(filepath.Separator), "")
		} else {
			msg = strings.ReplaceAll(msg, path, "model_inline")
		}
		return spec, rejectf(CodeBadModel, "model does not load: %s", msg)
	}
	return spec, nil
}

// jsonKind names a Go kind the way an MES author thinks of JSON.
func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "int", "int64", "int32", "uint", "uint64", "float64", "float32":
		return "a number"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "map", "struct", "interface":
		return "an object"
	}
	return k
}
