#!/usr/bin/env python3
"""Regenerate snntorch_deep.json: six SGD steps of a recurrent three-layer SNN (snnTorch, float64, CPU).

Task ("delayed recall"), B = 8 samples, T = 16 steps, 4 input channels of 0/1 values:
  labels y_b in {0, 1}, four of each: y = (randperm(8) < 4) with a torch.Generator
  seeded TASK_SEED = 7; channel y_b is 1 at steps 0 and 1 (the cue), channel 2 is 1 at steps
  12..15 (the "go" signal), channel 3 is Bernoulli(0.15) noise at every step
  (torch.rand(B, T) < 0.15 from the same generator, drawn after the permutation);
  everything else is 0. The inputs are stored, so nobody has to reproduce the draw.

Network, per step t (spk1_{-1} = 0, every state starts at zero):
  cur1_t = fc1(x_t) + rec(spk1_{t-1})          fc1 = Linear(4,12), rec = Linear(12,12, bias=False)
  spk1, syn1, mem1 = snn.Synaptic(alpha=A1, beta=B1, threshold=1, reset 'subtract')(cur1_t, syn1, mem1)
  cur2_t = fc2(spk1_t)                         fc2 = Linear(12,8)
  spk2, mem2 = snn.Leaky(beta=B2, threshold=1, reset 'zero')(cur2_t, mem2)
  cur3_t = fc3(spk2_t)                         fc3 = Linear(8,2)
  _, mem3 = snn.Leaky(beta=B3, threshold=1, reset 'none')(cur3_t, mem3)   (readout: membrane only)
  z_b = (sum over t = 0..T-1 of mem3_t[b]) / T;  L = mean over b of cross_entropy(z_b, y_b)
A1 = exp(-1/8), B1 = exp(-1/12), B2 = exp(-1/6), B3 = exp(-1/10) (math.exp). The recurrence is
written out (no RSynaptic); the gradient flows into rec through spk1_{t-1} by the surrogate.
snnTorch's default reset_delay=True: the reset of step t is H(mem_{t-1} - 1), detached.
The rules, as snnTorch 1.0.0 codes them, are in "network.rules". "runs.<s>.check.replay" is a
plain-torch autograd re-implementation of those rules (no snnTorch, its own operation order)
that trains its own copy of the parameters for the six steps, as an independent
re-implementation would; the script requires it to agree with snnTorch within 1e-12 relative
to each tensor's largest entry, with identical spike counts. It records how far apart two
correct float64 implementations land: the loss up to 3e-14 relative, z and the parameters up
to 3e-15, gradients up to 1e-12 of the tensor's largest entry and 1e-11 element by element
(small entries that are sums of cancelling terms), so a comparison at 1e-9 has a wide margin.

Initial weights: torch.manual_seed(WEIGHT_SEED), then fc1, rec, fc2, fc3 built in that order
with torch's default Linear init (in float64), then multiplied by SCALES. They are stored in
"init". Training: K = 6 steps of plain SGD, lr = 0.5, on this one batch, for each surrogate:
at step k the loss, logits z [B,2], all gradients (torch layout [out, in]) and the spike
totals of both hidden layers are recorded, then every parameter p <- p - lr*grad.
"trace0" is the step-0 forward of sample 0: per time step mem1, spk1, syn1, mem2, spk2, mem3.

Surrogates: fast_sigmoid(slope=25) and atan(alpha=2). snnTorch's own surrogate functions
return float32 spikes ((u > 0).float()) even in float64, so every gradient that passes
through a spike tensor (into fc2, fc3, rec and back through time) is rounded to float32:
about 1e-7 relative, which would make a 1e-9 comparison meaningless and would let six SGD
steps drift apart. The runs therefore use FastSigmoid64 / ATan64: subclasses of
snntorch.surrogate.FastSigmoid / ATan whose forward returns the spike in the input's dtype
(float64) and whose backward is snnTorch's own, unchanged. Forward values are identical
(spikes are exactly 0/1 either way). "runs.<s>.check.stock_surrogate_step0" repeats step 0
with the stock snntorch.surrogate.fast_sigmoid / atan (spikes cast to float64 before the next
Linear): same loss and spike counts, gradients off by up to 5e-8 of the tensor's largest
entry and 8e-7 element by element.

WEIGHT_SEED = 29 and SCALES fc1 x3, rec x1, fc2 x3, fc3 x0.1 were chosen (by trying seeds
and a few scale sets) so that at every training step of both runs each hidden layer spikes in
5 %..60 % of its (sample, step, neuron) entries (about 47 % and 30 %), no membrane of layer 1
or 2 comes closer than MIN_MARGIN = 1e-7 to the threshold (so that a 1e-12 difference cannot
flip a spike; "min_margin1/2" record the smallest |mem - 1|, 4.5e-4 or more), and the loss
falls at every step for both surrogates (0.599 to 0.0076 and 0.0037). fc3 is small because
lr = 0.5 is large for this readout: z moves by about 6 per unit of fc3.bias (the leaky sum
over 16 steps, averaged), and with fc3 x1 most seeds oscillate or diverge. The script
fails unless the spike fractions and margins hold for both runs, the replay agrees, and the
loss falls at every step for at least one surrogate.

MKL_CBWR=COMPATIBLE is set (unless already set) before torch is imported, as in
gen_snntorch.py, so that MKL picks the same kernels on every x86 CPU. One thread,
deterministic algorithms: two runs give byte-identical files.

Usage: gen_snntorch_deep.py [OUTPUT_JSON]   (default: ./out/snntorch_deep.json)
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
import torch.nn.functional as F  # noqa: E402
from snntorch import surrogate  # noqa: E402

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)

B, T, N_IN = 8, 16, 4
SIZES = [4, 12, 8, 2]
THRESHOLD = 1.0
A1 = math.exp(-1 / 8)
B1 = math.exp(-1 / 12)
B2 = math.exp(-1 / 6)
B3 = math.exp(-1 / 10)
LR = 0.5
K = 6
TASK_SEED = 7
NOISE_P = 0.15
WEIGHT_SEED = 29
SCALES = {"fc1": 3.0, "rec": 1.0, "fc2": 3.0, "fc3": 0.1}
PARAM_NAMES = ["fc1.weight", "fc1.bias", "rec.weight", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"]
SPIKE_FRACTION_RANGE = (0.05, 0.60)
MIN_MARGIN = 1e-7


def tolist(t):
    return t.detach().to(torch.float64).cpu().numpy().tolist()


# ---------------------------------------------------------------------------
# task and initial weights
# ---------------------------------------------------------------------------


def make_task():
    g = torch.Generator().manual_seed(TASK_SEED)
    labels = (torch.randperm(B, generator=g) < B // 2).long()
    noise = (torch.rand(B, T, generator=g, dtype=torch.float64) < NOISE_P).to(torch.float64)
    x = torch.zeros(B, T, N_IN)
    for b in range(B):
        x[b, 0:2, int(labels[b])] = 1.0
    x[:, 12:16, 2] = 1.0
    x[:, :, 3] = noise
    return x, labels


def make_init():
    torch.manual_seed(WEIGHT_SEED)
    fc1 = torch.nn.Linear(SIZES[0], SIZES[1])
    rec = torch.nn.Linear(SIZES[1], SIZES[1], bias=False)
    fc2 = torch.nn.Linear(SIZES[1], SIZES[2])
    fc3 = torch.nn.Linear(SIZES[2], SIZES[3])
    init = {}
    for name, layer in (("fc1", fc1), ("rec", rec), ("fc2", fc2), ("fc3", fc3)):
        for pname, p in layer.named_parameters():
            init["%s.%s" % (name, pname)] = (p.detach() * SCALES[name]).clone()
    return {k: init[k] for k in PARAM_NAMES}


# ---------------------------------------------------------------------------
# surrogates
# ---------------------------------------------------------------------------


class FastSigmoid64(surrogate.FastSigmoid):
    """snnTorch's FastSigmoid with the spike in the input's dtype; backward inherited."""

    @staticmethod
    def forward(ctx, input_, slope):
        ctx.save_for_backward(input_)
        ctx.slope = slope
        return (input_ > 0).to(input_.dtype)


class ATan64(surrogate.ATan):
    """snnTorch's ATan with the spike in the input's dtype; backward inherited."""

    @staticmethod
    def forward(ctx, input_, alpha):
        ctx.save_for_backward(input_)
        ctx.alpha = alpha
        return (input_ > 0).to(input_.dtype)


SURROGATES = {
    "fast_sigmoid": {
        "param": ("slope", 25.0),
        "f64": lambda: (lambda u: FastSigmoid64.apply(u, 25.0)),
        "stock": lambda: surrogate.fast_sigmoid(slope=25.0),
        "formula": "d spk/d mem = 1 / (slope*|mem - 1| + 1)^2, slope = 25",
    },
    "atan": {
        "param": ("alpha", 2.0),
        "f64": lambda: (lambda u: ATan64.apply(u, 2.0)),
        "stock": lambda: surrogate.atan(alpha=2.0),
        "formula": "d spk/d mem = (alpha/2) / (1 + (pi/2*alpha*(mem - 1))^2), alpha = 2, pi = torch.pi",
    },
}


# ---------------------------------------------------------------------------
# network (snnTorch neurons)
# ---------------------------------------------------------------------------


def neurons(spike_grad, decays=None):
    """The three snnTorch neuron layers. The hidden layers' decays are A1, B1 and B2, or, with
    `decays` (tensors "lif1.alpha", "lif1.beta", "lif2.beta", one value per neuron;
    gen_snntorch_decay.py), those, learned (learn_alpha/learn_beta)."""
    if decays is None:
        a1, b1, b2, learn = A1, B1, B2, False
    else:
        a1, b1, b2, learn = decays["lif1.alpha"], decays["lif1.beta"], decays["lif2.beta"], True
    lif1 = snn.Synaptic(
        alpha=a1, beta=b1, learn_alpha=learn, learn_beta=learn,
        threshold=THRESHOLD, reset_mechanism="subtract", spike_grad=spike_grad,
    )
    lif2 = snn.Leaky(beta=b2, learn_beta=learn, threshold=THRESHOLD, reset_mechanism="zero", spike_grad=spike_grad)
    lif3 = snn.Leaky(beta=B3, threshold=THRESHOLD, reset_mechanism="none", spike_grad=spike_grad)
    return lif1, lif2, lif3


def forward_snntorch(params, x, labels, spike_grad, trace=False, layers=None):
    """One forward pass through snnTorch neurons (`layers`, default neurons(spike_grad));
    returns loss, z and statistics."""
    lif1, lif2, lif3 = layers if layers is not None else neurons(spike_grad)
    syn1, mem1 = lif1.init_synaptic()
    mem2 = lif2.init_leaky()
    mem3 = lif3.init_leaky()
    dt = torch.float64
    spk1 = torch.zeros(B, SIZES[1])
    acc = torch.zeros(B, SIZES[3])
    n1 = n2 = 0
    margin1 = margin2 = math.inf
    tr = {k: [] for k in ("mem1", "spk1", "syn1", "mem2", "spk2", "mem3")}
    for t in range(T):
        cur1 = F.linear(x[:, t], params["fc1.weight"], params["fc1.bias"]) + F.linear(spk1, params["rec.weight"])
        spk1, syn1, mem1 = lif1(cur1, syn1, mem1)
        spk1 = spk1.to(dt)  # no-op for the float64 surrogates; exact 0/1 cast for the stock ones
        cur2 = F.linear(spk1, params["fc2.weight"], params["fc2.bias"])
        spk2, mem2 = lif2(cur2, mem2)
        spk2 = spk2.to(dt)
        cur3 = F.linear(spk2, params["fc3.weight"], params["fc3.bias"])
        _, mem3 = lif3(cur3, mem3)
        acc = acc + mem3
        n1 += int(spk1.detach().sum())
        n2 += int(spk2.detach().sum())
        margin1 = min(margin1, float((mem1.detach() - THRESHOLD).abs().min()))
        margin2 = min(margin2, float((mem2.detach() - THRESHOLD).abs().min()))
        if trace:
            for k, v in (("mem1", mem1), ("spk1", spk1), ("syn1", syn1), ("mem2", mem2), ("spk2", spk2), ("mem3", mem3)):
                tr[k].append(tolist(v[0]))
    z = acc / T
    loss = F.cross_entropy(z, labels)
    stats = {"spikes1": n1, "spikes2": n2, "margin1": margin1, "margin2": margin2}
    return loss, z, stats, (tr if trace else None)


def loss_and_grads(params, x, labels, spike_grad, trace=False):
    p = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    loss, z, stats, tr = forward_snntorch(p, x, labels, spike_grad, trace)
    grads = torch.autograd.grad(loss, [p[k] for k in PARAM_NAMES])
    return float(loss.detach()), z.detach(), dict(zip(PARAM_NAMES, grads)), stats, tr


# ---------------------------------------------------------------------------
# independent replay of the written rules (plain torch autograd, no snnTorch)
# ---------------------------------------------------------------------------


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, name):
        ctx.save_for_backward(u)
        ctx.name = name
        return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx, g):
        (u,) = ctx.saved_tensors
        if ctx.name == "fast_sigmoid":
            d = 1.0 / (25.0 * torch.abs(u) + 1.0) ** 2
        else:
            d = 1.0 / (1.0 + (math.pi / 2 * 2.0 * u) ** 2)
        return g * d, None


def replay(params, x, labels, name):
    """The rules in plain torch (no snnTorch), its own operation order. The hidden layers'
    decays are A1, B1 and B2 unless `params` holds per-neuron ones ("lif1.alpha", "lif1.beta",
    "lif2.beta"; gen_snntorch_decay.py); the gradients are those of every entry of `params`."""
    p = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    a1, b1, b2 = p.get("lif1.alpha", A1), p.get("lif1.beta", B1), p.get("lif2.beta", B2)
    syn1 = torch.zeros(B, SIZES[1])
    mem1 = torch.zeros(B, SIZES[1])
    spk1 = torch.zeros(B, SIZES[1])
    mem2 = torch.zeros(B, SIZES[2])
    mem3 = torch.zeros(B, SIZES[3])
    acc = torch.zeros(B, SIZES[3])
    n1 = n2 = 0
    for t in range(T):
        cur1 = x[:, t] @ p["fc1.weight"].T + p["fc1.bias"] + spk1 @ p["rec.weight"].T
        r1 = (mem1 - THRESHOLD > 0).to(torch.float64).detach()
        syn1 = a1 * syn1 + cur1
        mem1 = b1 * mem1 + syn1 - r1 * THRESHOLD
        spk1 = _Spike.apply(mem1 - THRESHOLD, name)
        cur2 = spk1 @ p["fc2.weight"].T + p["fc2.bias"]
        r2 = (mem2 - THRESHOLD > 0).to(torch.float64).detach()
        mem2 = b2 * (1 - r2) * mem2 + cur2
        spk2 = _Spike.apply(mem2 - THRESHOLD, name)
        cur3 = spk2 @ p["fc3.weight"].T + p["fc3.bias"]
        mem3 = B3 * mem3 + cur3
        acc = acc + mem3
        n1 += int(spk1.detach().sum())
        n2 += int(spk2.detach().sum())
    z = acc / T
    logp = z - torch.logsumexp(z, dim=1, keepdim=True)
    loss = -logp[torch.arange(B), labels].mean()
    grads = torch.autograd.grad(loss, list(p.values()))
    return float(loss.detach()), z.detach(), dict(zip(p, grads)), (n1, n2)


def max_rel_diff(ga, gb):
    """Largest |a - b| / max(|a|, |b|) over all entries of all tensors (0 where both are 0)."""
    worst = 0.0
    for k in ga:
        a, b = ga[k].detach(), gb[k].detach()
        scale = torch.maximum(a.abs(), b.abs())
        nz = scale > 0
        if nz.any():
            worst = max(worst, float(((a - b).abs()[nz] / scale[nz]).max()))
    return worst


def max_tensor_rel_diff(ga, gb):
    """Largest max|a - b| / max(max|a|, max|b|) over tensors: error relative to each tensor's scale."""
    worst = 0.0
    for k in ga:
        a, b = ga[k].detach(), gb[k].detach()
        scale = float(torch.maximum(a.abs().max(), b.abs().max()))
        if scale > 0:
            worst = max(worst, float((a - b).abs().max()) / scale)
    return worst


