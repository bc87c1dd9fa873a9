#!/usr/bin/env python3
"""Regenerate snntorch_reference.json (snnTorch on CPU, float32 and float64).

Sections:
  neurons     Leaky / Synaptic / Alpha, 'subtract' and 'zero' resets, driven by a
              fixed 100-step input of 3 independent channels
  surrogates  spk and d spk / d mem of fast_sigmoid(25), sigmoid(25), atan(2) at 20
              membrane values, threshold 1
  bptt        Linear(3,4) -> Leaky(subtract) -> Linear(4,2) -> Leaky(none) readout,
              20 steps, loss = sum(mem2) at the end, gradients by BPTT
  check       float32 vs float64 agreement and a numpy replay of 'neuron_rules'

Everything is computed twice: float32 (snnTorch's default) and float64 (modules
built after torch.set_default_dtype(torch.float64)). float32 numbers are written
as the exact float64 value of the float32 number.

MKL_CBWR=COMPATIBLE is set (unless MKL_CBWR is already set) before torch is
imported. torch's CPU Linear layers call MKL, whose kernels differ by instruction
set: on an AVX-512 CPU its default float32 kernels round differently (one float32
ulp in some cur1 values, then in the float32 gradients) from the committed data,
which MKL's 'compatible' code path reproduces bit for bit. float64 results, and
float32 results within the README tolerances, do not depend on it.

Usage: gen_snntorch.py [OUTPUT_JSON]   (default: ./out/snntorch_reference.json)
"""

import json
import math
import os
import platform
import sys

os.environ.setdefault("MKL_CBWR", "COMPATIBLE")

import numpy as np  # noqa: E402
import snntorch as snn  # noqa: E402
import torch  # noqa: E402
from snntorch import surrogate  # noqa: E402

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)

DTYPES = {"float32": torch.float32, "float64": torch.float64}
N_STEPS = 100
THRESHOLD = 1.0

# ---------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------

INPUT_RANGES = [(-0.05, 0.15), (-0.1, 0.4), (0.0, 0.8)]


def make_inputs():
    rng = np.random.default_rng(2024)
    cols = [rng.uniform(lo, hi, N_STEPS) for lo, hi in INPUT_RANGES]
    x = np.round(np.stack(cols, axis=1), 3)
    x[40:45] = 0.0
    return x


def make_bptt_inputs():
    return np.round(np.random.default_rng(77).uniform(0, 1, (20, 3)), 2)


def tolist(t):
    """Tensor -> nested lists of exact float64 values."""
    return t.detach().to(torch.float64).cpu().numpy().tolist()


# ---------------------------------------------------------------------------
# neurons
# ---------------------------------------------------------------------------

PARAMS = {
    "Leaky": {"beta": 0.9, "threshold": 1.0},
    "Synaptic": {"alpha": 0.8, "beta": 0.9, "threshold": 1.0},
    "Alpha": {"alpha": 0.9, "beta": 0.8, "threshold": 1.0},
}
CONFIGS = [
    ("Leaky_subtract", "Leaky", "subtract"),
    ("Leaky_zero", "Leaky", "zero"),
    ("Synaptic_subtract", "Synaptic", "subtract"),
    ("Synaptic_zero", "Synaptic", "zero"),
    ("Alpha_zero", "Alpha", "zero"),
    ("Alpha_subtract", "Alpha", "subtract"),
]


def run_neuron(kind, reset, x):
    p = PARAMS[kind]
    cls = getattr(snn, kind)
    neuron = cls(reset_mechanism=reset, **p)
    dtype = torch.get_default_dtype()
    xt = torch.tensor(x, dtype=dtype)
    rec = {"spk": [], "mem": []}
    if kind == "Leaky":
        mem = neuron.reset_mem()
    elif kind == "Synaptic":
        syn, mem = neuron.reset_mem()
        rec["syn"] = []
    else:
        syn_exc, syn_inh, mem = neuron.reset_mem()
        rec["syn_exc"] = []
        rec["syn_inh"] = []
    with torch.no_grad():
        for t in range(x.shape[0]):
            if kind == "Leaky":
                spk, mem = neuron(xt[t], mem)
            elif kind == "Synaptic":
                spk, syn, mem = neuron(xt[t], syn, mem)
                rec["syn"].append(tolist(syn))
            else:
                spk, syn_exc, syn_inh, mem = neuron(xt[t], syn_exc, syn_inh, mem)
                rec["syn_exc"].append(tolist(syn_exc))
                rec["syn_inh"].append(tolist(syn_inh))
            rec["spk"].append(tolist(spk))
            rec["mem"].append(tolist(mem))
    # key order: spk, mem, then the synaptic states
    out = {"spk": rec.pop("spk"), "mem": rec.pop("mem")}
    out.update(rec)
    mem_all = torch.tensor(out["mem"], dtype=torch.float64).to(dtype)
    out["n_spikes_per_channel"] = [int(v) for v in np.asarray(out["spk"]).sum(axis=0)]
    out["min_abs_mem_minus_threshold"] = float((mem_all - p["threshold"]).abs().min())
    return out


