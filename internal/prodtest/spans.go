package prodtest

import (
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// WaitForServerSpans waits up to 5s for exporter to hold n server spans
// named name. A server ends its span after the answer is on its way, so
// the last one may reach the exporter just after the caller has its
// result.
func WaitForServerSpans(exporter *tracetest.InMemoryExporter, name string, n int) {
	ended := func() int {
		count := 0
		for _, s := range exporter.GetSpans() {
			if s.Name == name && s.SpanKind == trace.SpanKindServer {
				count++
			}
		}
		return count
	}
	for deadline := time.Now().Add(5 * time.Second); ended() < n && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}