# ---------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------


def train(name, init, x, labels):
    spec = SURROGATES[name]
    sg = spec["f64"]()
    params = {k: v.clone() for k, v in init.items()}
    rparams = {k: v.clone() for k, v in init.items()}  # the replay trains on its own
    steps = []
    trace0 = None
    margin1 = margin2 = math.inf
    rep = {"loss": 0.0, "z": 0.0, "grad_tensor": 0.0, "grad_elementwise": 0.0, "params_tensor": 0.0, "same_spike_counts": True}
    n1_entries = B * T * SIZES[1]
    n2_entries = B * T * SIZES[2]
    for k in range(K):
        loss, z, grads, stats, tr = loss_and_grads(params, x, labels, sg, trace=(k == 0))
        if k == 0:
            trace0 = tr
        r_loss, r_z, r_grads, r_counts = replay(rparams, x, labels, name)
        rep["loss"] = max(rep["loss"], abs(r_loss - loss) / abs(loss))
        rep["z"] = max(rep["z"], max_tensor_rel_diff({"z": z}, {"z": r_z}))
        rep["grad_tensor"] = max(rep["grad_tensor"], max_tensor_rel_diff(grads, r_grads))
        rep["grad_elementwise"] = max(rep["grad_elementwise"], max_rel_diff(grads, r_grads))
        rep["params_tensor"] = max(rep["params_tensor"], max_tensor_rel_diff(params, rparams))
        rep["same_spike_counts"] = rep["same_spike_counts"] and r_counts == (stats["spikes1"], stats["spikes2"])
        margin1 = min(margin1, stats["margin1"])
        margin2 = min(margin2, stats["margin2"])
        steps.append(
            {
                "loss": loss,
                "z": tolist(z),
                "grads": {n: tolist(grads[n]) for n in PARAM_NAMES},
                "spikes1": stats["spikes1"],
                "spikes2": stats["spikes2"],
            }
        )
        with torch.no_grad():
            for n in PARAM_NAMES:
                params[n] = params[n] - LR * grads[n]
                rparams[n] = rparams[n] - LR * r_grads[n]

    # the same step 0 with snnTorch's stock (float32-spike) surrogate
    s_loss, _, s_grads, s_stats, _ = loss_and_grads(init, x, labels, spec["stock"]())
    _, _, f_grads, _, _ = loss_and_grads(init, x, labels, sg)
    check = {
        "replay": {
            "max_rel_loss_diff": rep["loss"],
            "max_rel_z_diff": rep["z"],
            "max_grad_diff_rel_to_tensor_max": rep["grad_tensor"],
            "max_grad_diff_rel_elementwise": rep["grad_elementwise"],
            "max_param_diff_rel_to_tensor_max": rep["params_tensor"],
            "same_spike_counts": rep["same_spike_counts"],
        },
        "stock_surrogate_step0": {
            "loss_diff": abs(s_loss - steps[0]["loss"]),
            "same_spike_counts": s_stats["spikes1"] == steps[0]["spikes1"] and s_stats["spikes2"] == steps[0]["spikes2"],
            "max_grad_diff_rel_to_tensor_max": max_tensor_rel_diff(s_grads, f_grads),
            "max_grad_diff_rel_elementwise": max_rel_diff(s_grads, f_grads),
        },
        "spike_fraction1": [s["spikes1"] / n1_entries for s in steps],
        "spike_fraction2": [s["spikes2"] / n2_entries for s in steps],
    }
    pkey, pval = spec["param"]
    run = {
        pkey: pval,
        "surrogate": "snntorch.surrogate.%s(%s=%r), spike in float64 (see about)" % (name, pkey, pval),
        "formula": spec["formula"],
        "steps": steps,
        "trace0": trace0,
        "min_margin1": margin1,
        "min_margin2": margin2,
        "check": check,
    }
    return run


