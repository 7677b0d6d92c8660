#!/usr/bin/env bash
# Runs every test on a fresh machine: installs the pinned etcd and S3 server
# binaries (cached under ~/.cache/ice-rest-catalog/tools), checks formatting
# and vet, then runs the whole suite with the race detector.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

eval "$(scripts/install-tools.sh)"
# Tests that need a tool fail instead of skipping when it is missing.
export ICE_REQUIRE_TOOLS=1

unformatted="$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './tools/*'))"
if [[ -n "${unformatted}" ]]; then
	echo "gofmt would change:" >&2
	echo "${unformatted}" >&2
	exit 1
fi
go vet ./...
# go.mod and go.sum must be what go mod tidy makes them, in every module.
for mod in . tools deploy/validate; do
	if ! (cd "${mod}" && go mod tidy -diff); then
		echo "go mod tidy would change ${mod}/go.mod or go.sum (diff above); run go mod tidy there" >&2
		exit 1
	fi
done
# Deployment files (Kubernetes, Helm, EKS, compose, Grafana), checked offline
# in their own module so k8s.io and helm.sh stay out of the server's go.mod.
(cd deploy/validate && go test -count=1 ./...)
go test -race -count=1 -timeout 30m "$@" ./...
# Fault injection, soak and fuzzing (docs/reliability.md).
scripts/reliability.sh
