#!/usr/bin/env bash
# Installs Debian's chromium for the console's browser tests (console/ and
# server/console_test.go drive it with chromedp). A no-op when
# /usr/bin/chromium exists. The package list is refreshed only when apt
# cannot find the package, so a warm machine makes no network call.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
	echo "chromium: present $(/usr/bin/chromium --version 2>/dev/null || true)" >&2
	exit 0
fi
if ! command -v apt-get >/dev/null; then
	echo "install-chromium: /usr/bin/chromium is missing and apt-get is not available; install chromium by hand" >&2
	exit 1
fi
sudo=""
if [[ "$(id -u)" != 0 ]]; then
	sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show chromium >/dev/null 2>&1; then
	${sudo} apt-get update >&2
fi
${sudo} apt-get install -y --no-install-recommends chromium >&2
echo "chromium: installed $(/usr/bin/chromium --version 2>/dev/null || true)" >&2
