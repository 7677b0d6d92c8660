#!/usr/bin/env bash
# Builds the external binaries that integration tests start (etcd, etcdctl,
# etcdutl, versitygw, minio, nats-server) from the pinned tools module and links them into one
# stable directory that internal/testenv looks in.
#
# Usage:
#   scripts/install-tools.sh              # build what is missing, print the env line
#   eval "$(scripts/install-tools.sh)"    # same, and export ICE_TOOLS_BIN
#
# Progress goes to stderr so that stdout holds only the export line.
# Versions come from tools/go.mod, the single source of truth: bump them there
# (then `go mod tidy` inside tools/) and rerun this script.
#
# Env:
#   ICE_TOOLS_CACHE  cache root (default: $HOME/.cache/ice-rest-catalog/tools)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_mod="${repo_root}/tools"
cache="${ICE_TOOLS_CACHE:-${HOME}/.cache/ice-rest-catalog/tools}"
link_dir="${cache}/bin"

# tool name | package to build | module whose version names the build
tools=(
	"etcd|go.etcd.io/etcd/server/v3|go.etcd.io/etcd/server/v3"
	"etcdctl|go.etcd.io/etcd/etcdctl/v3|go.etcd.io/etcd/etcdctl/v3"
	"etcdutl|go.etcd.io/etcd/etcdutl/v3|go.etcd.io/etcd/etcdutl/v3"
	"versitygw|github.com/versity/versitygw/cmd/versitygw|github.com/versity/versitygw"
	# MinIO implements STS AssumeRole with session policies, which the
	# vended-credentials tests need; it is the slowest build (minutes).
	"minio|github.com/minio/minio|github.com/minio/minio"
	# NATS JetStream, for the event delivery tests (delivery/); kept out
	# of the server's go.mod, which only needs the client.
	"nats-server|github.com/nats-io/nats-server/v2|github.com/nats-io/nats-server/v2"
)

log() { printf '%s\n' "$*" >&2; }

# Resolve every module version in one `go list` call (a warm run should be
# fast), from inside the tools module so the root go.mod is never consulted.
modules=()
for spec in "${tools[@]}"; do
	IFS='|' read -r _ _ mod <<<"${spec}"
	modules+=("${mod}")
done
versions="$(cd "${tools_mod}" && GOWORK=off go list -m -f '{{.Path}} {{.Version}}' "${modules[@]}")"

mkdir -p "${link_dir}"
for spec in "${tools[@]}"; do
	IFS='|' read -r name pkg mod <<<"${spec}"
	version="$(awk -v m="${mod}" '$1 == m { print $2 }' <<<"${versions}")"
	if [[ -z "${version}" ]]; then
		log "install-tools: no version for ${mod} in ${tools_mod}/go.mod"
		exit 1
	fi
	bin_dir="${cache}/${name}-${version}/bin"
	bin="${bin_dir}/${name}"
	if [[ -x "${bin}" ]]; then
		log "${name} ${version}: cached ${bin}"
	else
		start=${SECONDS}
		mkdir -p "${bin_dir}"
		# Build to a temporary name and rename, so an interrupted or concurrent
		# run never leaves a half-written binary that later looks cached.
		tmp="$(mktemp "${bin_dir}/.${name}.XXXXXX")"
		if ! (cd "${tools_mod}" && GOWORK=off CGO_ENABLED=0 go build -trimpath -o "${tmp}" "${pkg}"); then
			rm -f "${tmp}"
			log "install-tools: building ${name} ${version} failed"
			exit 1
		fi
		chmod 0755 "${tmp}"
		mv -f "${tmp}" "${bin}"
		log "${name} ${version}: built ${bin} in $((SECONDS - start))s"
	fi
	# Relative link keeps the cache relocatable.
	ln -sfn "../${name}-${version}/bin/${name}" "${link_dir}/${name}"
done

printf 'export ICE_TOOLS_BIN=%q\n' "${link_dir}"
