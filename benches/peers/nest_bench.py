#!/usr/bin/env python3
"""NEST side of `snnsim bench` (docs/performance.md): the CUBA and COBA networks of
graphs/cuba*.ron and graphs/coba.ron on NEST, one simulation per process.

    python nest_bench.py --model cuba --scale 1 --T 10

Prints one JSON line: t_sim (wall time of nest.Run after nest.Prepare, the simulation phase),
peak_mb (peak resident memory of this process, taken before the analysis), spikes, syn_events
(spikes x out-degree), and the load average. If NEST cannot be imported: one line
{"error": ...} and exit status 3.

CUBA uses iaf_psc_exp (exact integration, exponential currents). Brian2's CUBA writes the
input as a voltage g with tau_m dv/dt = g - (v - E_L); NEST's current is I = g C_m / tau_m, so
with C_m = 250 pF and tau_m = 20 ms: we = 1.62 mV -> 20.25 pA, wi = -9 mV -> -112.5 pA.
COBA uses iaf_cond_exp (GSL RKF45; Brian2 and snnsim use forward Euler): g_L = 10 nS,
C_m = 200 pF, I_e = 200 pA (20 mV through the leak), we = 6 nS, wi = 67 nS.
Synapses are static with a delay of 0.1 ms (one step, NEST's minimum, as in snnsim's graph
files); connectivity is pairwise Bernoulli with p = 0.02 / scale, autapses allowed.
"""
import argparse
import json
import os
import resource
import sys
import time


def give_up(message, status):
    print(json.dumps({"error": message}), flush=True)
    sys.exit(status)


try:
    import numpy as np
    import nest
except Exception as exc:  # any import failure means: not usable here
    give_up(f"nest not installed: {exc}", 3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=["cuba", "coba"], default="cuba")
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--T", type=float, default=1.0, help="simulated time (s)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=4242)
    a = ap.parse_args()

    nest.set_verbosity("M_WARNING")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": 0.1, "local_num_threads": a.threads,
                          "rng_seed": a.seed})
    n, n_exc = 4000 * a.scale, 3200 * a.scale
    p = 0.02 / a.scale
    if a.model == "cuba":
        c_m, tau_m = 250.0, 20.0
        cells = nest.Create("iaf_psc_exp", n, params={
            "E_L": -49.0, "V_th": -50.0, "V_reset": -60.0, "t_ref": 5.0,
            "tau_m": tau_m, "C_m": c_m, "tau_syn_ex": 5.0, "tau_syn_in": 10.0,
            "I_e": 0.0, "V_m": nest.random.uniform(-60.0, -50.0)})
        w_exc, w_inh = 1.62 * c_m / tau_m, -9.0 * c_m / tau_m
    else:
        cells = nest.Create("iaf_cond_exp", n, params={
            "E_L": -60.0, "V_th": -50.0, "V_reset": -60.0, "t_ref": 5.0,
            "C_m": 200.0, "g_L": 10.0, "E_ex": 0.0, "E_in": -80.0,
            "tau_syn_ex": 5.0, "tau_syn_in": 10.0, "I_e": 200.0,
            "V_m": nest.random.normal(-55.0, 5.0)})
        w_exc, w_inh = 6.0, -67.0
    rule = {"rule": "pairwise_bernoulli", "p": p, "allow_autapses": True}
    nest.Connect(cells[:n_exc], cells, rule,
                 {"synapse_model": "static_synapse", "weight": w_exc, "delay": 0.1})
    nest.Connect(cells[n_exc:], cells, rule,
                 {"synapse_model": "static_synapse", "weight": w_inh, "delay": 0.1})
    recorder = nest.Create("spike_recorder")
    nest.Connect(cells, recorder)

    nest.Prepare()
    t0 = time.perf_counter()
    nest.Run(a.T * 1000.0)
    t_sim = time.perf_counter() - t0
    nest.Cleanup()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    first = cells[0].global_id
    senders = np.asarray(recorder.get("events", "senders"), dtype=np.int64) - first
    counts = np.bincount(senders, minlength=n)
    sources = np.asarray(nest.GetConnections(source=cells, target=cells).get("source"),
                         dtype=np.int64) - first
    out_degree = np.bincount(sources, minlength=n)
    spikes = int(counts.sum())
    events = int(np.dot(counts, out_degree))
    print(json.dumps({
        "tool": "nest", "version": nest.__version__,
        "neuron_model": "iaf_psc_exp" if a.model == "cuba" else "iaf_cond_exp",
        "model": a.model, "scale": a.scale, "N": n, "T": a.T, "threads": a.threads,
        "seed": a.seed, "t_sim": t_sim, "peak_mb": peak_mb, "spikes": spikes,
        "rate_hz": spikes / n / a.T, "syn_events": events,
        "events_per_s": events / t_sim if t_sim > 0 else None,
        "loadavg": os.getloadavg()[0]}), flush=True)


if __name__ == "__main__":
    main()
