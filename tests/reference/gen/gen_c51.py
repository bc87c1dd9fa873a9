#!/usr/bin/env python3
"""Writes tests/reference/c51_loss.json: the C51 loss (Bellemare et al. 2017) of small
minibatches, computed independently of the `dqn` plugin with numpy 2.3.5 (Python 3.11).

Written from the paper, not from the plugin: the target distribution is the projection of
Eq. 7, m_i = sum_j [1 - |clip(Tz_j, v_min, v_max) - z_i| / dz]_0^1 p_j(x', a*), evaluated as a
dense matrix (no floor/ceil); Tz_j = R + gamma^m z_j (R alone when s' is terminal); a* is the
argmax of sum_z z p over the online network's next logits (double) or the target's. The loss
is (1/n) sum_i w_i * CE_i, CE_i = -sum_z m_z log softmax(logits_i[a_i])_z, and its gradient
with respect to every logit comes from central finite differences (h = 1e-6) of that loss, so
the analytic p - m of the plugin is checked, not copied.

Usage: VENV/bin/python tests/reference/gen/gen_c51.py [OUT.json]
"""

import json
import sys

import numpy as np


def log_softmax(x):
    top = x.max(axis=-1, keepdims=True)
    return x - top - np.log(np.exp(x - top).sum(axis=-1, keepdims=True))


def targets(case):
    n, a, z = case["n"], case["n_actions"], case["n_atoms"]
    vmin, vmax, gamma = case["v_min"], case["v_max"], case["gamma"]
    support = np.linspace(vmin, vmax, z)
    dz = (vmax - vmin) / (z - 1)
    nxt_on = np.array(case["logits_next_online"]).reshape(n, a, z)
    nxt_tg = np.array(case["logits_next_target"]).reshape(n, a, z)
    rewards = np.array(case["rewards"]).reshape(n, case["n_step"])
    out = np.zeros((n, z))
    for i in range(n):
        m = case["steps"][i]
        ret = sum(gamma**k * case["reward_scale"] * rewards[i, k] for k in range(m))
        if case["terminal"][i]:
            tz = np.array([ret])
            p = np.array([1.0])
        else:
            pick_from = nxt_on if case["double"] else nxt_tg
            q = (np.exp(log_softmax(pick_from[i])) * support).sum(axis=-1)
            star = int(np.argmax(q))
            p = np.exp(log_softmax(nxt_tg[i, star]))
            tz = ret + gamma**m * support
        tz = np.clip(tz, vmin, vmax)
        hat = np.clip(1.0 - np.abs(tz[None, :] - support[:, None]) / dz, 0.0, 1.0)
        out[i] = hat @ p
    return out


def loss(case, logits, m):
    n, a, z = case["n"], case["n_actions"], case["n_atoms"]
    lg = logits.reshape(n, a, z)
    ce = np.array(
        [-(m[i] * log_softmax(lg[i, case["actions"][i]])).sum() for i in range(n)]
    )
    return (np.array(case["weights"]) * ce).sum() / n, ce


def make(rng, name, n, a, z, n_step, vmin, vmax, gamma, double, rewards, steps, terminal):
    case = {
        "name": name,
        "n": n,
        "n_actions": a,
        "n_atoms": z,
        "n_step": n_step,
        "v_min": vmin,
        "v_max": vmax,
        "gamma": gamma,
        "double": double,
        "reward_scale": 1.0,
        "logits": (rng.standard_normal(n * a * z) * 1.5).tolist(),
        "logits_next_online": (rng.standard_normal(n * a * z) * 1.5).tolist(),
        "logits_next_target": (rng.standard_normal(n * a * z) * 1.5).tolist(),
        "actions": [int(x) for x in rng.integers(0, a, n)],
        "rewards": rewards,
        "steps": steps,
        "terminal": terminal,
        "weights": [float(x) for x in rng.uniform(0.3, 1.0, n)],
    }
    m = targets(case)
    total, ce = loss(case, np.array(case["logits"]), m)
    h = 1e-6
    base = np.array(case["logits"])
    grad = np.zeros_like(base)
    for k in range(base.size):
        up, down = base.copy(), base.copy()
        up[k] += h
        down[k] -= h
        grad[k] = (loss(case, up, m)[0] - loss(case, down, m)[0]) / (2 * h)
    case["expected"] = {
        "target": m.reshape(-1).tolist(),
        "ce": ce.tolist(),
        "loss": float(total),
        "dlogits_fd": grad.tolist(),
    }
    return case


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/reference/c51_loss.json"
    rng = np.random.default_rng(51)
    cases = [
        # 3-step returns inside the support, a terminal transition whose return 2.0 lands on
        # an atom exactly, and one whose target leaves the support (clipped at v_max).
        make(rng, "double", 4, 3, 11, 3, -5.0, 5.0, 0.9, True,
             [1.0, 0.5, -0.25, 2.0, 0.0, 0.0, 0.3, -1.2, 0.0, 4.0, 3.0, 2.5],
             [3, 1, 2, 3], [0, 1, 0, 0]),
        make(rng, "plain", 3, 2, 5, 2, -2.0, 6.0, 0.5, False,
             [1.0, 1.0, -7.0, 0.0, 0.25, 0.5],
             [2, 1, 2], [0, 0, 1]),
    ]
    doc = {
        "generator": "tests/reference/gen/gen_c51.py",
        "numpy": np.__version__,
        "what": "C51 target distributions (Eq. 7 of Bellemare et al. 2017, dense hat-function form), per-transition cross-entropies, the weighted mean loss and its gradient by central finite differences (h = 1e-6)",
        "cases": cases,
    }
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
