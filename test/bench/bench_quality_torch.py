"""PyTorch reference for `npm run bench:quality`: cnn-small on the same PNG folders, same normalisation,
Adam 1e-3, batch 64, baseline vs MixUp (alpha 0.2, one lambda per batch, off for the last epoch).
Prints one JSON document: {"baseline": {...}, "mixup": {...}} with per-epoch val accuracy, ECE and NLL."""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image


def load_split(root, split, classes):
    xs, ys = [], []
    for ci, c in enumerate(classes):
        d = os.path.join(root, split, c)
        for f in sorted(os.listdir(d)):
            xs.append(np.asarray(Image.open(os.path.join(d, f)).convert('L'), dtype=np.float32))
            ys.append(ci)
    return np.stack(xs), np.array(ys, dtype=np.int64)


class CnnSmall(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc = nn.Linear(64 * 6 * 6, 128)
        self.out = nn.Linear(128, c)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.out(F.relu(self.fc(torch.flatten(x, 1))))


def ece15(probs, labels):
    conf, pred = probs.max(1)
    bins = torch.clamp(torch.ceil(conf * 15).long() - 1, 0, 14)
    e = 0.0
    for b in range(15):
        m = bins == b
        if m.any():
            e += m.float().mean().item() * abs((pred[m] == labels[m]).float().mean().item() - conf[m].mean().item())
    return e


def run(xtr, ytr, xva, yva, epochs, seed, alpha, classes):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = CnnSmall(len(classes))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = len(ytr)
    rows = []
    for epoch in range(epochs):
        model.train()
        mix_on = alpha > 0 and epoch < epochs - 1
        perm = torch.randperm(n, generator=g)
        total = 0.0
        for s in range(0, n, 64):
            idx = perm[s:s + 64]
            x, y = xtr[idx], ytr[idx]
            t = F.one_hot(y, len(classes)).float()
            if mix_on:
                lam = float(rng.beta(alpha, alpha))
                p = torch.randperm(len(idx), generator=g)
                x = lam * x + (1 - lam) * x[p]
                t = lam * t + (1 - lam) * t[p]
            loss = -(t * F.log_softmax(model(x), 1)).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        model.eval()
        with torch.no_grad():
            probs = F.softmax(model(xva), 1)
        acc = (probs.argmax(1) == yva).float().mean().item()
        nll = F.nll_loss(torch.log(probs.clamp_min(1e-12)), yva).item()
        rows.append({'epoch': epoch, 'trainLoss': total / n, 'valAccuracy': acc, 'ece': ece15(probs, yva), 'nll': nll})
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--epochs', type=int, default=8)
    ap.add_argument('--seed', type=int, default=7)
    ap.add_argument('--mean', type=float, required=True)
    ap.add_argument('--std', type=float, required=True)
    ap.add_argument('--threads', type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    classes = sorted(os.listdir(os.path.join(a.data, 'train')))
    xtr, ytr = load_split(a.data, 'train', classes)
    xva, yva = load_split(a.data, 'val', classes)
    norm = lambda x: torch.from_numpy((x / 255.0 - a.mean) / a.std).float().unsqueeze(1)
    xtr, xva = norm(xtr), norm(xva)
    ytr, yva = torch.from_numpy(ytr), torch.from_numpy(yva)
    out = {
        'torch': torch.__version__,
        'baseline': run(xtr, ytr, xva, yva, a.epochs, a.seed, 0.0, classes),
        'mixup': run(xtr, ytr, xva, yva, a.epochs, a.seed, 0.2, classes),
    }
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main()
