#!/usr/bin/env bash
# Runs the reliability checks that are too slow for a plain `go test ./...`
# (docs/reliability.md):
#   1. the fault-injection suite and the soak (build tag `faults`): a real
#      3-member etcd, versitygw and three catalog replicas, killed, paused,
#      restarted and cut off while writers commit; it prints the table rows
#      that docs/reliability.md quotes;
#   2. every fuzz target, briefly, on its committed seed corpus.
# scripts/test.sh runs it after the unit and integration tests; it expects
# ICE_TOOLS_BIN from `eval "$(scripts/install-tools.sh)"`.
#
# Env:
#   ICE_FUZZTIME        how much each fuzz target runs (default 5000x: a count of
#                       inputs; a duration such as 10s also works, but Go 1.26's
#                       fuzz coordinator can then fail a clean run with a bare
#                       "context deadline exceeded" at the deadline, golang/go#75804,
#                       fixed in Go 1.27)
#   ICE_SOAK_DURATION   soak length, at least 2m (default 2m)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# -v prints the measured rows; the processes' logs show only on failure.
go test -tags faults -count=1 -v -timeout 20m ./internal/faults/

fuzztime="${ICE_FUZZTIME:-5000x}"
# package|target: one fuzz target per `go test -fuzz` run, as Go requires.
targets=(
	".|FuzzTableIdent"
	".|FuzzParseLocation"
	"./config|FuzzParse"
	"./etcd|FuzzPageToken"
	"./rest|FuzzParseNamespace"
	"./rest|FuzzDecodeRequests"
	"./service|FuzzApplyUpdates"
)
for t in "${targets[@]}"; do
	IFS='|' read -r pkg name <<<"${t}"
	echo "fuzz ${pkg} ${name} for ${fuzztime}"
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "${fuzztime}" "${pkg}"
done
