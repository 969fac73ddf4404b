"""PyTorch reference for `npm run bench:train`: images/s of one cnn-small training step on the CPU.

Same architecture as MixUp Studio's cnn-small (conv 32 3x3 valid, ReLU, maxpool 2, conv 64 3x3 same, ReLU,
maxpool 2, flatten, dense 128 ReLU, dense C), 28x28x1 inputs, 10 classes, batch B, Adam, soft targets
(cross-entropy against a blend of two one-hot rows). Prints one JSON line.
Usage: /usr/bin/python3 bench_train_torch.py [--batch 128] [--steps 20] [--threads N]
"""
import argparse
import json
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def cnn_small(classes: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 6 * 6, 128), nn.ReLU(), nn.Linear(128, classes),
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    classes = 10
    model = cnn_small(classes)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(a.batch, 1, 28, 28)
    ya = F.one_hot(torch.randint(0, classes, (a.batch,)), classes).float()
    yb = F.one_hot(torch.randint(0, classes, (a.batch,)), classes).float()
    lam = torch.rand(a.batch, 1)
    y = lam * ya + (1 - lam) * yb

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = -(y * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
        loss.backward()
        opt.step()
        return float(loss)

    step()
    step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    dt = time.perf_counter() - t0
    print(json.dumps({
        "imagesPerSecond": a.batch * a.steps / dt,
        "backend": "pytorch-cpu",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "msPerStep": dt / a.steps * 1000,
    }))


if __name__ == "__main__":
    main()
