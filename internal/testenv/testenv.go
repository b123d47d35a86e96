// Package testenv decides which tests run: the README's test command runs
// the quick ones on a developer's machine, and everything in CI.
//
// Slow tests (downloading real proto corpora, building tools, buf or
// binaries, starting processes or a browser) run when CI is set (as .ci/run
// sets it) or SVC_TEST_ALL=1, and never with -short; otherwise they skip
// with one line saying how to run them.
package testenv

import (
	"os"
	"testing"
)

// Full reports whether slow tests run.
func Full() bool {
	if testing.Short() {
		return false
	}
	return os.Getenv("CI") != "" || os.Getenv("SVC_TEST_ALL") != ""
}

// Slow skips t unless slow tests run; why says what makes it slow.
func Slow(t testing.TB, why string) {
	t.Helper()
	if !Full() {
		t.Skipf("%s: slow, skipped; SVC_TEST_ALL=1 go test ./... runs it (CI does)", why)
	}
}