def validate(runs):
    problems = []
    lo, hi = SPIKE_FRACTION_RANGE
    decreasing = []
    for name, run in runs.items():
        c = run["check"]
        for layer in ("1", "2"):
            for k, f in enumerate(c["spike_fraction" + layer]):
                if not lo <= f <= hi:
                    problems.append("%s step %d: layer %s spike fraction %.3f outside [%g, %g]" % (name, k, layer, f, lo, hi))
            m = run["min_margin" + layer]
            if not m > MIN_MARGIN:
                problems.append("%s: min |mem%s - 1| = %.3e <= %g" % (name, layer, m, MIN_MARGIN))
        r = c["replay"]
        worst = max(r["max_rel_loss_diff"], r["max_rel_z_diff"], r["max_grad_diff_rel_to_tensor_max"], r["max_param_diff_rel_to_tensor_max"])
        if worst > 1e-12 or not r["same_spike_counts"]:
            problems.append("%s: replay disagrees: %r" % (name, r))
        if c["stock_surrogate_step0"]["loss_diff"] != 0.0 or not c["stock_surrogate_step0"]["same_spike_counts"]:
            problems.append("%s: stock surrogate forward differs: %r" % (name, c["stock_surrogate_step0"]))
        losses = [s["loss"] for s in run["steps"]]
        decreasing.append(all(b < a for a, b in zip(losses, losses[1:])))
    if not any(decreasing):
        problems.append("the loss does not fall at every step for any surrogate")
    return problems


