#!/usr/bin/env bash
# Debian packages the tests and benchmarks use (run as root, or with sudo):
#   chromium               the browser the end-to-end UI tests drive (playwright-core, headless)
#   dataset-fashion-mnist  real images for fixtures and the quality benchmark (MIT licence)
#   python3-pil, python3-sklearn, python3-torch, python3-numpy   reference implementations in the benchmarks
set -euo pipefail
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
pkgs=(chromium dataset-fashion-mnist python3-pil python3-sklearn python3-numpy)
[ "${WITH_TORCH:-1}" = 1 ] && pkgs+=(python3-torch)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "system packages present: ${pkgs[*]}"
