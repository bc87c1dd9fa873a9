#!/usr/bin/env python3
"""Brian2 side of `snnsim bench` (docs/performance.md): the CUBA, COBA and COBAHH networks of
graphs/cuba*.ron, graphs/coba.ron and graphs/cobahh.ron on Brian2's cpp_standalone device.

    python brian2_bench.py --model cuba --scale 1 --T 10 --reps 3

The C++ project is generated and compiled once; its binary then runs --reps times, each run a
fresh process and a complete simulation from the same seed. For each run one JSON line:
t_sim (Brian2's own timing of the simulation phase, device._last_run_time), peak_mb (peak
resident memory of the binary, from GNU time; null without it), spikes, syn_events (spikes x
out-degree), and the load average. If Brian2 cannot be imported: one line {"error": ...} and
exit status 3.

--scale s: N = 4000 s neurons (80 % excitatory), connection probability 0.02 / s, so the
expected in-degree stays 80.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time


def give_up(message, status):
    print(json.dumps({"error": message}), flush=True)
    sys.exit(status)


try:
    import numpy as np
    import brian2 as b2
    from brian2 import ms, mV, second
except Exception as exc:  # any import failure means: not usable here
    give_up(f"brian2 not installed: {exc}", 3)


def make_network(model, scale):
    """The neuron group, the two synapse groups with their first presynaptic index, the spike
    monitor and N."""
    n = 4000 * scale
    n_exc = 3200 * scale
    p = 0.02 / scale
    if model == "cuba":
        # Brian2 examples/CUBA.py: exact integration; ge, gi in mV.
        ns = {"taum": 20 * ms, "taue": 5 * ms, "taui": 10 * ms, "Vt": -50 * mV,
              "Vr": -60 * mV, "El": -49 * mV,
              "we": 1.62 * mV, "wi": -9.0 * mV}
        eqs = """
        dv/dt  = (ge + gi - (v - El)) / taum : volt (unless refractory)
        dge/dt = -ge / taue : volt
        dgi/dt = -gi / taui : volt
        """
        group = b2.NeuronGroup(n, eqs, threshold="v > Vt", reset="v = Vr",
                               refractory=5 * ms, method="exact", namespace=ns)
        group.v = "Vr + rand() * (Vt - Vr)"
    elif model == "coba":
        # Brette et al. (2007) benchmark 1: conductances in units of the leak conductance,
        # forward Euler, background current 20 mV.
        ns = {"taum": 20 * ms, "taue": 5 * ms, "taui": 10 * ms, "Vt": -50 * mV,
              "Vr": -60 * mV, "El": -60 * mV, "Ee": 0 * mV, "Ei": -80 * mV,
              "I": 20 * mV, "we": 0.6, "wi": 6.7}
        eqs = """
        dv/dt  = (ge * (Ee - v) + gi * (Ei - v) - (v - El) + I) / taum : volt (unless refractory)
        dge/dt = -ge / taue : 1
        dgi/dt = -gi / taui : 1
        """
        group = b2.NeuronGroup(n, eqs, threshold="v > Vt", reset="v = Vr",
                               refractory=5 * ms, method="euler", namespace=ns)
        group.v = "-55 * mV + 5 * mV * randn()"
    elif model == "cobahh":
        # Brian2 examples/COBAHH.py (Brette et al. 2007 benchmark 3): Traub-Miles HH neurons,
        # exponential Euler, conductances in nS (we = 6 nS, wi = 67 nS); the rates written
        # with exprel as tests/reference/gen/gen_brian2_cobahh.py does.
        area = 20000 * b2.umetre ** 2
        ns = {"Cm": (1 * b2.ufarad * b2.cm ** -2) * area,
              "gl": (5e-5 * b2.siemens * b2.cm ** -2) * area,
              "El": -60 * mV, "EK": -90 * mV, "ENa": 50 * mV,
              "g_na": (100 * b2.msiemens * b2.cm ** -2) * area,
              "g_kd": (30 * b2.msiemens * b2.cm ** -2) * area,
              "VT": -63 * mV, "taue": 5 * ms, "taui": 10 * ms, "Ee": 0 * mV, "Ei": -80 * mV,
              "we": 6 * b2.nS, "wi": 67 * b2.nS}
        eqs = """
        dv/dt = (gl*(El-v)+ge*(Ee-v)+gi*(Ei-v)-g_na*(m*m*m)*h*(v-ENa)-g_kd*(n*n*n*n)*(v-EK))/Cm : volt
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
        group = b2.NeuronGroup(n, eqs, threshold="v > -20*mV", refractory=3 * ms,
                               method="exponential_euler", namespace=ns)
        group.v = "El + (randn() * 5 - 5) * mV"
        group.ge = "(randn() * 1.5 + 4) * 10. * nS"
        group.gi = "(randn() * 12 + 20) * 10. * nS"
    else:
        give_up(f"unknown model {model}", 2)
    exc = b2.Synapses(group[:n_exc], group, on_pre="ge += we", namespace=ns)
    inh = b2.Synapses(group[n_exc:], group, on_pre="gi += wi", namespace=ns)
    exc.connect(p=p)
    inh.connect(p=p)
    monitor = b2.SpikeMonitor(group)
    return group, [(exc, 0), (inh, n_exc)], monitor, n


