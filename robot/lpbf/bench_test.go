package lpbf_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"fabcell/robot/lpbf"
	"fabcell/simulation/lpbfsim"
)

// BenchmarkChunkRoundTrip measures SendChunk → machine → ack over the
// embedded broker on loopback, with the machine's scan time scaled away
// (time scale 1e6), for chunks of n vectors.
func BenchmarkChunkRoundTrip(b *testing.B) {
	for _, n := range []int{16, 500} {
		b.Run(map[int]string{16: "16vectors", 500: "500vectors"}[n], func(b *testing.B) {
			br := startMochi(b)
			ctx := context.Background()
			m, err := lpbfsim.Start(ctx, lpbfsim.Options{BrokerURL: br.URL(), Prefix: "fab", Cell: cell, FieldSizeMM: 1000, MaxPowerW: 400,
				TimeScale: 1e6, Log: quiet()})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			l, err := lpbf.Dial(ctx, lpbf.Options{BrokerURL: br.URL(), Prefix: "fab", Cell: cell, Log: quiet()})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			if _, err := l.BeginLayer(ctx, begin("bench")); err != nil {
				b.Fatal(err)
			}
			vs := vecs(0, n, 200)
			b.ResetTimer()
			t0 := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := l.SendChunk(ctx, lpbf.Chunk{Job: "bench", ID: int64(i), Vectors: vs}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/time.Since(t0).Seconds(), "vectors/s")
		})
	}
}

func BenchmarkDecodeChunk500(b *testing.B) {
	data, _ := json.Marshal(lpbf.Chunk{Req: "r-1", Job: "bench", ID: 7, Vectors: vecs(0, 500, 200)})
	b.SetBytes(int64(len(data)))
	var sink int
	for i := 0; i < b.N; i++ {
		var c lpbf.Chunk
		if err := lpbf.Decode(data, 0, &c); err != nil {
			b.Fatal(err)
		}
		sink += len(c.Vectors)
	}
	_ = sink
}

func BenchmarkDigest500(b *testing.B) {
	vs := vecs(0, 500, 200)
	var sink string
	for i := 0; i < b.N; i++ {
		sink = lpbf.Digest(vs)
	}
	_ = sink
}
