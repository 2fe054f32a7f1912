// Package mes is fabcell's shop-floor interface over MQTT: an MES submits
// and controls jobs and watches their status, telemetry and events under
// <mqtt.topic_prefix>/<cell>/ (spec robot-protocols.md §4):
//
//	jobs/submit             in   JSON job (controller.JobSpec fields + request_id)
//	jobs/<id>/start         in   {"request_id": "...", "reason": "..."} (both optional; at least {})
//	jobs/<id>/pause         in   same
//	jobs/<id>/resume        in   same
//	jobs/<id>/cancel        in   same
//	jobs/<id>/status        out  retained Status JSON, on every state change and at most
//	                             mqtt.telemetry_hz for progress; seq counts publications
//	telemetry               out  Telemetry JSON (QoS 0), at most mqtt.telemetry_hz
//	events                  out  Event JSON: ack, duplicate, error (with code), job_error, refusal
//	state                   out  retained OnlineState JSON; the Will publishes online=false
//
// Inbound messages are validated before anything is dispatched: topic
// levels, payload size (mqtt.max_payload_bytes), UTF-8, one strict JSON
// object (unknown fields refused), retained commands refused (they would
// re-run on every reconnect: the embedded broker refuses a retained command
// when it is published — not stored, not delivered, error event; an
// external broker delivers it live with RETAIN=0 under MQTT 3.1.1, so the
// controller refuses its redeliveries and clears it from the broker with an
// empty retained message), QoS 0 refused for commands that start motion,
// process and planner registered, parameter overrides valid, and the model
// resolved inside mqtt.model_dir and loaded once. Every refusal is an error
// event naming the problem (Code* constants). Submission is idempotent by
// job id; commands are idempotent, and a repeated request_id returns the
// first answer without executing again.
//
// The connection uses a persistent session (CleanSession=false, stable
// client id) so commands published while the controller is offline are
// delivered when it returns, reconnects with exponential back-off, and
// republishes its online state and every job's retained status after each
// (re)connection — a broker that restarted without persistence gets the
// true state back.
//
// StartBroker runs the embedded mochi-mqtt broker (used when mqtt.broker is
// empty); ClientOptions and Dial connect other clients of the cell (e.g.
// the LPBF machine link) with the same settings. With mqtt.sparkplug the
// cell is also a Sparkplug B edge node (NBIRTH/NDATA/NDEATH, spBv1.0).
package mes
