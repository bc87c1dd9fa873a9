#!/usr/bin/env python3
"""Brian2 CUBA network statistics over several seeds -> brian2_cuba_stats.json.

The network is Brian2's examples/CUBA.py (Brette et al. 2007, benchmark 2):
4000 LIF neurons (3200 excitatory, 800 inhibitory), tau_m = 20 ms, tau_e = 5 ms,
tau_i = 10 ms, Vt = -50 mV, Vr = -60 mV, El = -49 mV, refractory 5 ms,
we = 60*0.27/10 mV = 1.62 mV added to ge and wi = -20*4.5/10 mV = -9 mV added to gi,
connection probability 0.02 (Ce.connect('i<3200', p=0.02), Ci.connect('i>=3200',
p=0.02)), method='exact', dt = 0.1 ms, 1 s, initial v = Vr + rand()*(Vt - Vr).
Each run calls brian2.seed(s) first (numpy's and Brian2's generators).

Statistics per seed and window ([0, 1000) ms and [200, 1000) ms; a spike at t
counts in a window when start <= t < end):
  mean_rate_hz   total spikes / (4000 * window length)
  cv_isi         mean over neurons with >= 3 spikes in the window of
                 std(ISI)/mean(ISI) (ISIs between that neuron's spikes inside the
                 window; population std, ddof = 0)
  silent_fraction fraction of the 4000 neurons with no spike in the window
  fano_10ms      var/mean (ddof = 0) of the population spike counts in
                 consecutive 10-ms bins covering the window
Summary: mean and sample std (ddof = 1) over the seeds.

Usage: gen_brian2_cuba.py [OUTPUT_JSON] [--seeds 0,1,2,3,4] [--target numpy|cython]
(default output: ./out/brian2_cuba_stats.json)
"""

import argparse
import json
import os
import platform
import sys
import time

import brian2
import numpy as np
from spike_stats import window_stats
from brian2 import Network, NeuronGroup, SpikeMonitor, Synapses, defaultclock, mV, ms, prefs, second

N = 4000
N_E = 3200
DURATION_MS = 1000.0
DT_MS = 0.1
WINDOWS = {"full_0_1000ms": (0.0, 1000.0), "late_200_1000ms": (200.0, 1000.0)}
BIN_MS = 10.0
STATS = ("mean_rate_hz", "cv_isi", "silent_fraction", "fano_10ms")

EQS = """
dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
dge/dt = -ge/taue : volt
dgi/dt = -gi/taui : volt
"""


