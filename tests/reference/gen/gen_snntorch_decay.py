#!/usr/bin/env python3
"""Regenerate snntorch_decay.json: learned per-neuron decays (snnTorch, float64, CPU).

The network, task, initial weights and float64 surrogates of gen_snntorch_deep.py (imported
from it: same inputs, labels and weights, and its forward pass with the neurons of
deep.neurons(decays=...)), with the hidden layers' decays trained along with the weights, one
value per neuron:
  layer 1  snn.Synaptic(alpha=A1 [12], beta=B1 [12], learn_alpha=True, learn_beta=True), reset 'subtract'
  layer 2  snn.Leaky(beta=B2 [8], learn_beta=True), reset 'zero'
  readout  snn.Leaky(beta=B3, reset 'none'), fixed (as in gen_snntorch_deep.py)
Initial decays: exp(-1/tau) with per-neuron tau = TAU * (1 + 0.5 u), u ~ uniform(-1, 1) from
numpy.random.default_rng(DECAY_SEED) drawn in the order A1, B1, B2 (TAU: 8, 12 and 6 steps).
snnTorch 1.0.0 clamps a decay to [0, 1] in the forward pass (beta.clamp(0, 1)); every decay
stays inside (0, 1) here, where the clamp passes the gradient unchanged (the script fails
otherwise). Training: K = 4 plain-SGD steps with LR for the weights and LR_DECAY for the
decays, on the one batch; at each step the loss, z, every gradient (weights, biases, and
lif1.alpha, lif1.beta, lif2.beta) and the spike totals are recorded.

"check.replay" is gen_snntorch_deep.py's independent plain-torch implementation of the rules
(no snnTorch), with per-neuron decays, and its own copy of the parameters trained for the
same steps; the script requires it to agree within 1e-12 of each tensor's largest entry,
with the same spike counts. The spike fractions and the smallest |mem - 1| are checked as in
gen_snntorch_deep.py, so a 1e-12 difference cannot flip a spike.

Usage: gen_snntorch_decay.py [OUTPUT_JSON]   (default: ./out/snntorch_decay.json)
"""

import json
import math
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gen_snntorch_deep as deep  # noqa: E402  (sets MKL_CBWR, float64, one thread)
import numpy as np  # noqa: E402
import snntorch as snn  # noqa: E402
import torch  # noqa: E402

B, T, SIZES, THRESHOLD = deep.B, deep.T, deep.SIZES, deep.THRESHOLD
K = 4
LR = 0.5
LR_DECAY = 0.05
DECAY_SEED = 11
TAUS = {"lif1.alpha": 8.0, "lif1.beta": 12.0, "lif2.beta": 6.0}
DECAY_NAMES = ["lif1.alpha", "lif1.beta", "lif2.beta"]
NAMES = deep.PARAM_NAMES + DECAY_NAMES
tolist = deep.tolist


def make_decays():
    rng = np.random.default_rng(DECAY_SEED)
    out = {}
    for name, size in (("lif1.alpha", SIZES[1]), ("lif1.beta", SIZES[1]), ("lif2.beta", SIZES[2])):
        u = rng.uniform(-1.0, 1.0, size)
        out[name] = torch.tensor(np.exp(-1.0 / (TAUS[name] * (1.0 + 0.5 * u))), dtype=torch.float64)
    return out


def loss_and_grads(params, x, labels, sg):
    """gen_snntorch_deep.py's snnTorch forward pass with the decays learned; the gradients of
    every parameter, the decays as the neurons hold them (learn_*=True wraps the tensor in a
    Parameter of the module's own)."""
    p = {k: v.detach().clone().requires_grad_(k in deep.PARAM_NAMES) for k, v in params.items()}
    layers = deep.neurons(sg, decays=p)
    loss, z, stats, _ = deep.forward_snntorch(p, x, labels, sg, layers=layers)
    lif1, lif2, _ = layers
    decays = {"lif1.alpha": lif1.alpha, "lif1.beta": lif1.beta, "lif2.beta": lif2.beta}
    for k in DECAY_NAMES:
        assert decays[k].requires_grad and torch.equal(decays[k].detach(), params[k])
    grads = torch.autograd.grad(loss, [p[k] for k in deep.PARAM_NAMES] + [decays[k] for k in DECAY_NAMES])
    counts = (stats["spikes1"], stats["spikes2"])
    margin = min(stats["margin1"], stats["margin2"])
    return float(loss.detach()), z.detach(), dict(zip(NAMES, grads)), counts, margin


