#!/usr/bin/env bash
# Packs what scripts/device/webgpu-check.sh needs on a machine with a GPU and no network (the lent device
# machines): the built app (out/), the production node_modules it loads for `bench train` and `train`
# (tfjs + the webgpu and wasm backends, Dawn for linux-x64, sharp, better-sqlite3), this Node binary, and
# Debian's Vulkan loader and glvnd libraries (NVIDIA's Vulkan ICD loads through libGLX). Into .devcarry/ and
# .gl/, both ignored through .git/info/exclude. Run `npm ci && npm run build` first. About 45 MB.
set -euo pipefail
cd "$(dirname "$0")/../.."
for d in /.devcarry/ /.gl/; do grep -qx "$d" .git/info/exclude || echo "$d" >> .git/info/exclude; done
rm -rf .devcarry && mkdir -p .devcarry .gl
nm=node_modules
{
  find out -type f ! -name '*.map'
  for p in better-sqlite3 bindings file-uri-to-path commander seedrandom long sharp @img/colour @img/sharp-linux-x64 \
           @img/sharp-libvips-linux-x64 detect-libc semver; do
    find "$nm/$p" -type f ! -name '*.md' ! -name '*.d.ts' ! -name '*.map' ! -path '*/src/*.cpp' ! -path '*/deps/*'
  done
  find "$nm/long/src" -type f
  for p in tfjs tfjs-core tfjs-layers tfjs-converter tfjs-data tfjs-backend-cpu tfjs-backend-webgl tfjs-backend-webgpu tfjs-backend-wasm; do
    echo "$nm/@tensorflow/$p/package.json"
    find "$nm/@tensorflow/$p/dist" -maxdepth 1 -type f \( -name '*.node.js' -o -name '*.wasm' \)
  done
  find "$nm/@tensorflow/tfjs-backend-wasm/wasm-out" -type f
  find "$nm/webgpu" -maxdepth 1 -type f; find "$nm/webgpu/dist/linux-x64" "$nm/webgpu/node_modules" -type f 2>/dev/null
} | sort -u > .devcarry/files.txt
tar -cf - -T .devcarry/files.txt | xz -6 -T0 > .devcarry/tree.tar.xz
xz -6 -T0 -c "$(command -v node)" > .devcarry/node.xz
cp scripts/device/webgpu-check.sh .devcarry/run.sh
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
mkdir -p /tmp/amd64/partial && apt-get $o update -qq
(cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
du -sh .devcarry .gl
echo 'then: device run "bash .devcarry/run.sh" with carry [".devcarry", ".gl"]'