def replay_rules(kind, reset, x):
    """numpy float64 replay of 'neuron_rules' (independent of snnTorch)."""
    p = PARAMS[kind]
    thr = p["threshold"]
    beta = p["beta"]
    alpha = p.get("alpha")
    n = x.shape[1]
    mem = np.zeros(n)
    syn = np.zeros(n)
    syn_exc = np.zeros(n)
    syn_inh = np.zeros(n)
    spk_all, mem_all = [], []
    if kind == "Alpha":
        tau_alpha = np.log(alpha) / (np.log(beta) - np.log(alpha)) + 1
    for t in range(x.shape[0]):
        xt = x[t]
        reset_t = (mem - thr > 0).astype(np.float64)
        if kind == "Leaky":
            if reset == "subtract":
                mem = beta * mem + xt - reset_t * thr
            else:
                mem = (1 - reset_t) * mem
                mem = beta * mem + xt
        elif kind == "Synaptic":
            syn = alpha * syn + xt
            if reset == "subtract":
                mem = beta * mem + syn - reset_t * thr
            else:
                mem = (1 - reset_t) * (beta * mem + syn)
        else:
            E = alpha * syn_exc + xt
            N = beta * syn_inh - xt
            M = tau_alpha * (E + N)
            if reset == "zero":
                syn_exc = (1 - reset_t) * E
                syn_inh_new = (1 - reset_t) * N
                mem = (1 - reset_t) * M
            else:
                syn_exc = E - reset_t * thr
                syn_inh_new = N - reset_t * N
                mem = M + reset_t * syn_inh
            syn_inh = syn_inh_new
        spk_all.append((mem - thr > 0).astype(np.float64))
        mem_all.append(mem.copy())
    return np.array(spk_all), np.array(mem_all)


# ---------------------------------------------------------------------------
# surrogates
# ---------------------------------------------------------------------------

MEM_POINTS = [-2.0, -1.0, 0.0, 0.5, 0.8, 0.9, 0.95, 0.96, 0.99, 0.999, 1.0, 1.001, 1.01, 1.04, 1.05, 1.1, 1.2, 1.5, 2.0, 3.0]
SURROGATES = {
    "fast_sigmoid_slope25": lambda: surrogate.fast_sigmoid(slope=25),
    "sigmoid_slope25": lambda: surrogate.sigmoid(slope=25),
    "atan_alpha2": lambda: surrogate.atan(alpha=2.0),
}


def run_surrogate(name):
    fn = SURROGATES[name]()
    mem = torch.tensor(MEM_POINTS, dtype=torch.get_default_dtype(), requires_grad=True)
    spk = fn(mem - THRESHOLD)
    (grad,) = torch.autograd.grad(spk, mem, torch.ones_like(spk))
    return {"spk": tolist(spk), "dspk_dmem": tolist(grad)}


# ---------------------------------------------------------------------------
# BPTT
# ---------------------------------------------------------------------------

WEIGHTS = {
    "fc1.weight": [[0.62, -0.31, 0.45], [0.18, 0.77, -0.52], [-0.4, 0.36, 0.91], [0.55, 0.5, 0.12]],
    "fc1.bias": [0.05, -0.02, 0.1, 0.0],
    "fc2.weight": [[0.7, -0.45, 0.33, 0.25], [-0.2, 0.6, 0.48, -0.35]],
    "fc2.bias": [0.01, -0.03],
}
BPTT_SURROGATES = {
    "fast_sigmoid_slope25": lambda: surrogate.fast_sigmoid(slope=25),
    "atan_alpha2": lambda: surrogate.atan(alpha=2.0),
}
BETA = 0.9