def sgd(params, grads):
    return {k: v - (LR_DECAY if k in DECAY_NAMES else LR) * grads[k] for k, v in params.items()}


def train(name, init, x, labels):
    sg = deep.SURROGATES[name]["f64"]()
    params = {k: v.clone() for k, v in init.items()}
    rparams = {k: v.clone() for k, v in init.items()}
    steps, problems = [], []
    worst = {"loss": 0.0, "z": 0.0, "grads": 0.0, "params": 0.0}
    same_counts = True
    margin = math.inf
    for k in range(K):
        for d in DECAY_NAMES:
            v = params[d]
            if not bool(((v > 0) & (v < 1)).all()):
                problems.append("%s step %d: %s leaves (0, 1)" % (name, k, d))
        loss, z, grads, counts, m = loss_and_grads(params, x, labels, sg)
        r_loss, r_z, r_grads, r_counts = deep.replay(rparams, x, labels, name)
        worst["loss"] = max(worst["loss"], abs(r_loss - loss) / abs(loss))
        worst["z"] = max(worst["z"], deep.max_tensor_rel_diff({"z": z}, {"z": r_z}))
        worst["grads"] = max(worst["grads"], deep.max_tensor_rel_diff(grads, r_grads))
        worst["params"] = max(worst["params"], deep.max_tensor_rel_diff(params, rparams))
        same_counts = same_counts and r_counts == counts
        margin = min(margin, m)
        for layer, n, size in ((1, counts[0], SIZES[1]), (2, counts[1], SIZES[2])):
            f = n / (B * T * size)
            lo, hi = deep.SPIKE_FRACTION_RANGE
            if not lo <= f <= hi:
                problems.append("%s step %d: layer %d spike fraction %.3f" % (name, k, layer, f))
        steps.append({
            "loss": loss,
            "z": tolist(z),
            "grads": {n: tolist(grads[n]) for n in NAMES},
            "spikes1": counts[0],
            "spikes2": counts[1],
        })
        params = sgd(params, grads)
        rparams = sgd(rparams, r_grads)
    if max(worst.values()) > 1e-12 or not same_counts:
        problems.append("%s: replay disagrees: %r" % (name, worst))
    if not margin > deep.MIN_MARGIN:
        problems.append("%s: min |mem - 1| = %.3e" % (name, margin))
    if any(float(steps[0]["grads"][d][0]) == 0.0 for d in DECAY_NAMES):
        problems.append("%s: a decay gradient is zero" % name)
    run = {
        "surrogate": deep.SURROGATES[name]["formula"],
        "steps": steps,
        "min_margin": margin,
        "check": {"replay": {"max_rel_diff": worst, "same_spike_counts": same_counts}},
    }
    return run, problems


def build():
    x, labels = deep.make_task()
    init = deep.make_init()
    init.update(make_decays())
    runs, problems = {}, []
    for name in deep.SURROGATES:
        runs[name], p = train(name, init, x, labels)
        problems += p
    if problems:
        for p in problems:
            print("gen_snntorch_decay.py: " + p, file=sys.stderr)
        raise SystemExit(1)
    return {
        "about": "Learned per-neuron decays: %d plain-SGD steps (lr %g for weights and biases, %g for the decays) of the network of snntorch_deep.json with lif1's alpha and beta and lif2's beta trained per neuron (snnTorch 1.0.0 learn_alpha/learn_beta), torch float64 on CPU. Generated by gen/gen_snntorch_decay.py; its docstring explains every choice." % (K, LR, LR_DECAY),
        "generator": "gen_snntorch_decay.py",
        "versions": {
            "torch": torch.__version__.split("+")[0],
            "snntorch": snn.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "dtype": "float64",
        },
        "task": {"B": B, "T": T, "inputs": tolist(x), "labels": [int(v) for v in labels]},
        "network": {"B3": deep.B3, "threshold": THRESHOLD, "sizes": SIZES},
        "init": {k: tolist(v) for k, v in init.items()},
        "lr": LR,
        "lr_decay": LR_DECAY,
        "steps": K,
        "runs": runs,
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "out", "snntorch_decay.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    data = build()
    with open(path, "w") as fh:
        json.dump(data, fh, indent=1)
    for name, run in data["runs"].items():
        print(name, "losses", [s["loss"] for s in run["steps"]], "margin", run["min_margin"], run["check"])
    print("wrote", path)


if __name__ == "__main__":
    main()
