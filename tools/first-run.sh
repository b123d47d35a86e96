#!/usr/bin/env bash
# Times the README's generate and test commands the way a new user meets
# them: a fresh clone, an empty Go module cache and build cache. Not part of
# .ci/run (it downloads and builds everything from scratch); run it by hand
# and put the figures in the README:
#
#   bash tools/first-run.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/clone"
export GOMODCACHE="$work/modcache" GOCACHE="$work/gocache" GOFLAGS=-modcacherw
unset CI SVC_TEST_ALL SVC_TEST_POSTGRES_DSN
cd "$work/clone"

seconds() { date +%s.%N; }
start=$(seconds)
go -C tools run ./regen
generated=$(seconds)
if [ -n "$(git status --porcelain)" ]; then
  echo "first-run: the generate command changed checked-in files" >&2
  exit 1
fi
go test -race ./... >"$work/test.log" 2>&1 || { cat "$work/test.log"; exit 1; }
tested=$(seconds)
awk -v a="$start" -v b="$generated" -v c="$tested" \
  'BEGIN { printf "first generate: %.0fs\nfirst test:     %.0fs\n", b - a, c - b }'
echo "machine: $(nproc) cores; go $(go env GOVERSION)"
echo "slowest test packages (run time, after their build):"
grep -E '^ok' "$work/test.log" | sort -t$'\t' -k3 -rn | head -5
