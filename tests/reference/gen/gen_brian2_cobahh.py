#!/usr/bin/env python3
"""Brian2 COBAHH network statistics over several seeds -> brian2_cobahh_stats.json.

The network is Brian2's examples/COBAHH.py (Brette et al. 2007, benchmark 3): 4000
Hodgkin-Huxley neurons with the Traub & Miles (1991) kinetics (3200 excitatory, 800
inhibitory), area 20000 um^2, Cm = 1 uF/cm^2, gl = 5e-5 S/cm^2, El = -60 mV, EK = -90 mV,
ENa = 50 mV, g_na = 100 mS/cm^2, g_kd = 30 mS/cm^2, VT = -63 mV, exponential conductances
(taue = 5 ms, taui = 10 ms, Ee = 0 mV, Ei = -80 mV, we = 6 nS, wi = 67 nS),
Ce = Synapses(P[:3200], P).connect(p=0.02), Ci = Synapses(P[3200:], P).connect(p=0.02),
threshold v > -20 mV, refractory 3 ms, no reset, method 'exponential_euler',
dt = 0.1 ms (Brian2's default clock, which the example keeps), 1 s;
v(0) = El + (randn()*5 - 5) mV, ge(0) = (randn()*1.5 + 4)*10 nS,
gi(0) = (randn()*12 + 20)*10 nS, m = h = n = 0.
The equations are the example's with the rates of the form a*x/(exp(x/k) - 1) written
with Brian2's exprel, so the removable singularities do not give 0/0 (away from them the
example's form gives the same numbers up to rounding).
Each run calls brian2.seed(s) first (numpy's and Brian2's generators).

Statistics per seed and window ([0, 1000) ms and [200, 1000) ms; a spike at t counts in a
window when start <= t < end), as gen_brian2_cuba.py, plus the rates of the two groups:
  mean_rate_hz     total spikes / (4000 * window length)
  rate_exc_hz      spikes of neurons 0..3199 / (3200 * window length)
  rate_inh_hz      spikes of neurons 3200..3999 / (800 * window length)
  cv_isi           mean over neurons with >= 3 spikes in the window of std(ISI)/mean(ISI)
                   (population std, ddof = 0)
  silent_fraction  fraction of the 4000 neurons with no spike in the window
  fano_10ms        var/mean (ddof = 0) of the population spike counts in 10-ms bins
Summary: mean and sample std (ddof = 1) over the seeds.

Made with Brian2 2.11.0 (numpy 2.3.5, Python 3.11.7), numpy code generation target; the
versions used are recorded in the output.

Usage: gen_brian2_cobahh.py [OUTPUT_JSON] [--seeds 0,1,2,3,4] [--target numpy|cython]
(default output: ./out/brian2_cobahh_stats.json)
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
from brian2 import (
    Network,
    NeuronGroup,
    SpikeMonitor,
    Synapses,
    cm,
    defaultclock,
    msiemens,
    ms,
    mV,
    nS,
    prefs,
    siemens,
    ufarad,
    umetre,
)

BRIAN2_VERSION = "2.11.0"
N = 4000
N_E = 3200
DURATION_MS = 1000.0
DT_MS = 0.1
WINDOWS = {"full_0_1000ms": (0.0, 1000.0), "late_200_1000ms": (200.0, 1000.0)}
BIN_MS = 10.0
STATS = ("mean_rate_hz", "rate_exc_hz", "rate_inh_hz", "cv_isi", "silent_fraction", "fano_10ms")

EQS = """
dv/dt = (gl*(El-v)+ge*(Ee-v)+gi*(Ei-v)-
         g_na*(m*m*m)*h*(v-ENa)-
         g_kd*(n*n*n*n)*(v-EK))/Cm : volt