def run_bptt_snntorch(name, inputs):
    dtype = torch.get_default_dtype()
    fc1 = torch.nn.Linear(3, 4)
    fc2 = torch.nn.Linear(4, 2)
    with torch.no_grad():
        fc1.weight.copy_(torch.tensor(WEIGHTS["fc1.weight"], dtype=dtype))
        fc1.bias.copy_(torch.tensor(WEIGHTS["fc1.bias"], dtype=dtype))
        fc2.weight.copy_(torch.tensor(WEIGHTS["fc2.weight"], dtype=dtype))
        fc2.bias.copy_(torch.tensor(WEIGHTS["fc2.bias"], dtype=dtype))
    S = BPTT_SURROGATES[name]()
    lif1 = snn.Leaky(beta=BETA, threshold=1.0, reset_mechanism="subtract", spike_grad=S)
    lif2 = snn.Leaky(beta=BETA, threshold=1.0, reset_mechanism="none", spike_grad=S)
    x = torch.tensor(inputs, dtype=dtype)
    mem1 = lif1.reset_mem()
    mem2 = lif2.reset_mem()
    trace = {k: [] for k in ("cur1", "mem1", "spk1", "cur2", "mem2", "spk2")}
    for t in range(x.shape[0]):
        cur1 = fc1(x[t])
        spk1, mem1 = lif1(cur1, mem1)
        cur2 = fc2(spk1.to(dtype))
        spk2, mem2 = lif2(cur2, mem2)
        for k, v in (("cur1", cur1), ("mem1", mem1), ("spk1", spk1), ("cur2", cur2), ("mem2", mem2), ("spk2", spk2)):
            trace[k].append(tolist(v))
    loss = mem2.sum()
    loss.backward()
    grads = {
        "fc1.weight": tolist(fc1.weight.grad),
        "fc1.bias": tolist(fc1.bias.grad),
        "fc2.weight": tolist(fc2.weight.grad),
        "fc2.bias": tolist(fc2.bias.grad),
    }
    return float(loss.detach()), grads, trace


class _Spike(torch.autograd.Function):
    """Heaviside forward in the input's dtype; surrogate derivative on backward."""

    @staticmethod
    def forward(ctx, u, name):
        ctx.save_for_backward(u)
        ctx.name = name
        return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx, g):
        (u,) = ctx.saved_tensors
        if ctx.name == "fast_sigmoid_slope25":
            d = 1.0 / (25.0 * torch.abs(u) + 1.0) ** 2
        else:
            alpha = 2.0
            d = alpha / 2 / (1 + (math.pi / 2 * alpha * u) ** 2)
        return g * d, None


def run_bptt_manual(name, inputs, dtype):
    """Plain torch autograd from the written rules, every tensor in `dtype`."""
    W1 = torch.tensor(WEIGHTS["fc1.weight"], dtype=dtype, requires_grad=True)
    B1 = torch.tensor(WEIGHTS["fc1.bias"], dtype=dtype, requires_grad=True)
    W2 = torch.tensor(WEIGHTS["fc2.weight"], dtype=dtype, requires_grad=True)
    B2 = torch.tensor(WEIGHTS["fc2.bias"], dtype=dtype, requires_grad=True)
    x = torch.tensor(inputs, dtype=dtype)
    beta = torch.tensor(BETA, dtype=dtype)
    mem1 = torch.zeros(4, dtype=dtype)
    mem2 = torch.zeros(2, dtype=dtype)
    for t in range(x.shape[0]):
        cur1 = W1 @ x[t] + B1
        reset = (mem1 - 1.0 > 0).to(dtype).detach()
        mem1 = beta * mem1 + cur1 - reset * 1.0
        spk1 = _Spike.apply(mem1 - 1.0, name)
        cur2 = W2 @ spk1 + B2
        mem2 = beta * mem2 + cur2
    loss = mem2.sum()
    loss.backward()
    grads = {"fc1.weight": tolist(W1.grad), "fc1.bias": tolist(B1.grad), "fc2.weight": tolist(W2.grad), "fc2.bias": tolist(B2.grad)}
    return float(loss.detach()), grads


def max_abs_diff_nested(a, b):
    return float(max(np.max(np.abs(np.asarray(a[k]) - np.asarray(b[k]))) for k in a))


# ---------------------------------------------------------------------------
# document
# ---------------------------------------------------------------------------

