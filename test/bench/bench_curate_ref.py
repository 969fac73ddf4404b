"""The Python reference of `npm run bench:curate`: on the same embeddings and labels as MixUp Studio's pass,
scikit-learn's 5-fold out-of-sample probabilities (StandardScaler + LogisticRegression(), multinomial, lbfgs)
and numpy brute-force neighbours (unit rows, blocks of 1024, the 16 best by argpartition). Prints one JSON line.
Usage: bench_curate_ref.py EMB.f32 LABELS.i32 DIM THREADS"""
import json
import os
import sys
import time

threads = sys.argv[4] if len(sys.argv) > 4 else "2"
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = threads

import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_val_predict  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

x = np.fromfile(sys.argv[1], dtype=np.float32).reshape(-1, int(sys.argv[3]))
y = np.fromfile(sys.argv[2], dtype=np.int32)
t0 = time.perf_counter()
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=100))
probs = cross_val_predict(model, x, y, cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")
t1 = time.perf_counter()
u = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
k = 16
best = np.empty((len(u), k), dtype=np.int64)
for s in range(0, len(u), 1024):
    sim = u[s : s + 1024] @ u.T
    best[s : s + 1024] = np.argpartition(-sim, k, axis=1)[:, :k]
t2 = time.perf_counter()
print(json.dumps({"images": len(y), "foldsSeconds": round(t1 - t0, 3), "neighboursSeconds": round(t2 - t1, 3), "seconds": round(t2 - t0, 3)}))
