#!/usr/bin/env bash
# The main job on the bundled sample (resources/sample/fashion-mnist): build, index, forbid a class pair,
# preview the MixUp plan, train a baseline and a MixUp run, compare them, export the MixUp model, predict.
# Everything lands in out/main-job/ (override with MAIN_JOB_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${MAIN_JOB_DIR:-out/main-job}"
home="$dir/home"
rm -rf "$dir"
mkdir -p "$dir"
cli() { node bin/mixup-studio.cjs --home "$home" "$@"; }

step() { printf '\n== %s\n' "$*" >&2; }

step "build"
npm run --silent build >/dev/null

step "index the sample dataset (and verify: decode + thumbnails)"
cli index resources/sample/fashion-mnist --name fashion-sample --seed 7 --verify

step "forbid blending shirts with t-shirts (the expert's rule)"
cli policy forbid fashion-sample shirt t-shirt --note "too similar: a blend teaches nothing"
cli policy list fashion-sample

step "preview what MixUp will do"
cli mixup preview fashion-sample --config resources/configs/mixup.json --json > "$dir/preview.json"
node -e 'const p=require(process.argv[1]);for(const e of p.epochs)console.log(`epoch ${e.epoch}: active=${e.active} mixed=${e.mixedSamples} unmixed=${Object.entries(e.unmixedSamples).map(([k,v])=>`${k}:${v}`).join(",")}`)' "$PWD/$dir/preview.json"

step "train a baseline (no MixUp)"
cli train fashion-sample --config resources/configs/baseline.json --json > "$dir/baseline.json"
step "train with MixUp (alpha 0.2, off for the last epoch)"
cli train fashion-sample --config resources/configs/mixup.json --json > "$dir/mixup.json"
base=$(node -p 'require(process.argv[1]).run.id' "$PWD/$dir/baseline.json")
mix=$(node -p 'require(process.argv[1]).run.id' "$PWD/$dir/mixup.json")

step "compare the two runs"
cli compare "$base" "$mix"

step "export the MixUp run (tfjs + ONNX + config + report)"
cli export "$mix" --out "$dir/export"
ls -R "$dir/export" >&2

step "predict two sample images with the exported model"
cli predict "$dir/export" resources/sample/fashion-mnist/bag/fmnist-train-00035.png resources/sample/fashion-mnist/sneaker/"$(ls resources/sample/fashion-mnist/sneaker | head -1)" --top 3

printf '\nmain job done: home %s, export %s/export (open %s/export/report.html)\n' "$home" "$dir" "$dir" >&2
