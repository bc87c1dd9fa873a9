#!/usr/bin/env python3
"""Echo-state network (Jaeger 2001) on the series a reservoir run wrote, as the non-spiking
reference of docs/reservoir.md: the same samples, the same washout/train/test split, the same
ridge readout (features centred and divided by one common scale, a bias column, the penalty
chosen on the last fifth of the training samples from the same list, then refitted).

    python esn.py RUN_DIR [--units 500] [--seeds 1 2 3 4 5]

RUN_DIR is the directory of `snnsim run graphs/lsm-narma10.ron` (its series.npy holds input and
target of every sample, its summary.json the split). The ESN: tanh units,
x(k) = tanh(W x(k−1) + w_in u(k) + b), W with 10 % connectivity scaled to spectral radius
0.9, w_in uniform in [−1, 1], b uniform in [−0.2, 0.2]; features x(k) and u(k). One JSON line
per seed: {"units", "seed", "nrmse_test", "nrmse_train", "ridge_lambda"}. Needs numpy only.
"""
import argparse
import json
import os
import sys

import numpy as np

LAMBDAS = [1e-8, 1e-6, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0]


def nrmse(pred, y):
    return float(np.sqrt(np.mean((pred - y) ** 2) / np.var(y)))


def fit(x, y, lam):
    mean = x.mean(axis=0)
    scale = np.sqrt(np.mean((x - mean) ** 2))
    scale = scale if scale > 1e-12 else 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    a = z.T @ z
    a[:-1, :-1] += lam * np.eye(x.shape[1])
    w = np.linalg.solve(a, z.T @ y)
    return lambda q: np.hstack([(q - mean) / scale, np.ones((len(q), 1))]) @ w


def fit_best(x, y, lambdas):
    cut = len(y) * 4 // 5
    best = None
    for lam in lambdas:
        try:
            f = fit(x[:cut], y[:cut], lam)
        except np.linalg.LinAlgError:
            continue
        e = nrmse(f(x[cut:]), y[cut:])
        if np.isfinite(e) and (best is None or e < best[0]):
            best = (e, lam)
    return fit(x, y, best[1]), best[1]


def esn_states(u, units, seed):
    rng = np.random.default_rng(seed)
    w = rng.uniform(-1, 1, (units, units)) * (rng.random((units, units)) < 0.1)
    w *= 0.9 / np.max(np.abs(np.linalg.eigvals(w)))
    w_in = rng.uniform(-1, 1, units)
    b = rng.uniform(-0.2, 0.2, units)
    x = np.zeros(units)
    out = np.empty((len(u), units))
    for k, uk in enumerate(u):
        x = np.tanh(w @ x + w_in * uk + b)
        out[k] = x
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("--units", type=int, default=500)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    a = ap.parse_args()
    series = np.load(os.path.join(a.run_dir, "series.npy"))
    with open(os.path.join(a.run_dir, "summary.json")) as f:
        s = json.load(f)
    u, y = series[:, 0], series[:, 1]
    wash, train = s["washout"], s["train"]
    for seed in a.seeds:
        states = esn_states(u, a.units, seed)
        feats = np.hstack([states, u[:, None]])[wash:]
        yy = y[wash:]
        f, lam = fit_best(feats[:train], yy[:train], LAMBDAS)
        print(json.dumps({
            "units": a.units,
            "seed": seed,
            "nrmse_test": nrmse(f(feats[train:]), yy[train:]),
            "nrmse_train": nrmse(f(feats[:train]), yy[:train]),
            "ridge_lambda": lam,
        }), flush=True)


if __name__ == "__main__":
    sys.exit(main())
