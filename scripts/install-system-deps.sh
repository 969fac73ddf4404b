#!/usr/bin/env bash
# Debian packages the tests and benchmarks use (run as root, or with sudo):
#   chromium               the browser the end-to-end UI tests drive (playwright-core, headless)
#   dataset-fashion-mnist  real images for fixtures and the quality benchmark (MIT licence)
#   python3-pil, python3-sklearn, python3-torch, python3-torchvision, python3-numpy   reference implementations in the benchmarks
#
# `npm test` runs it with --for-tests (no PyTorch): a no-op once the packages are there, so the two README commands
# do all the set-up. Set MIXUP_STUDIO_SKIP_SYSTEM_DEPS=1 where the packages come another way (not Debian).
set -euo pipefail
if [ "${MIXUP_STUDIO_SKIP_SYSTEM_DEPS:-0}" = 1 ]; then exit 0; fi
[ "${1:-}" = --for-tests ] && WITH_TORCH=0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
pkgs=(chromium dataset-fashion-mnist python3-pil python3-sklearn python3-numpy)
[ "${WITH_TORCH:-1}" = 1 ] && pkgs+=(python3-torch python3-torchvision)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "missing system packages: ${missing[*]} (this script installs them with apt-get, which is not here:" >&2
    echo "install their equivalents, then set MIXUP_STUDIO_SKIP_SYSTEM_DEPS=1)" >&2
    exit 1
  fi
  if [ -n "$SUDO" ] && ! command -v sudo >/dev/null 2>&1; then
    echo "missing system packages: ${missing[*]}; run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "installing system packages the tests need: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "system packages present: ${pkgs[*]}"