# ---------------------------------------------------------------------------
# document
# ---------------------------------------------------------------------------

ABOUT = (
    "Six plain-SGD steps (lr 0.5) of a recurrent three-layer SNN on one batch of a delayed-recall task, "
    "snnTorch 1.0.0 neurons, torch float64 on CPU, for two surrogates. A re-implementation that rebuilds "
    "this network from 'network', 'init' and 'task' should match every loss, z and gradient to ~1e-12 "
    "relative (compare at 1e-9) and every spike count exactly. Spikes are float64 inside the surrogate "
    "(snnTorch's own surrogates return float32 spikes, which rounds back-propagated gradients to ~1e-7; "
    "runs.<s>.check.stock_surrogate_step0 shows the size of that). Generated by gen/gen_snntorch_deep.py; "
    "its docstring explains every choice."
)

SCHEMA = {
    "task": "B samples, T steps; inputs[b][t] = x_t of sample b (4 channels, 0/1); labels[b] in {0,1}",
    "network": "constants and the exact per-step rules",
    "init": "initial parameters, torch layout: weight [out, in], bias [out]",
    "runs.<surrogate>.steps[k]": "training step k (k = 0..steps-1), computed with the parameters before the k-th update: loss, z [B][2], grads (same layout as init), spikes1/spikes2 = total spikes of layer 1/2 over batch, steps and neurons; then p <- p - lr*grad",
    "runs.<surrogate>.trace0": "step-0 forward of sample 0: per time step (T lists) mem1, spk1, syn1 [12], mem2, spk2 [8], mem3 [2], values after that step's neuron update",
    "runs.<surrogate>.min_margin1/2": "smallest |mem - threshold| of layer 1/2 over all samples, time steps, neurons and training steps",
    "runs.<surrogate>.check": "replay: an independent plain-torch implementation of network.rules, trained on its own for the same steps, against snnTorch (largest differences over all steps; *_rel_to_tensor_max = max|a - b| / max|a| per tensor, *_rel_elementwise = max |a - b| / max(|a|, |b|)); stock_surrogate_step0: step 0 with snnTorch's float32-spike surrogate against the float64 one; spike_fraction1/2 per training step",
}

