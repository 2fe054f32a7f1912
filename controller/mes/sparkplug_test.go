package mes

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"fabcell/controller"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// tahuDescriptor builds the Tahu Payload/Metric messages (sparkplug_b.proto,
// proto2, the subset of fields fabcell uses plus bytes) with the protobuf
// library, as an independent encoder/decoder for the hand-written one.
func tahuDescriptor(t *testing.T) protoreflect.MessageDescriptor {
	t.Helper()
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	rep := descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	f := func(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type, label *descriptorpb.FieldDescriptorProto_Label, typeName string, oneof *int32) *descriptorpb.FieldDescriptorProto {
		d := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(num), Type: typ.Enum(), Label: label, OneofIndex: oneof}
		if typeName != "" {
			d.TypeName = proto.String(typeName)
		}
		return d
	}
	zero := proto.Int32(0)
	T := descriptorpb.FieldDescriptorProto_TYPE_UINT64
	fd := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("sparkplug_b.proto"),
		Package: proto.String("org.eclipse.tahu.protobuf"),
		Syntax:  proto.String("proto2"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Payload"),
			Field: []*descriptorpb.FieldDescriptorProto{
				f("timestamp", 1, T, opt, "", nil),
				f("metrics", 2, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, rep, ".org.eclipse.tahu.protobuf.Payload.Metric", nil),
				f("seq", 3, T, opt, "", nil),
				f("uuid", 4, descriptorpb.FieldDescriptorProto_TYPE_STRING, opt, "", nil),
				f("body", 5, descriptorpb.FieldDescriptorProto_TYPE_BYTES, opt, "", nil),
			},
			NestedType: []*descriptorpb.DescriptorProto{{
				Name: proto.String("Metric"),
				Field: []*descriptorpb.FieldDescriptorProto{
					f("name", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING, opt, "", nil),
					f("alias", 2, T, opt, "", nil),
					f("timestamp", 3, T, opt, "", nil),
					f("datatype", 4, descriptorpb.FieldDescriptorProto_TYPE_UINT32, opt, "", nil),
					f("is_historical", 5, descriptorpb.FieldDescriptorProto_TYPE_BOOL, opt, "", nil),
					f("is_transient", 6, descriptorpb.FieldDescriptorProto_TYPE_BOOL, opt, "", nil),
					f("is_null", 7, descriptorpb.FieldDescriptorProto_TYPE_BOOL, opt, "", nil),
					f("int_value", 10, descriptorpb.FieldDescriptorProto_TYPE_UINT32, opt, "", zero),
					f("long_value", 11, T, opt, "", zero),
					f("float_value", 12, descriptorpb.FieldDescriptorProto_TYPE_FLOAT, opt, "", zero),
					f("double_value", 13, descriptorpb.FieldDescriptorProto_TYPE_DOUBLE, opt, "", zero),
					f("boolean_value", 14, descriptorpb.FieldDescriptorProto_TYPE_BOOL, opt, "", zero),
					f("string_value", 15, descriptorpb.FieldDescriptorProto_TYPE_STRING, opt, "", zero),
					f("bytes_value", 16, descriptorpb.FieldDescriptorProto_TYPE_BYTES, opt, "", zero),
				},
				OneofDecl: []*descriptorpb.OneofDescriptorProto{{Name: proto.String("value")}},
			}},
		}},
	}
	file, err := protodesc.NewFile(fd, nil)
	if err != nil {
		t.Fatal(err)
	}
	return file.Messages().ByName("Payload")
}

// decodeWithLibrary decodes a payload with dynamicpb into name → value.
func decodeWithLibrary(t *testing.T, md protoreflect.MessageDescriptor, data []byte) (seq uint64, hasSeq bool, metrics map[string]any) {
	t.Helper()
	m := dynamicpb.NewMessage(md)
	if err := proto.Unmarshal(data, m); err != nil {
		t.Fatalf("protobuf library cannot decode the payload: %v", err)
	}
	fields := md.Fields()
	metrics = map[string]any{}
	list := m.Get(fields.ByName("metrics")).List()
	mfields := md.Messages().ByName("Metric").Fields()
	for i := 0; i < list.Len(); i++ {
		mm := list.Get(i).Message()
		name := mm.Get(mfields.ByName("name")).String()
		od := mm.WhichOneof(md.Messages().ByName("Metric").Oneofs().ByName("value"))
		if od == nil {
			metrics[name] = nil
			continue
		}
		metrics[name] = mm.Get(od).Interface()
	}
	return m.Get(fields.ByName("seq")).Uint(), m.Has(fields.ByName("seq")), metrics
}

