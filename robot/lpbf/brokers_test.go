package lpbf_test

import (
	"io"
	"log/slog"
	"os"

	"fabcell/robot/lpbf/brokertest"
)

// The brokers are shared with the other LPBF tests (package brokertest).
type testBroker = brokertest.Broker

var (
	startMochi = brokertest.StartMochi
	eachBroker = brokertest.Each
)

func quiet() *slog.Logger {
	if os.Getenv("LPBF_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
