// Package lpbf is fabcell's link to the controller of an LPBF (laser powder
// bed fusion) machine: scan vectors are sent layer by layer, in
// acknowledged chunks, over MQTT (issue 11; paper §4.1.3). The package
// holds the wire protocol (the message types both sides use) and the
// controller-side client, Link. The simulated machine of package
// simulation/lpbfsim speaks exactly this protocol.
//
// # Topics
//
// Every topic lives under
//
//	<mqtt.topic_prefix>/<cell name>/lpbf/
//
// controller → machine (QoS ≥ 1, not retained):
//
//	layer/begin   LayerBegin: job, layer index, z, thickness, pixel count,
//	              vector count (0 = streamed, not known in advance), laser
//	              parameters (power, scan/jump speed, delays, field size)
//	vectors       Chunk: job, layer, chunk id, vectors [{x0,y0,x1,y1 (mm),
//	              power_w, speed_mm_s}], the controller's time estimate
//	layer/end     LayerEnd: job, layer, number of chunks and vectors of the
//	              layer (the machine checks them against what it executed)
//
// machine → controller:
//
//	ack           Ack (QoS ≥ 1): the answer to every message above — kind,
//	              job, layer, chunk id, status "ok" or "rejected" with a
//	              machine-readable code, a reason and the index of the
//	              offending vector, whether it was a duplicate, the
//	              execution time of the chunk (model time exec_s and wall
//	              time wall_s) and the last completed chunk of the job
//	state         State (retained): online, laser on/off, the open layer,
//	              per job the last completed chunk id. The machine's MQTT
//	              Last Will is a retained State with online=false, so an
//	              unplanned disconnect is visible to every subscriber.
//	events        Event (QoS ≥ 1): faults, rejections, abandoned layers,
//	              chunks interrupted by a machine restart
//
// Every payload is one JSON object (UTF-8, field names in the types below;
// lengths in mm, times in s, power in W, speeds in mm/s). A controller →
// machine message is rejected if it is larger than the machine's payload
// limit (fabcell's default mqtt.max_payload_bytes: 4 MiB), has unknown
// fields, non-finite numbers, or a protocol version other than Version.
//
// # Scan field frame
//
// Vector coordinates are in the machine's scan field frame: millimetres,
// origin at the field centre. The field is the square
// [−field/2, field/2]² (field = the machine's field size); a vector with an
// end point outside it is rejected (code "field"). A vector is straight, so
// both end points inside the square means the whole vector is inside.
//
// # Chunks and idempotent delivery
//
// The chunk ids of a job are 0, 1, 2, … in scan order, dense across all its
// layers. The machine executes each chunk id of a job at most once:
//
//   - the next new chunk must be last completed + 1 (a gap is rejected with
//     code "sequence": it would skip vectors);
//   - a chunk id it already executed is acknowledged again ("duplicate":
//     true) without scanning — if its vectors are identical (the machine
//     keeps a digest per chunk); different vectors under an executed id are
//     rejected ("sequence": the job id was reused);
//   - the machine records a chunk as in progress before it scans and as
//     completed before it acknowledges, so a redelivered chunk (QoS 1
//     redelivery, a controller that resends after a broker outage or after
//     its own crash) is never scanned twice. A chunk interrupted mid-scan by
//     a machine crash is rejected on redelivery (code "interrupted"): a
//     partly scanned chunk needs an operator, never an automatic rescan.
//
// The controller sends one chunk at a time and waits for its ack (Link.
// SendChunk). It resends the chunk whenever its own connection comes back
// and whenever the machine comes back online (a new connection epoch in the
// retained state), because a broker restart loses queued messages; the ack
// timeout runs only while both are connected. After a controller crash,
// Link.LastCompleted reads the machine's last completed chunk of the job
// from the retained state, so the journal's in-flight chunk is either
// confirmed or sent again (and then deduplicated by the machine).
//
// Every request carries a request id ("req") that the ack echoes, so an ack
// queued for a previous controller process is never taken for the answer to
// a new request.
package lpbf