func TestTahuAgainstProtobufLibrary(t *testing.T) {
	md := tahuDescriptor(t)
	p := SpPayload{Timestamp: 1700000000123, Seq: 7, HasSeq: true, Metrics: []SpMetric{
		{Name: "bdSeq", DataType: SpUInt64, Value: uint64(3)},
		{Name: "Node Control/Rebirth", DataType: SpBoolean, Value: false},
		{Name: "Job/State", DataType: SpString, Value: "running ✓"},
		{Name: "Job/Progress", DataType: SpDouble, Value: 0.625},
		{Name: "Job/Steps Done", DataType: SpInt64, Value: int64(-42)},
		{Name: "i32", DataType: SpInt32, Value: int64(-5)},
		{Name: "f", DataType: SpFloat, Value: float32(1.5)},
		{Name: "null", DataType: SpString, IsNull: true},
	}}
	data, err := MarshalSparkplug(p)
	if err != nil {
		t.Fatal(err)
	}
	seq, has, got := decodeWithLibrary(t, md, data)
	want := map[string]any{"bdSeq": uint64(3), "Node Control/Rebirth": false, "Job/State": "running ✓", "Job/Progress": 0.625,
		"Job/Steps Done": uint64(math.MaxUint64 - 41), "i32": uint32(0xfffffffb), "f": float32(1.5), "null": nil}
	if seq != 7 || !has || !reflect.DeepEqual(got, want) {
		t.Fatalf("library decoded seq %d %v metrics %#v, want %#v", seq, has, got, want)
	}
	// and the library's encoding decodes with ours (fields in the
	// library's order, value before datatype included)
	m := dynamicpb.NewMessage(md)
	if err := proto.Unmarshal(data, m); err != nil {
		t.Fatal(err)
	}
	again, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalSparkplug(again)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, p) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", back, p)
	}
	// every truncation decodes or fails cleanly (never panics); cutting
	// inside the first metric is an error
	for i := 1; i < len(data); i++ {
		UnmarshalSparkplug(data[:i])
	}
	if _, err := UnmarshalSparkplug(data[:12]); err == nil {
		t.Fatal("payload cut inside a metric accepted")
	}
	if _, err := UnmarshalSparkplug([]byte{0x12, 0x50, 0x01}); err == nil {
		t.Fatal("truncated metric accepted")
	}
}