RULES = {
    "H": "H(u) = 1 if u > 0 else 0 (strict); spike forward spk = H(mem - threshold); backward d spk/d mem = surrogate derivative at mem - threshold",
    "inputs": "x_t = inputs[:, t, :] (B x 4)",
    "layer1": "cur1_t = x_t W_fc1^T + b_fc1 + spk1_{t-1} W_rec^T (spk1_{-1} = 0); r1_t = H(mem1_{t-1} - 1) detached; syn1_t = A1*syn1_{t-1} + cur1_t; mem1_t = (B1*mem1_{t-1} + syn1_t) - r1_t*1; spk1_t = H(mem1_t - 1)",
    "layer2": "cur2_t = spk1_t W_fc2^T + b_fc2; r2_t = H(mem2_{t-1} - 1) detached; mem2_t = B2*((1 - r2_t)*mem2_{t-1}) + cur2_t; spk2_t = H(mem2_t - 1)",
    "layer3": "cur3_t = spk2_t W_fc3^T + b_fc3; mem3_t = B3*mem3_{t-1} + cur3_t (no reset, its spikes are unused)",
    "initial_state": "syn1, mem1, mem2, mem3, spk1 all 0 at t = -1",
    "readout": "z = (mem3_0 + mem3_1 + ... + mem3_{T-1}) / T   (B x 2)",
    "loss": "L = (1/B) sum_b [logsumexp(z_b) - z_b[y_b]]  (torch cross_entropy, mean reduction)",
    "gradients": "full BPTT: through syn1, mem1, mem2, mem3 recurrences and through spk1_{t-1} -> rec (surrogate); the resets r1, r2 are detached (no gradient)",
    "update": "after recording step k: p <- p - lr*grad for every parameter",
}