def run_seed(seed):
    brian2.seed(seed)
    ns = {
        "taum": 20 * ms,
        "taue": 5 * ms,
        "taui": 10 * ms,
        "Vt": -50 * mV,
        "Vr": -60 * mV,
        "El": -49 * mV,
        "we": (60 * 0.27 / 10) * mV,
        "wi": (-20 * 4.5 / 10) * mV,
    }
    P = NeuronGroup(N, EQS, threshold="v>Vt", reset="v = Vr", refractory=5 * ms, method="exact", namespace=ns)
    P.v = "Vr + rand() * (Vt - Vr)"
    P.ge = 0 * mV
    P.gi = 0 * mV
    Ce = Synapses(P, P, on_pre="ge += we", namespace=ns)
    Ci = Synapses(P, P, on_pre="gi += wi", namespace=ns)
    Ce.connect("i<%d" % N_E, p=0.02)
    Ci.connect("i>=%d" % N_E, p=0.02)
    mon = SpikeMonitor(P)
    net = Network(P, Ce, Ci, mon)
    net.run(DURATION_MS * ms)
    # spike times as integer steps, to avoid float noise at window edges
    steps = np.round(np.asarray(mon.t / ms) / DT_MS).astype(np.int64)
    idx = np.asarray(mon.i).astype(np.int64)
    n_syn = int(len(Ce) + len(Ci))
    return steps, idx, n_syn


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("output", nargs="?", default=os.path.join(here, "out", "brian2_cuba_stats.json"))
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--target", default="numpy", choices=["numpy", "cython"])
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]

    prefs.codegen.target = args.target
    prefs.core.default_float_dtype = np.float64
    defaultclock.dt = DT_MS * ms

    per_seed = []
    for s in seeds:
        t0 = time.time()
        steps, idx, n_syn = run_seed(s)
        entry = {"seed": s, "n_synapses": n_syn}
        for w, (a, b) in WINDOWS.items():
            entry[w] = window_stats(steps, idx, a, b, n=N, dt_ms=DT_MS, bin_ms=BIN_MS)
        per_seed.append(entry)
        print(
            "seed %d: %.1f s, synapses %d, full rate %.3f Hz cv %.4f silent %.4f fano %.2f"
            % (
                s,
                time.time() - t0,
                n_syn,
                entry["full_0_1000ms"]["mean_rate_hz"],
                entry["full_0_1000ms"]["cv_isi"],
                entry["full_0_1000ms"]["silent_fraction"],
                entry["full_0_1000ms"]["fano_10ms"],
            ),
            flush=True,
        )

    summary = {}
    for w in WINDOWS:
        summary[w] = {}
        for k in STATS:
            vals = np.array([e[w][k] for e in per_seed])
            summary[w][k] = {
                "mean": float(np.mean(vals)),
                "std": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0,
            }

    out = {
        "schema": {
            "description": "Brian2 CUBA benchmark network (examples/CUBA.py; Brette et al. 2007, benchmark 2): spike statistics per seed and their mean and sample std over seeds",
            "network": "4000 LIF neurons (0..3199 excitatory, 3200..3999 inhibitory); dv/dt = (ge + gi - (v - El))/taum (unless refractory), dge/dt = -ge/taue, dgi/dt = -gi/taui; taum = 20 ms, taue = 5 ms, taui = 10 ms, Vt = -50 mV, Vr = -60 mV, El = -49 mV; threshold v > Vt, reset v = Vr, refractory 5 ms; on_pre ge += we (we = 1.62 mV) from excitatory, gi += wi (wi = -9 mV) from inhibitory sources; each ordered pair (i, j), self-pairs included, connected with probability 0.02; no delay; method 'exact'; dt = 0.1 ms; 1 s; v(0) = Vr + rand()*(Vt - Vr), ge(0) = gi(0) = 0",
            "scheduling": "Brian2 default: spikes are stamped with the start of the step in which the threshold was crossed; on_pre effects act from the next state update on",
            "windows": "full_0_1000ms = [0, 1000) ms, late_200_1000ms = [200, 1000) ms; a spike at t counts when start <= t < end",
            "mean_rate_hz": "total spikes in the window / (4000 * window length in s)",
            "cv_isi": "mean over neurons with >= 3 spikes in the window of std(ISI)/mean(ISI) of that neuron's ISIs inside the window (population std, ddof = 0)",
            "silent_fraction": "fraction of the 4000 neurons without a spike in the window",
            "fano_10ms": "var/mean (ddof = 0) of the population spike counts in consecutive 10-ms bins covering the window",
            "summary": "mean and sample std (ddof = 1) over the seeds",
            "per_seed": "each seed calls brian2.seed(seed) before building the network; n_neurons_cv = neurons entering cv_isi",
        },
        "generator": "gen_brian2_cuba.py",
        "versions": {
            "brian2": brian2.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "codegen_target": args.target,
        "dt_ms": DT_MS,
        "duration_ms": DURATION_MS,
        "seeds": seeds,
        "summary": summary,
        "per_seed": per_seed,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as fh:
        json.dump(out, fh, indent=1)
    for w in WINDOWS:
        print(w, ", ".join("%s %.4g +- %.2g" % (k, v["mean"], v["std"]) for k, v in summary[w].items()))
    print("wrote", args.output)


if __name__ == "__main__":
    sys.exit(main())
