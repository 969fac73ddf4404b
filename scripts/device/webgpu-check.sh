#!/bin/bash
# Device check (run on the lent GPU machine by scripts/device/pack-webgpu-check.sh's carry): the webgpu training
# backend (Dawn over Vulkan) on an NVIDIA GPU, against wasm on the same machine. Results in docs/engine.md.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
log() { echo "== $*"; }
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
log vulkan; ldconfig -p | grep -i libvulkan; ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>&1
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json; fi; cat /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; ls /usr/local/nvidia/lib64 2>/dev/null | grep -i -E "glx|vulkan|egl" | head
log gpu; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1; nproc
mkdir -p /tmp/n
if command -v xz >/dev/null; then xz -dc .devcarry/node.xz > /tmp/n/node; tar -xJf .devcarry/tree.tar.xz;
else python3 -c "import lzma,shutil,tarfile;shutil.copyfileobj(lzma.open('.devcarry/node.xz'),open('/tmp/n/node','wb'));tarfile.open('.devcarry/tree.tar.xz').extractall('.')"; fi
chmod +x /tmp/n/node; N=/tmp/n/node; log node; $N --version
H=/tmp/home; cli() { timeout 300 $N bin/mixup-studio.cjs --home $H "$@"; }
for b in webgpu wasm; do
  log "bench train $b"; ( time cli --json bench train --backend $b --arch cnn-small --batch 128 --steps 20 > "$OUT/bench-$b.json" ) 2>&1 | tail -30; head -c 1500 "$OUT/bench-$b.json"; echo
done
log index; cli --json index resources/sample/fashion-mnist --name fs --seed 7 > "$OUT/index.json" 2>/dev/null; head -c 200 "$OUT/index.json"; echo
for b in ${TRAIN_BACKENDS:-webgpu wasm}; do
  log "train mixup $b"; ( time cli --json train fs --config resources/configs/mixup.json --backend $b > "$OUT/train-$b.json" ) 2>&1 | grep -v "eta\|^\s*$" | tail -8
  $N -e 'const d=require(process.argv[1]);console.log(JSON.stringify({status:d.status,backend:d.backend,device:d.device,metrics:d.metrics,epochs:d.epochs.map(e=>[e.epoch,+e.trainLoss.toFixed(4),+e.valAccuracy.toFixed(4),e.seconds])}))' "$OUT/train-$b.json"
done
if [ -n "${EXTRA:-}" ]; then
  R=$($N -e 'const d=require(process.argv[1]);console.log(d.run.id)' "$OUT/train-webgpu.json")
  log "export run $R, predict on webgpu and wasm"
  cli --json export "$R" --out /tmp/export > /dev/null && ls /tmp/export
  imgs=$(ls resources/sample/fashion-mnist/bag/*.png | head -2; ls resources/sample/fashion-mnist/sneaker/*.png | head -2)
  for b in webgpu wasm; do cli --json predict /tmp/export $imgs --top 1 --backend $b > "$OUT/predict-$b.json"; $N -e 'const d=require(process.argv[1]);console.log(process.argv[2], JSON.stringify(d.predictions? d.predictions.map(p=>[p.image.split("/").pop(),p.top[0].label,+p.top[0].probability.toFixed(5)]) : d))' "$OUT/predict-$b.json" $b; done
  for a in resnet20 mobilenetv2; do for b in webgpu wasm; do
    log "bench $a $b"; cli --json bench train --backend $b --arch $a --batch 64 --steps 10 | $N -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const d=JSON.parse(s);console.log(JSON.stringify({backend:d.backend,arch:d.arch,ips:Math.round(d.imagesPerSecond),ms:Math.round(d.msPerStep)}))})'
  done; done
  log "bench --profile webgpu"; cli bench train --backend webgpu --batch 128 --steps 5 --profile 2>&1 | head -25
fi
