package pendant

import (
	"bytes"
	"encoding/xml"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeCall(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Call
	}{
		{"typed string", `<?xml version="1.0"?>
<methodCall>
  <methodName>start_job</methodName>
  <params>
    <param>
      <value><string>femur</string></value>
    </param>
  </params>
</methodCall>`, Call{"start_job", []any{"femur"}}},
		{"untyped string keeps spaces", `<methodCall><methodName>start_job</methodName><params><param><value> a b </value></param></params></methodCall>`, Call{"start_job", []any{" a b "}}},
		{"no params", `<?xml version="1.0" encoding="UTF-8"?><methodCall><methodName>status</methodName></methodCall>`, Call{"status", nil}},
		{"empty params", `<methodCall><methodName>status</methodName><params/></methodCall>`, Call{"status", []any{}}},
		{"scalars", `<methodCall><methodName>m</methodName><params>
			<param><value><int>-7</int></value></param>
			<param><value><i4>42</i4></value></param>
			<param><value><i8>-9000000000</i8></value></param>
			<param><value><double>-1.5e-3</double></value></param>
			<param><value><boolean>1</boolean></value></param>
			<param><value><boolean>0</boolean></value></param>
			<param><value><string>&lt;a&amp;b&gt; ünï</string></value></param>
			<param><value><string/></value></param>
			<param><value><nil/></value></param>
			<param><value><base64>aGVsbG8=</base64></value></param>
			<param><value><dateTime.iso8601>20240102T03:04:05</dateTime.iso8601></value></param>
		</params></methodCall>`, Call{"m", []any{int64(-7), int64(42), int64(-9000000000), -1.5e-3, true, false, "<a&b> ünï", "", nil, []byte("hello"),
			time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}}},
		{"pose struct and array", `<methodCall><methodName>m</methodName><params>
			<param><value><struct>
				<member><name>x</name><value><double>0.1</double></value></member>
				<member><name>rz</name><value><double>3.14</double></value></member>
			</struct></value></param>
			<param><value><array><data><value><int>1</int></value><value>two</value><value><array><data/></array></value></data></array></value></param>
		</params></methodCall>`, Call{"m", []any{map[string]any{"x": 0.1, "rz": 3.14}, []any{int64(1), "two", []any{}}}}},
		{"comments ignored", `<!-- pendant --><methodCall><!-- x --><methodName>ping</methodName></methodCall>`, Call{"ping", nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeCall(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestDecodeCallRejects(t *testing.T) {
	deep := strings.Repeat("<value><array><data>", 40) + strings.Repeat("</data></array></value>", 40)
	tests := []struct {
		name, in string
		code     int
		mention  string
	}{
		{"empty", ``, FaultParse, "end of document"},
		{"not XML", `hello`, FaultInvalidRequest, "unexpected text"},
		{"truncated", `<methodCall><methodName>status</methodName>`, FaultParse, "EOF"},
		{"mismatched tags", `<methodCall><methodName>status</methodCall>`, FaultParse, "malformed"},
		{"wrong root", `<methodResponse/>`, FaultInvalidRequest, "methodCall"},
		{"no method name", `<methodCall><params/></methodCall>`, FaultInvalidRequest, "methodName"},
		{"doctype", `<!DOCTYPE x [<!ENTITY a "b">]><methodCall><methodName>&a;</methodName></methodCall>`, FaultInvalidRequest, "DOCTYPE"},
		{"unknown entity", `<methodCall><methodName>&xxe;</methodName></methodCall>`, FaultParse, "entity"},
		{"bad int", `<methodCall><methodName>m</methodName><params><param><value><int>12x</int></value></param></params></methodCall>`, FaultInvalidRequest, "integer"},
		{"int overflow", `<methodCall><methodName>m</methodName><params><param><value><i4>3000000000</i4></value></param></params></methodCall>`, FaultInvalidRequest, "32-bit"},
		{"nan", `<methodCall><methodName>m</methodName><params><param><value><double>NaN</double></value></param></params></methodCall>`, FaultInvalidRequest, "finite"},
		{"bad boolean", `<methodCall><methodName>m</methodName><params><param><value><boolean>true</boolean></value></param></params></methodCall>`, FaultInvalidRequest, "0 or 1"},
		{"unknown type", `<methodCall><methodName>m</methodName><params><param><value><float>1</float></value></param></params></methodCall>`, FaultInvalidRequest, "<float>"},
		{"two values", `<methodCall><methodName>m</methodName><params><param><value><int>1</int><int>2</int></value></param></params></methodCall>`, FaultInvalidRequest, "more than one"},
		{"param without value", `<methodCall><methodName>m</methodName><params><param><int>1</int></param></params></methodCall>`, FaultInvalidRequest, "want <value>"},
		{"struct without name", `<methodCall><methodName>m</methodName><params><param><value><struct><member><value>1</value></member></struct></value></param></params></methodCall>`, FaultInvalidRequest, "want <name>"},
		{"too deep", `<methodCall><methodName>m</methodName><params><param>` + deep + `</param></params></methodCall>`, FaultInvalidRequest, "deeper"},
		{"trailing element", `<methodCall><methodName>m</methodName></methodCall><x/>`, FaultInvalidRequest, "after"},
		{"latin-1 charset", `<?xml version="1.0" encoding="ISO-8859-1"?><methodCall><methodName>m</methodName></methodCall>`, FaultParse, "charset"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeCall(strings.NewReader(tc.in))
			var f *Fault
			if !errors.As(err, &f) {
				t.Fatalf("error %v is not a fault", err)
			}
			if f.Code != tc.code || !strings.Contains(f.String, tc.mention) {
				t.Fatalf("fault %d %q, want %d mentioning %q", f.Code, f.String, tc.code, tc.mention)
			}
		})
	}
}

// xmlValue is an independent decoder of responses (encoding/xml struct
// mapping) used to check EncodeResponse.
type xmlValue struct {
	Int     *string     `xml:"int"`
	Double  *string     `xml:"double"`
	Boolean *string     `xml:"boolean"`
	String  *string     `xml:"string"`
	Array   *[]xmlValue `xml:"array>data>value"`
	Members []struct {
		Name  string   `xml:"name"`
		Value xmlValue `xml:"value"`
	} `xml:"struct>member"`
}

type xmlResponse struct {
	XMLName xml.Name  `xml:"methodResponse"`
	Param   *xmlValue `xml:"params>param>value"`
	Fault   *xmlValue `xml:"fault>value"`
}

func parseResponse(t *testing.T, data []byte) xmlResponse {
	t.Helper()
	var r xmlResponse
	if err := xml.Unmarshal(data, &r); err != nil {
		t.Fatalf("response is not valid XML: %v\n%s", err, data)
	}
	return r
}

func TestEncodeResponse(t *testing.T) {
	var b bytes.Buffer
	if err := EncodeResponse(&b, "ok: <job> & \"x\" \x01 ü"); err != nil {
		t.Fatal(err)
	}
	r := parseResponse(t, b.Bytes())
	if r.Param == nil || r.Param.String == nil || *r.Param.String != "ok: <job> & \"x\" \uFFFD ü" {
		t.Fatalf("string response %s", b.String())
	}
	b.Reset()
	EncodeResponse(&b, []string{"a", "b"})
	r = parseResponse(t, b.Bytes())
	if r.Param.Array == nil || len(*r.Param.Array) != 2 || *(*r.Param.Array)[1].String != "b" {
		t.Fatalf("array response %s", b.String())
	}
	for v, want := range map[any]string{42: "42", int64(1) << 40: "2147483647", -3: "-3"} {
		b.Reset()
		EncodeResponse(&b, v)
		if r := parseResponse(t, b.Bytes()); r.Param.Int == nil || *r.Param.Int != want {
			t.Fatalf("%v encoded as %s", v, b.String())
		}
	}
	b.Reset()
	EncodeResponse(&b, 1e-7)
	if r := parseResponse(t, b.Bytes()); r.Param.Double == nil || *r.Param.Double != "0.0000001" {
		t.Fatalf("double %s (XML-RPC doubles have no exponent)", b.String())
	}
	b.Reset()
	EncodeResponse(&b, true)
	if r := parseResponse(t, b.Bytes()); *r.Param.Boolean != "1" {
		t.Fatal(b.String())
	}
	if err := EncodeResponse(&b, math.NaN()); err == nil {
		t.Fatal("NaN encoded")
	}
	b.Reset()
	EncodeFault(&b, &Fault{FaultUnknownMethod, "unknown method \"x<y\""})
	r = parseResponse(t, b.Bytes())
	if r.Fault == nil || r.Param != nil || len(r.Fault.Members) != 2 {
		t.Fatalf("fault %s", b.String())
	}
	got := map[string]string{}
	for _, m := range r.Fault.Members {
		switch {
		case m.Value.Int != nil:
			got[m.Name] = *m.Value.Int
		case m.Value.String != nil:
			got[m.Name] = *m.Value.String
		}
	}
	if got["faultCode"] != "-32601" || got["faultString"] != `unknown method "x<y"` {
		t.Fatalf("fault members %v", got)
	}
}

func TestAllowList(t *testing.T) {
	nets, err := ParseAllowList([]string{"192.168.1.10", "10.0.0.0/8", "::1/128"})
	if err != nil {
		t.Fatal(err)
	}
	for remote, want := range map[string]bool{
		"192.168.1.10:4000": true, "192.168.1.11:4000": false, "10.200.3.4:1": true,
		"[::1]:80": true, "127.0.0.1:80": false, "[::ffff:192.168.1.10]:5": true, "garbage": false,
	} {
		if got := Allowed(nets, remote); got != want {
			t.Errorf("Allowed(%q) = %v", remote, got)
		}
	}
	if _, err := ParseAllowList([]string{"10.0.0.0/33"}); err == nil {
		t.Error("bad CIDR accepted")
	}
}