SCHEMA = {
    "description": "snnTorch reference outputs (CPU); float32 = snnTorch default dtype, float64 = same modules built after torch.set_default_dtype(torch.float64)",
    "neurons.<dtype>.<config>": "per-step lists (100 steps) of 3-element vectors, one element per input channel; spk, mem (and syn, or syn_exc/syn_inh) as returned by the module at that step",
    "surrogates.<dtype>.<name>": "spk and d spk/d mem at mem_points for a threshold-1.0 neuron (the surrogate is applied to mem - threshold)",
    "bptt.<dtype>.<surrogate>": "loss, gradients (same shapes as the weights, torch Linear layout [out, in]), forward trace per step",
    "numbers": "float32 results are written as the exact float64 value of the float32 number",
}

NEURON_RULES = {
    "common": "Heaviside H(z) = 1 if z > 0 else 0 (strict). reset_t = H(mem_{t-1} - threshold), computed from the membrane BEFORE this step's update and DETACHED (no gradient). spk_t = H(mem_t - threshold) with the surrogate on backward. reset_delay=True (default) so a spike's reset acts one step later.",
    "Leaky_subtract": "mem_t = beta*mem_{t-1} + x_t - reset_t*threshold",
    "Leaky_zero": "mem_t = (1 - reset_t)*beta*mem_{t-1} + x_t   (code: mem = (1-reset)*mem; mem = beta*mem + x)",
    "Synaptic_subtract": "syn_t = alpha*syn_{t-1} + x_t; mem_t = beta*mem_{t-1} + syn_t - reset_t*threshold",
    "Synaptic_zero": "syn_t = alpha*syn_{t-1} + x_t (syn is NOT reset, as coded); mem_t = (1 - reset_t)*(beta*mem_{t-1} + syn_t)",
    "Alpha_common": "tau_alpha = log(alpha)/(log(beta) - log(alpha)) + 1   (as coded; note the docstring formula differs); E_t = alpha*syn_exc_{t-1} + x_t; N_t = beta*syn_inh_{t-1} - x_t; M_t = tau_alpha*(E_t + N_t)",
    "Alpha_zero": "syn_exc_t = (1-reset_t)*E_t; syn_inh_t = (1-reset_t)*N_t; mem_t = (1-reset_t)*M_t",
    "Alpha_subtract": "syn_exc_t = E_t - reset_t*threshold; syn_inh_t = N_t - reset_t*N_t; mem_t = M_t + reset_t*syn_inh_{t-1}   (as coded: mem -= (-syn_inh_old)*reset)",
    "parameters": PARAMS,
    "default_surrogate": "atan(alpha=2.0) (forward values do not depend on it)",
}

FORMULAS = {
    "fast_sigmoid_slope25": "d/dmem = 1 / (slope*|mem - thr| + 1)^2, slope = 25",
    "sigmoid_slope25": "d/dmem = slope*exp(-slope*(mem-thr)) / (exp(-slope*(mem-thr)) + 1)^2, slope = 25",
    "atan_alpha2": "d/dmem = (alpha/2) / (1 + (pi/2*alpha*(mem-thr))^2), alpha = 2",
    "forward": "spk = 1 if mem - thr > 0 else 0 (mem == thr gives 0)",
}

BPTT_TEXT = {
    "network": "x_t (3) -> fc1 = Linear(3,4) with weight W1 [4,3], bias B1 -> lif1 = snn.Leaky(beta=0.9, threshold=1.0, reset_mechanism='subtract', spike_grad=S) -> spk1 (4) -> fc2 = Linear(4,2) with W2 [2,4], B2 -> lif2 = snn.Leaky(beta=0.9, threshold=1.0, reset_mechanism='none', spike_grad=S) -> mem2 (2)",
    "dtype_note": "snnTorch's surrogate forward always returns float32 spikes ((u > 0).float()); in the float64 run spk1 is cast to float64 before fc2 (exact, 0/1)",
    "per_step": "cur1 = W1 x_t + B1; spk1, mem1 = lif1(cur1, mem1); cur2 = W2 spk1 + B2; spk2, mem2 = lif2(cur2, mem2); mem1, mem2 start at 0",
    "loss": "sum(mem2) after the last (20th) step",
    "gradient_notes": "Full BPTT through mem1 and mem2 recurrences (beta*mem). The reset term reset_t*threshold is detached: no gradient flows through it. d spk1/d mem1 = surrogate S'(mem1 - 1). lif2 has no reset, so spk2 does not affect the loss.",
    "float64_note": "snnTorch's float64 gradients pass through float32 spike tensors (surrogate forward returns float32, so the incoming gradient in the surrogate backward is float32): they carry ~1e-7 relative rounding. 'grads_pure_float64' is the same computation with every tensor float64 (plain torch autograd, written from the rules above, agreeing with snnTorch to that ~1e-7); compare an f64 implementation against grads_pure_float64.",
}


