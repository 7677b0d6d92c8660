#!/usr/bin/env bash
# Builds the external binaries that integration tests start (etcd, etcdctl,
# etcdutl, versitygw, minio, nats-server) from the pinned tools module and links them into one
# stable directory that internal/testenv looks in.
#
# Usage:
#   scripts/install-tools.sh              # build what is missing, print the env line
#   eval "$(scripts/install-tools.sh)"    # same, and export ICE_TOOLS_BIN
#   scripts/install-tools.sh versitygw    # only the named tools (etcd etcdctl
#                                         # etcdutl versitygw minio)
#
# Progress goes to stderr so that stdout holds only export lines.
# Versions come from tools/go.mod, the single source of truth: bump them there
# (then `go mod tidy` inside tools/) and rerun this script.
#
# A tool whose binary for its pinned version is in the cache is never built
# again. Missing ones are built in two parallel lanes, balanced for two
# cores: MinIO (the longest build) in one; etcd, etcdctl and etcdutl (in one
# `go build`) and then versitygw in the other.
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

wanted=("$@")
is_wanted() {
	[[ ${#wanted[@]} -eq 0 ]] && return 0
	local w
	for w in "${wanted[@]}"; do [[ "${w}" == "$1" ]] && return 0; done
	return 1
}
for w in "${wanted[@]}"; do
	if ! printf '%s\n' "${tools[@]}" | grep -q "^${w}|"; then
		log "install-tools: unknown tool ${w} (known: etcd etcdctl etcdutl versitygw minio)"
		exit 2
	fi
done

# Resolve every module version in one `go list` call (a warm run should be
# fast), from inside the tools module so the root go.mod is never consulted.
modules=()
for spec in "${tools[@]}"; do
	IFS='|' read -r _ _ mod <<<"${spec}"
	modules+=("${mod}")
done
versions="$(cd "${tools_mod}" && GOWORK=off go list -m -f '{{.Path}} {{.Version}}' "${modules[@]}")"

declare -A pkg_of version_of
missing=()
mkdir -p "${link_dir}"
for spec in "${tools[@]}"; do
	IFS='|' read -r name pkg mod <<<"${spec}"
	is_wanted "${name}" || continue
	version="$(awk -v m="${mod}" '$1 == m { print $2 }' <<<"${versions}")"
	if [[ -z "${version}" ]]; then
		log "install-tools: no version for ${mod} in ${tools_mod}/go.mod"
		exit 1
	fi
	pkg_of[${name}]="${pkg}"
	version_of[${name}]="${version}"
	if [[ -x "${cache}/${name}-${version}/bin/${name}" ]]; then
		log "${name} ${version}: cached ${cache}/${name}-${version}/bin/${name}"
	else
		missing+=("${name}")
	fi
done

# build NAME... builds the named tools in one `go build` into a temporary
# directory, then moves each binary to its versioned cache directory with a
# rename, so an interrupted or concurrent run never leaves a half-written
# binary that later looks cached.
build() {
	local start=${SECONDS} tmp name pkgs=()
	for name in "$@"; do pkgs+=("${pkg_of[${name}]}"); done
	mkdir -p "${cache}"
	tmp="$(mktemp -d "${cache}/.build.XXXXXX")"
	log "building $* ..."
	if ! (cd "${tools_mod}" && GOWORK=off CGO_ENABLED=0 go build -trimpath -o "${tmp}/" "${pkgs[@]}"); then
		rm -rf "${tmp}"
		log "install-tools: building $* failed"
		return 1
	fi
	for name in "$@"; do
		local out="${tmp}/${name}" dir="${cache}/${name}-${version_of[${name}]}/bin"
		# go build names a binary after its package's last path element
		# without a major-version suffix: etcd's server/v3 becomes "server".
		[[ "${name}" == etcd ]] && out="${tmp}/server"
		mkdir -p "${dir}"
		chmod 0755 "${out}"
		mv -f "${out}" "${dir}/${name}"
		log "${name} ${version_of[${name}]}: built ${dir}/${name} (with $*: $((SECONDS - start))s)"
	done
	rm -rf "${tmp}"
}

lane_minio=() lane_other=() etcd_group=()
for name in "${missing[@]}"; do
	case "${name}" in
	minio) lane_minio+=(minio) ;;
	etcd | etcdctl | etcdutl) etcd_group+=("${name}") ;;
	*) lane_other+=("${name}") ;;
	esac
done
other_lane() {
	if [[ ${#etcd_group[@]} -gt 0 ]]; then build "${etcd_group[@]}" || return 1; fi
	local name
	for name in "${lane_other[@]}"; do build "${name}" || return 1; done
}
pids=()
if [[ ${#lane_minio[@]} -gt 0 ]]; then
	build minio >/dev/null &
	pids+=($!)
fi
if [[ ${#etcd_group[@]} -gt 0 || ${#lane_other[@]} -gt 0 ]]; then
	other_lane >/dev/null &
	pids+=($!)
fi
failed=0
for pid in "${pids[@]}"; do
	wait "${pid}" || failed=1
done
if [[ ${failed} -ne 0 ]]; then
	exit 1
fi

# Relative links keep the cache relocatable.
for name in "${!version_of[@]}"; do
	ln -sfn "../${name}-${version_of[${name}]}/bin/${name}" "${link_dir}/${name}"
done

printf 'export ICE_TOOLS_BIN=%q\n' "${link_dir}"

# Other installers and their export lines go below (progress on stderr, only
# `export` lines on stdout).
# The console's browser tests drive Debian's chromium (console/*_test.go).
# Without it they skip, or fail under ICE_REQUIRE_TOOLS=1.
"$(dirname "${BASH_SOURCE[0]}")/install-chromium.sh" || log "install-tools: chromium could not be installed; the console's browser tests will not run"
# ClickHouse (chDB) for the ClickHouse tests: its own script, its own cache.
"${repo_root}/scripts/install-chdb.sh"