dm/dt = alpha_m*(1-m)-beta_m*m : 1
dn/dt = alpha_n*(1-n)-beta_n*n : 1
dh/dt = alpha_h*(1-h)-beta_h*h : 1
dge/dt = -ge*(1./taue) : siemens
dgi/dt = -gi*(1./taui) : siemens
alpha_m = 0.32*(mV**-1)*4*mV/exprel((13*mV-v+VT)/(4*mV))/ms : Hz
beta_m = 0.28*(mV**-1)*5*mV/exprel((v-VT-40*mV)/(5*mV))/ms : Hz
alpha_h = 0.128*exp((17*mV-v+VT)/(18*mV))/ms : Hz
beta_h = 4./(1+exp((40*mV-v+VT)/(5*mV)))/ms : Hz
alpha_n = 0.032*(mV**-1)*5*mV/exprel((15*mV-v+VT)/(5*mV))/ms : Hz
beta_n = .5*exp((10*mV-v+VT)/(40*mV))/ms : Hz
"""


def namespace():
    area = 20000 * umetre**2
    return {
        "Cm": (1 * ufarad * cm**-2) * area,
        "gl": (5e-5 * siemens * cm**-2) * area,
        "El": -60 * mV,
        "EK": -90 * mV,
        "ENa": 50 * mV,
        "g_na": (100 * msiemens * cm**-2) * area,
        "g_kd": (30 * msiemens * cm**-2) * area,
        "VT": -63 * mV,
        "taue": 5 * ms,
        "taui": 10 * ms,
        "Ee": 0 * mV,
        "Ei": -80 * mV,
        "we": 6 * nS,
        "wi": 67 * nS,
    }


def run_seed(seed):
    brian2.seed(seed)
    ns = namespace()
    P = NeuronGroup(N, model=EQS, threshold="v>-20*mV", refractory=3 * ms,
                    method="exponential_euler", namespace=ns)
    Ce = Synapses(P[:N_E], P, on_pre="ge+=we", namespace=ns)
    Ci = Synapses(P[N_E:], P, on_pre="gi+=wi", namespace=ns)
    Ce.connect(p=0.02)
    Ci.connect(p=0.02)
    P.v = "El + (randn() * 5 - 5)*mV"
    P.ge = "(randn() * 1.5 + 4) * 10.*nS"
    P.gi = "(randn() * 12 + 20) * 10.*nS"
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
    ap.add_argument("output", nargs="?", default=os.path.join(here, "out", "brian2_cobahh_stats.json"))
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--target", default="numpy", choices=["numpy", "cython"])
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    if brian2.__version__ != BRIAN2_VERSION:
        print("warning: Brian2 %s, the committed data were made with %s"
              % (brian2.__version__, BRIAN2_VERSION), file=sys.stderr)

    prefs.codegen.target = args.target
    prefs.core.default_float_dtype = np.float64
    defaultclock.dt = DT_MS * ms

    per_seed = []
    for s in seeds:
        t0 = time.time()
        steps, idx, n_syn = run_seed(s)
        entry = {"seed": s, "n_synapses": n_syn}
        for w, (a, b) in WINDOWS.items():
            entry[w] = window_stats(steps, idx, a, b, n=N, dt_ms=DT_MS, bin_ms=BIN_MS, n_exc=N_E)
        per_seed.append(entry)
        f = entry["full_0_1000ms"]
        print(
            "seed %d: %.1f s, synapses %d, rate exc %.3f inh %.3f Hz, cv %.4f silent %.4f fano %.2f"
            % (s, time.time() - t0, n_syn, f["rate_exc_hz"], f["rate_inh_hz"], f["cv_isi"],
               f["silent_fraction"], f["fano_10ms"]),
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
            "description": "Brian2 COBAHH benchmark network (examples/COBAHH.py; Brette et al. 2007, benchmark 3): spike statistics per seed and their mean and sample std over seeds",
            "network": "4000 Traub-Miles HH neurons (0..3199 excitatory, 3200..3999 inhibitory), C = 200 pF, gl = 10 nS, g_na = 20 uS, g_kd = 6 uS, El = -60 mV, EK = -90 mV, ENa = 50 mV, VT = -63 mV; dge/dt = -ge/taue, dgi/dt = -gi/taui, taue = 5 ms, taui = 10 ms, Ee = 0 mV, Ei = -80 mV; on_pre ge += 6 nS from excitatory, gi += 67 nS from inhibitory sources; each ordered pair (i, j), self-pairs included, connected with probability 0.02; no delay; threshold v > -20 mV, refractory 3 ms, no reset; method 'exponential_euler'; dt = 0.1 ms; 1 s; v(0) = El + (randn()*5 - 5) mV, ge(0) = (randn()*1.5 + 4)*10 nS, gi(0) = (randn()*12 + 20)*10 nS, m = h = n = 0",
            "scheduling": "Brian2 default: spikes are stamped with the start of the step in which the threshold was crossed; on_pre effects act from the next state update on",
            "windows": "full_0_1000ms = [0, 1000) ms, late_200_1000ms = [200, 1000) ms; a spike at t counts when start <= t < end",
            "mean_rate_hz": "total spikes in the window / (4000 * window length in s)",
            "rate_exc_hz": "spikes of neurons 0..3199 in the window / (3200 * window length in s)",
            "rate_inh_hz": "spikes of neurons 3200..3999 in the window / (800 * window length in s)",
            "cv_isi": "mean over neurons with >= 3 spikes in the window of std(ISI)/mean(ISI) of that neuron's ISIs inside the window (population std, ddof = 0)",
            "silent_fraction": "fraction of the 4000 neurons without a spike in the window",
            "fano_10ms": "var/mean (ddof = 0) of the population spike counts in consecutive 10-ms bins covering the window",
            "summary": "mean and sample std (ddof = 1) over the seeds",
            "per_seed": "each seed calls brian2.seed(seed) before building the network; n_neurons_cv = neurons entering cv_isi",
        },
        "generator": "gen_brian2_cobahh.py",
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
