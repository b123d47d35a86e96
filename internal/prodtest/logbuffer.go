package prodtest

import (
	"bytes"
	"strings"
	"sync"
	"time"
)

// LogBuffer collects what a logger or a child process writes while a test
// reads it.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// WaitFor waits up to 5s for the buffer to contain s and reports whether it
// did. Logs written after a call ends (grpc reports a call's end to stats
// handlers after the client has its status) need the wait.
func (b *LogBuffer) WaitFor(s string) bool {
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(b.String(), s); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}
