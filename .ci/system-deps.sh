#!/usr/bin/env bash
# System packages the browser test needs (tests/test_browser*.py): Debian's
# chromium, driven by Playwright for Python with executable_path=/usr/bin/chromium
# (so `playwright install` and its downloads are never needed). Idempotent:
# installs only what is missing, so a second run does nothing.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
# Fonts so page text renders (headless chromium draws nothing without any font).
fc-list 2>/dev/null | grep -qi dejavu || missing+=(fonts-dejavu-core)

if [ ${#missing[@]} -eq 0 ]; then
    echo "system-deps: chromium present ($(/usr/bin/chromium --version 2>/dev/null || echo chromium))"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "system-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