def spikes_and_events(monitor, synapses, n):
    counts = np.asarray(monitor.count[:], dtype=np.int64)
    out_degree = np.zeros(n, dtype=np.int64)
    for syn, first in synapses:
        out_degree += np.bincount(np.asarray(syn.i[:], dtype=np.int64) + first, minlength=n)
    return int(counts.sum()), int(np.dot(counts, out_degree))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=["cuba", "coba", "cobahh"], default="cuba")
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--T", type=float, default=1.0, help="simulated time (s)")
    ap.add_argument("--reps", type=int, default=1, help="runs of the compiled binary")
    ap.add_argument("--threads", type=int, default=1, help="OpenMP threads")
    ap.add_argument("--seed", type=int, default=4242)
    a = ap.parse_args()

    project = tempfile.mkdtemp(prefix="snnsim-brian2-")
    try:
        b2.prefs.logging.warn_for_unused_objects = False
        b2.set_device("cpp_standalone", build_on_run=False, directory=project)
        b2.prefs.devices.cpp_standalone.openmp_threads = a.threads
        b2.defaultclock.dt = 0.1 * ms
        b2.seed(a.seed)
        group, synapses, monitor, n = make_network(a.model, a.scale)
        net = b2.Network(group, monitor, *[s for s, _ in synapses])
        net.run(a.T * second)
        t0 = time.perf_counter()
        b2.device.build(directory=project, compile=True, run=False, with_output=False)
        t_compile = time.perf_counter() - t0
        gnu_time = shutil.which("time")
        rss_file = os.path.join(project, "peak_rss.txt")
        for rep in range(a.reps):
            if gnu_time:
                b2.prefs.devices.cpp_standalone.run_cmd_unix = [
                    gnu_time, "-f", "%M", "-o", rss_file, "./main"]
            t1 = time.perf_counter()
            b2.device.run(directory=project, with_output=False)
            t_binary = time.perf_counter() - t1
            peak_mb = None
            if gnu_time and os.path.exists(rss_file):
                with open(rss_file) as f:
                    peak_mb = float(f.read().split()[-1]) / 1024.0
            spikes, events = spikes_and_events(monitor, synapses, n)
            t_sim = float(b2.device._last_run_time)
            print(json.dumps({
                "tool": "brian2", "version": b2.__version__, "target": "cpp_standalone",
                "model": a.model, "scale": a.scale, "N": n, "T": a.T, "threads": a.threads,
                "seed": a.seed, "rep": rep, "t_sim": t_sim, "t_binary": t_binary,
                "t_compile": t_compile, "peak_mb": peak_mb, "spikes": spikes,
                "rate_hz": spikes / n / a.T, "syn_events": events,
                "events_per_s": events / t_sim if t_sim > 0 else None,
                "loadavg": os.getloadavg()[0]}), flush=True)
    finally:
        shutil.rmtree(project, ignore_errors=True)


if __name__ == "__main__":
    main()
