"""The PyTorch side of `npm run bench:embed` (Debian's python3-torch and python3-torchvision).

  export --arch A --out FILE          the torchvision network A (random weights, seed 0, eval mode) with its
                                      classifier removed, as ONNX: images (N,3,224,224) -> pooled features (N,D)
  embed  --arch A --folder DIR ...    decode (PIL) + resize the shorter side + centre crop + normalise (ImageNet)
                                      + the same network on every image of DIR, batch by batch; one JSON line
"""
import argparse
import json
import os
import time

import torch
import torchvision
from PIL import Image

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def network(arch):
    torch.manual_seed(0)
    if arch == "mobilenet_v2":
        net = torchvision.models.mobilenet_v2()
        net.classifier = torch.nn.Identity()
    elif arch == "resnet50":
        net = torchvision.models.resnet50()
        net.fc = torch.nn.Identity()
    else:
        raise SystemExit(f"unknown arch {arch}")
    return net.eval()


def load(path, size):
    img = Image.open(path).convert("RGB")
    w, h = img.size
    s = size / min(w, h)
    img = img.resize((max(size, round(w * s)), max(size, round(h * s))), Image.BILINEAR)
    w, h = img.size
    left, top = (w - size) // 2, (h - size) // 2
    img = img.crop((left, top, left + size, top + size))
    x = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8).view(size, size, 3).permute(2, 0, 1).float() / 255
    return (x - MEAN) / STD


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["export", "embed"])
    p.add_argument("--arch", default="mobilenet_v2")
    p.add_argument("--out")
    p.add_argument("--folder")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    a = p.parse_args()
    net = network(a.arch)
    if a.mode == "export":
        x = torch.zeros(1, 3, a.size, a.size)
        torch.onnx.export(net, x, a.out, input_names=["images"], output_names=["features"],
                          dynamic_axes={"images": {0: "batch"}, "features": {0: "batch"}}, opset_version=13)
        print(json.dumps({"out": a.out}))
        return
    torch.set_num_threads(a.threads)
    files = sorted(os.path.join(r, f) for r, _, fs in os.walk(a.folder) for f in fs if f.lower().endswith((".jpg", ".jpeg", ".png")))
    decode = 0.0
    dim = None
    with torch.inference_mode():
        net(torch.zeros(2, 3, a.size, a.size))  # warm-up (the app side's session is opened before its timer too)
    t0 = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(files), a.batch):
            d0 = time.perf_counter()
            x = torch.stack([load(f, a.size) for f in files[i:i + a.batch]])
            decode += time.perf_counter() - d0
            dim = net(x).shape[1]
    s = time.perf_counter() - t0
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "images": len(files), "seconds": s, "decodeSeconds": decode,
                      "imagesPerSecond": len(files) / s, "dim": dim}))


if __name__ == "__main__":
    main()