// TestSparkplugNode: NBIRTH (bdSeq, Rebirth=false, seq 0) after connecting,
// NDATA with changed metrics and increasing seq while a job runs, a new
// NBIRTH on NCMD Rebirth=true, and NDEATH with the same bdSeq on shutdown —
// checked by decoding with the protobuf library.
func TestSparkplugNode(t *testing.T) {
	md := tahuDescriptor(t)
	b := startMochi(t, "")
	cell := testCell(t, "cell7")
	cell.MQTT.Sparkplug = true
	cell.MQTT.AutoStart = true
	cell.MQTT.SparkplugGroup = "plant"
	spb := newRecorder(t, b.url(), "host-app", "spBv1.0/plant/#")
	s := newStack(t, b, cell, modelDir(t))
	type spMsg struct {
		typ     string
		seq     uint64
		metrics map[string]any
	}
	decode := func(ms []msg) []spMsg {
		var out []spMsg
		for _, m := range ms {
			parts := strings.Split(m.Topic, "/")
			if len(parts) != 4 || parts[0] != "spBv1.0" || parts[1] != "plant" || parts[3] != "cell7" {
				t.Fatalf("sparkplug topic %q", m.Topic)
			}
			if parts[2] == "NCMD" {
				continue
			}
			seq, _, metrics := decodeWithLibrary(t, md, m.Payload)
			out = append(out, spMsg{parts[2], seq, metrics})
		}
		return out
	}
	ms := spb.waitFor(t, "NBIRTH", 10*time.Second, func(ms []msg) bool { return len(ms) > 0 })
	birth := decode(ms)[0]
	if birth.typ != "NBIRTH" || birth.seq != 0 || birth.metrics["Node Control/Rebirth"] != false || birth.metrics["Job/State"] != "idle" || birth.metrics["Properties/Cell"] != "cell7" {
		t.Fatalf("first message %+v", birth)
	}
	bd, ok := birth.metrics["bdSeq"].(uint64)
	if !ok {
		t.Fatalf("bdSeq %#v", birth.metrics["bdSeq"])
	}
	// run a job: NDATA follows with state changes
	mes := newRecorder(t, b.url(), "mes-spb", s.tp.Base+"/#")
	s.waitOnline(t, mes)
	mes.publish(t, s.tp.Submit(), 1, false, submitJSON("spb", femurRef, ""))
	spb.waitFor(t, "NDATA with Job/State completed", 60*time.Second, func(ms []msg) bool {
		for _, m := range decode(ms) {
			if m.typ == "NDATA" && m.metrics["Job/State"] == string(controller.Completed) {
				return true
			}
		}
		return false
	})
	// rebirth request from a host application (encoded by the library)
	cmd := dynamicpb.NewMessage(md)
	cmd.Set(md.Fields().ByName("timestamp"), protoreflect.ValueOfUint64(uint64(time.Now().UnixMilli())))
	mmd := md.Messages().ByName("Metric")
	metric := dynamicpb.NewMessage(mmd)
	metric.Set(mmd.Fields().ByName("name"), protoreflect.ValueOfString(SpMetricRebirth))
	metric.Set(mmd.Fields().ByName("datatype"), protoreflect.ValueOfUint32(SpBoolean))
	metric.Set(mmd.Fields().ByName("boolean_value"), protoreflect.ValueOfBool(true))
	cmd.Mutable(md.Fields().ByName("metrics")).List().Append(protoreflect.ValueOfMessage(metric))
	data, err := proto.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	births := func(ms []msg) int {
		n := 0
		for _, m := range decode(ms) {
			if m.typ == "NBIRTH" {
				n++
			}
		}
		return n
	}
	// (new telemetry metrics during the job caused rebirths already)
	before := births(spb.all())
	spb.publish(t, SparkplugTopic("plant", "NCMD", "cell7"), 0, false, data)
	spb.waitFor(t, "NBIRTH after the rebirth request", 10*time.Second, func(ms []msg) bool { return births(ms) > before })
	s.close(t)
	ms = spb.waitFor(t, "NDEATH", 10*time.Second, func(ms []msg) bool {
		d := decode(ms)
		return len(d) > 0 && d[len(d)-1].typ == "NDEATH"
	})
	all := decode(ms)
	if death := all[len(all)-1]; death.metrics["bdSeq"] != bd {
		t.Fatalf("NDEATH bdSeq %v, NBIRTH bdSeq %v", death.metrics["bdSeq"], bd)
	}
	// seq: 0 at each birth, +1 per NDATA
	var last uint64
	for i, m := range all {
		switch m.typ {
		case "NBIRTH":
			if m.seq != 0 {
				t.Fatalf("NBIRTH seq %d", m.seq)
			}
			last = 0
		case "NDATA":
			if m.seq != (last+1)%256 {
				t.Fatalf("message %d: NDATA seq %d after %d", i, m.seq, last)
			}
			last = m.seq
		}
	}
}

func TestHostOnline(t *testing.T) {
	for in, want := range map[string]bool{`{"online":true,"timestamp":1}`: true, `{"online":false}`: false, "ONLINE": true, "OFFLINE": false, "": false} {
		if got := hostOnline([]byte(in)); got != want {
			t.Errorf("hostOnline(%q) = %v", in, got)
		}
	}
}
