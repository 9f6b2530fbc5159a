#!/usr/bin/env bash
# Debian's chromium and chromium-driver for the playground's browser test, installed when missing (CI starts from a
# machine with the base tools only). Needs root, or sudo.
set -euo pipefail
if command -v chromium > /dev/null && command -v chromedriver > /dev/null; then exit 0; fi
sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)
echo "==> installing chromium and chromium-driver (apt-get)"
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get install -y -q chromium chromium-driver > /dev/null; then
  "${sudo[@]}" apt-get update -q > /dev/null  # a fresh machine has no package lists yet
  "${sudo[@]}" apt-get install -y -q chromium chromium-driver > /dev/null
fi