def build():
    x, labels = make_task()
    init = make_init()
    runs = {name: train(name, init, x, labels) for name in SURROGATES}
    problems = validate(runs)
    if problems:
        for p in problems:
            print("gen_snntorch_deep.py: " + p, file=sys.stderr)
        raise SystemExit(1)
    return {
        "about": ABOUT,
        "schema": SCHEMA,
        "generator": "gen_snntorch_deep.py",
        "versions": {
            "torch": torch.__version__.split("+")[0],
            "torch_full": torch.__version__,
            "snntorch": snn.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "device": "cpu",
            "dtype": "float64",
        },
        "task": {
            "B": B,
            "T": T,
            "inputs": tolist(x),
            "labels": [int(v) for v in labels],
            "description": "delayed recall: cue on channel y_b at steps 0 and 1, go signal on channel 2 at steps 12..15, Bernoulli(%g) noise on channel 3; generator: torch.Generator().manual_seed(%d), labels = (randperm(%d) < %d), noise = rand(B, T) < %g" % (NOISE_P, TASK_SEED, B, B // 2, NOISE_P),
        },
        "network": {
            "A1": A1,
            "B1": B1,
            "B2": B2,
            "B3": B3,
            "threshold": THRESHOLD,
            "sizes": SIZES,
            "description": "fc1 = Linear(4,12) + rec = Linear(12,12, no bias) from spk1_{t-1} -> snn.Synaptic(alpha=A1, beta=B1, reset 'subtract') -> fc2 = Linear(12,8) -> snn.Leaky(beta=B2, reset 'zero') -> fc3 = Linear(8,2) -> snn.Leaky(beta=B3, reset 'none') readout membrane; A1 = exp(-1/8), B1 = exp(-1/12), B2 = exp(-1/6), B3 = exp(-1/10); threshold 1; reset_delay=True (snnTorch default)",
            "rules": RULES,
        },
        "init": {k: tolist(v) for k, v in init.items()},
        "init_description": "torch.manual_seed(%d); fc1, rec, fc2, fc3 built in that order with torch's default Linear init in float64; then scaled by %s" % (WEIGHT_SEED, SCALES),
        "lr": LR,
        "steps": K,
        "runs": runs,
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "out", "snntorch_deep.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    data = build()
    with open(path, "w") as fh:
        json.dump(data, fh, indent=1)
    for name, run in data["runs"].items():
        c = run["check"]
        print(name, "losses", [s["loss"] for s in run["steps"]])
        print(name, "spike fractions layer 1", ["%.3f" % f for f in c["spike_fraction1"]])
        print(name, "spike fractions layer 2", ["%.3f" % f for f in c["spike_fraction2"]])
        print(name, "min margins", run["min_margin1"], run["min_margin2"])
        print(name, "replay", c["replay"])
        print(name, "stock surrogate", c["stock_surrogate_step0"])
    print("wrote", path)


if __name__ == "__main__":
    main()
