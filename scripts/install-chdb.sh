#!/usr/bin/env bash
# Installs ClickHouse as a library (chDB, the npm package `chdb`, whose pinned
# dependency @chdb/lib-linux-x64-gnu ships libchdb.so) for the ClickHouse tests
# in internal/testenv and the packages that use it. Nothing is built and
# nothing is downloaded at run time.
#
# Each pinned chdb version pins one ClickHouse version, so every version the
# suite proves is installed side by side in its own directory:
#   $ICE_CHDB_CACHE/chdb-<version>/node_modules/chdb
# A directory whose install finished (marker file .installed) is reused.
#
# Usage:
#   scripts/install-chdb.sh             # install what is missing, print the env line
#   eval "$(scripts/install-chdb.sh)"   # same, and export ICE_CHDB_DIR
#
# stdout holds only the export line; progress goes to stderr.
#
# Env:
#   ICE_CHDB_CACHE     cache root (default: $HOME/.cache/ice-rest-catalog)
#   ICE_CHDB_VERSIONS  space-separated chdb versions (default: all pinned below)
set -euo pipefail

# chdb version -> @chdb/lib-linux-x64-gnu version it pins (npm view chdb@V
# optionalDependencies); SELECT version() in brackets. Newest first.
#   3.4.0 -> 26.7.3-stable.1 (26.7.2.1)
#   3.3.0 -> 26.7.0-stable.1 (26.7.2.1)
#   3.2.0 -> 26.5.3, 3.1.0 -> 26.5.2, 3.0.1 -> 26.5.0: not pinned, their
#            library needs libstdc++ GLIBCXX_3.4.32 (GCC 13), newer than
#            Debian 12's, so they do not load on this project's machines.
# chdb 1.x and 2.x ship no library through npm; the lib package has no
# release before 26.5.
pinned="3.4.0 3.3.0"

cache="${ICE_CHDB_CACHE:-${HOME}/.cache/ice-rest-catalog}"
versions="${ICE_CHDB_VERSIONS:-${pinned}}"

log() { printf '%s\n' "$*" >&2; }

if ! command -v npm >/dev/null 2>&1; then
	log "install-chdb: npm not found; the ClickHouse tests will skip"
	exit 0
fi
case "$(uname -s)-$(uname -m)" in
Linux-x86_64 | Linux-aarch64 | Darwin-*) ;;
*)
	log "install-chdb: no chdb library for $(uname -s)-$(uname -m); the ClickHouse tests will skip"
	exit 0
	;;
esac

dirs=()
for v in ${versions}; do
	dir="${cache}/chdb-${v}"
	if [[ -f "${dir}/.installed" ]]; then
		log "chdb ${v}: cached ${dir}"
	else
		start=${SECONDS}
		# Install into a temporary directory and rename, so an interrupted or
		# concurrent run never leaves a half-installed tree that looks cached.
		mkdir -p "${cache}"
		tmp="$(mktemp -d "${cache}/.chdb-${v}.XXXXXX")"
		printf '{"name":"ice-chdb-%s","private":true}\n' "${v}" >"${tmp}/package.json"
		if ! (cd "${tmp}" && npm install --no-audit --no-fund --save-exact --loglevel=error "chdb@${v}" >&2); then
			rm -rf "${tmp}"
			log "install-chdb: npm install chdb@${v} failed"
			exit 1
		fi
		# A library that does not load here would fail every test: refuse it.
		if ! (cd "${tmp}" && node -e 'require("chdb")' >/dev/null 2>&1); then
			rm -rf "${tmp}"
			log "install-chdb: chdb ${v} is installed but its library does not load on this machine"
			exit 1
		fi
		touch "${tmp}/.installed"
		rm -rf "${dir}"
		mv "${tmp}" "${dir}"
		log "chdb ${v}: installed ${dir} in $((SECONDS - start))s"
	fi
	dirs+=("${dir}")
done

# ICE_CHDB_DIR lists every installed version (colon-separated, newest first).
joined="$(IFS=:; echo "${dirs[*]}")"
printf 'export ICE_CHDB_DIR=%q\n' "${joined}"