def build():
    x = make_inputs()
    bx = make_bptt_inputs()
    neurons = {}
    surrogates = {"mem_points": MEM_POINTS, "threshold": THRESHOLD, "formulas": FORMULAS}
    bptt = dict(BPTT_TEXT)
    bptt_loss_text = bptt.pop("loss")
    bptt_tail = {
        "float64_note": bptt.pop("float64_note"),
        "weights": WEIGHTS,
        "inputs": bx.tolist(),
        "inputs_generator": "numpy default_rng(77).uniform(0,1,(20,3)) rounded to 2 decimals",
    }
    bptt_out = {
        "network": bptt["network"],
        "dtype_note": bptt["dtype_note"],
        "per_step": bptt["per_step"],
        "loss": bptt_loss_text,
        "gradient_notes": bptt["gradient_notes"],
    }
    bptt_out.update(bptt_tail)

    for dname, dtype in DTYPES.items():
        torch.set_default_dtype(dtype)
        neurons[dname] = {cfg: run_neuron(kind, reset, x) for cfg, kind, reset in CONFIGS}
        surrogates[dname] = {name: run_surrogate(name) for name in SURROGATES}
        per_s = {}
        for name in BPTT_SURROGATES:
            loss, grads, trace = run_bptt_snntorch(name, bx)
            m_loss, m_grads = run_bptt_manual(name, bx, dtype)
            entry = {
                "loss": loss,
                "grads": grads,
                "trace": trace,
                "check_manual_max_abs_diff": max_abs_diff_nested(grads, m_grads),
                "check_manual_loss_diff": abs(loss - m_loss),
            }
            if dname == "float64":
                entry["grads_pure_float64"] = m_grads
            per_s[name] = entry
        bptt_out[dname] = per_s
    torch.set_default_dtype(torch.float32)

    check = {}
    for cfg, kind, reset in CONFIGS:
        a, b = neurons["float32"][cfg], neurons["float64"][cfg]
        spk_r, mem_r = replay_rules(kind, reset, x)
        check[cfg] = {
            "spikes_identical_f32_f64": a["spk"] == b["spk"],
            "documented_rules_replay_f64": {
                "spikes_identical": spk_r.tolist() == b["spk"],
                "max_abs_mem_diff": float(np.max(np.abs(mem_r - np.asarray(b["mem"])))),
            },
            "max_abs_mem_diff_f32_f64": float(np.max(np.abs(np.asarray(a["mem"]) - np.asarray(b["mem"])))),
            "n_spikes_per_channel": b["n_spikes_per_channel"],
        }

    return {
        "schema": SCHEMA,
        "generator": "gen_snntorch.py",
        "versions": {
            "snntorch": snn.__version__,
            "torch": torch.__version__.split("+")[0],
            "torch_full": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "device": "cpu",
        },
        "inputs": {
            "x": x.tolist(),
            "shape": list(x.shape),
            "generator": "numpy default_rng(2024): channel c uniform(lo_c, hi_c) with (lo,hi) = (-0.05,0.15), (-0.1,0.4), (0,0.8), rounded to 3 decimals; rows 40..44 set to 0",
            "note": "feed x[t] (shape [3]) at step t, states start at zero; the three channels are independent neurons",
        },
        "neuron_rules": NEURON_RULES,
        "neurons": neurons,
        "surrogates": surrogates,
        "bptt": bptt_out,
        "check": check,
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "out", "snntorch_reference.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    data = build()
    with open(path, "w") as fh:
        json.dump(data, fh, indent=1)
    for k, v in data["check"].items():
        print(k, v)
    for d in DTYPES:
        for s, e in data["bptt"][d].items():
            print("bptt", d, s, "loss", e["loss"], "manual max diff", e["check_manual_max_abs_diff"])
    print("wrote", path)


if __name__ == "__main__":
    main()
