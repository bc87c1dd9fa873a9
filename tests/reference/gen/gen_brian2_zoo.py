#!/usr/bin/env python3
"""Regenerate brian2_zoo.json: Brian2 runs of the Qif, ResonateFire, HodgkinHuxley and
TraubMiles examples (graphs/models/qif.ron, resonate_fire.ron, hodgkin_huxley.ron).

Brian2 (numpy target, float64). The committed file was made with Brian2 2.11.0 and numpy 2.3;
the versions are recorded in the output. Every variable is dimensionless here and holds the
number in snnsim's units (mV, ms, nA, nS, pF), with time entering as t/ms, so the two
simulators round the same numbers and differ only in operation order.

Each case: the parameters, the input (a SpikeGeneratorGroup onto the synaptic variable through
`on_pre`, or a constant current from `start_ms`), the spike times (ms, start of the step) and a
trace of the state sampled every `every_ms` in Brian2's 'start' slot (before the step's update).
Input spikes are placed at steps n with n + 1 not a multiple of the trace's period, so no
sample falls on a step whose delivered input Brian2 has already added (its 'synapses' slot
runs after the step) and snnsim has not (it adds delivered input in the next update).

Usage: gen_brian2_zoo.py [OUTPUT_JSON]   (default: ./out/brian2_zoo.json)
"""

import json
import os
import platform
import sys

import brian2
import numpy as np
from brian2 import (
    Network,
    NeuronGroup,
    SpikeGeneratorGroup,
    SpikeMonitor,
    StateMonitor,
    Synapses,
    defaultclock,
    ms,
    prefs,
)

prefs.codegen.target = "numpy"
prefs.core.default_float_dtype = np.float64


def ms_list(q):
    return [round(float(x), 9) for x in np.asarray(q / ms)]


def run_case(eqs, params, dt_ms, duration_ms, threshold, reset, refractory, method, init,
             record, every_ms, inputs=(), dc=None, regularly=None):
    """One neuron; `inputs` = [(variable, weight, times_ms)], `dc` = (amplitude, start_ms)."""
    defaultclock.dt = dt_ms * ms
    ns = dict(params)
    eqs = eqs + "\nI_ext : 1\n"
    kwargs = {}
    if refractory is not None:
        kwargs["refractory"] = refractory
    if reset is not None:
        kwargs["reset"] = reset
    if method is not None:
        kwargs["method"] = method
    G = NeuronGroup(1, eqs, threshold=threshold, namespace=ns, **kwargs)
    if regularly is not None:
        G.run_regularly(regularly, when="groups")
    for k, v in init.items():
        setattr(G, k, v)
    objs = [G]
    for n, (var, w, times) in enumerate(inputs):
        src = SpikeGeneratorGroup(1, np.zeros(len(times), dtype=int), np.array(times) * ms)
        S = Synapses(src, G, on_pre=f"{var} += {w!r}")
        S.connect()
        objs += [src, S]
    sm = SpikeMonitor(G)
    st = StateMonitor(G, record, record=0, dt=every_ms * ms)
    objs += [sm, st]
    net = Network(*objs)
    if dc is None:
        net.run(duration_ms * ms)
    else:
        # The constant current from start_ms on (snnsim's Dc stimulus): set between two runs.
        if dc[1] > 0:
            net.run(dc[1] * ms)
        G.I_ext = dc[0]
        net.run((duration_ms - dc[1]) * ms)
    trace = {"t_ms": ms_list(st.t)}
    for var in record:
        trace[var] = [float(x) for x in getattr(st, var)[0]]
    return {
        "params": params,
        "inputs": [{"variable": v, "weight": w, "times_ms": list(t)} for v, w, t in inputs],
        "dc": None if dc is None else {"amplitude": dc[0], "start_ms": dc[1]},
        "spike_times_ms": ms_list(sm.t),
        "n_spikes": int(sm.num_spikes),
        "trace": trace,
    }


# ---------------------------------------------------------------------------------------
# Qif: tau_m dv/dt = k (v - v_rest)(v - v_c) + R (I_e + I_i + I_bias + I_ext), Euler
# ---------------------------------------------------------------------------------------

QIF_EQS = """
dv/dt = (k*(v - v_rest)*(v - v_c) + R*(I_e + I_i + I_bias + I_ext))/(tau_m*ms) : 1 (unless refractory)
dI_e/dt = -I_e/(tau_e*ms) : 1
dI_i/dt = -I_i/(tau_i*ms) : 1
"""
QIF = dict(tau_m=10.0, v_rest=-65.0, v_c=-50.0, k=0.04, v_peak=0.0, v_reset=-70.0,
           tau_e=5.0, tau_i=10.0, R=1.0, I_bias=0.0)


def qif():
    dt, dur = 0.1, 300.0
    cases = {}
    common = dict(threshold="v > v_peak", reset="v = v_reset", method="euler",
                  init={"v": -65.0}, record=["v", "I_e", "I_i"], every_ms=1.0)
    cases["tonic"] = run_case(QIF_EQS, QIF, dt, dur, refractory=1.0 * ms, dc=(10.0, 0.0), **common)
    cases["driven"] = run_case(
        QIF_EQS, QIF, dt, dur, refractory=None,
        inputs=[("I_e", 10.0, [10.3, 20.3, 22.3, 24.3, 26.3, 60.3, 62.3, 64.3, 66.3, 68.3, 70.3, 72.3]),
                ("I_i", -10.0, [40.3, 120.3])],
        **common)
    return {"dt_ms": dt, "duration_ms": dur, "method": "euler", "equations": QIF_EQS,
            "threshold": "v > v_peak", "reset": "v = v_reset", "cases": cases}


# ---------------------------------------------------------------------------------------
# ResonateFire: dz/dt = (b + i w) z + I, a pulse adds to x, spike when y > a_th
# ---------------------------------------------------------------------------------------

RF_EQS = """
x : 1
y : 1
"""


def rf_propagator(b, w, h):
    """The exact one-step map of dz/dt = (b + i w) z + I with I constant over the step, from
    the exponential of the augmented matrix [[b, -w, 1], [w, b, 0], [0, 0, 0]]·h computed by
    eigendecomposition (Brian2's 'exact' updater refuses a system with complex eigenvalues,
    and numpy has no expm): x' = P00 x + P01 y + C0 I, y' = P10 x + P11 y + C1 I."""
    a = np.array([[b, -w, 1.0], [w, b, 0.0], [0.0, 0.0, 0.0]]) * h
    lam, vec = np.linalg.eig(a)
    e = (vec @ np.diag(np.exp(lam)) @ np.linalg.inv(vec)).real
    return dict(P00=e[0, 0], P01=e[0, 1], P10=e[1, 0], P11=e[1, 1], C0=e[0, 2], C1=e[1, 2])


RF_CODE = """
I_now = I_bias + I_ext
x_new = P00*x + P01*y + C0*I_now
y = P10*x + P11*y + C1*I_now
x = x_new
"""


def resonate_fire():
    dt, dur = 0.1, 200.0
    base = dict(b=-0.02, w=2 * np.pi * 0.04, a_th=1.0, x_reset=0.0, y_reset=0.0, I_bias=0.0)
    common = dict(threshold="y > a_th", reset="x = x_reset; y = y_reset", refractory=None,
                  method=None, init={"x": 0.0, "y": 0.0}, record=["x", "y"], every_ms=1.0,
                  regularly=RF_CODE)
    cases = {}
    for name, p, inputs, dc in (
        ("resonant", base, [("x", 0.8, [10.3, 35.3])], None),
        ("off_resonance", base, [("x", 0.8, [10.3, 22.3])], None),
        ("rebound", base, [("x", -1.5, [10.3])], None),
        ("dc", dict(base, b=-0.1), [], (0.3, 5.0)),
    ):
        params = dict(p, **rf_propagator(p["b"], p["w"], dt))
        cases[name] = run_case(RF_EQS, params, dt, dur, inputs=inputs, dc=dc, **common)
    return {"dt_ms": dt, "duration_ms": dur,
            "method": "exact propagator (eigendecomposition) as run_regularly code, 'groups' slot",
            "code": RF_CODE, "threshold": "y > a_th", "reset": "x = x_reset; y = y_reset",
            "cases": cases}


# ---------------------------------------------------------------------------------------
# Hodgkin-Huxley: squid (1952) and Traub-Miles (COBAHH), exponential Euler
# ---------------------------------------------------------------------------------------

HH_MEMBRANE = """
dv/dt = (gl*(El - v) + ge*(Ee - v) + gi*(Ei - v) - g_na*(m*m*m)*h*(v - ENa) - g_k*(n*n*n*n)*(v - EK)
         + 1000*(I_bias + I_ext))/(C*ms) : 1
dm/dt = (alpha_m*(1 - m) - beta_m*m)/ms : 1
dn/dt = (alpha_n*(1 - n) - beta_n*n)/ms : 1
dh/dt = (alpha_h*(1 - h) - beta_h*h)/ms : 1
dge/dt = -ge/(tau_e*ms) : 1
dgi/dt = -gi/(tau_i*ms) : 1
"""
SQUID_RATES = """
alpha_m = 1.0/exprel(-(v + 40)/10) : 1
beta_m = 4*exp(-(v + 65)/18) : 1
alpha_h = 0.07*exp(-(v + 65)/20) : 1
beta_h = 1/(1 + exp(-(v + 35)/10)) : 1
alpha_n = 0.1/exprel(-(v + 55)/10) : 1
beta_n = 0.125*exp(-(v + 65)/80) : 1
"""
TM_RATES = """
alpha_m = 0.32*4/exprel((13 - v + VT)/4) : 1
beta_m = 0.28*5/exprel((v - VT - 40)/5) : 1
alpha_h = 0.128*exp((17 - v + VT)/18) : 1
beta_h = 4/(1 + exp((40 - v + VT)/5)) : 1
alpha_n = 0.032*5/exprel((15 - v + VT)/5) : 1
beta_n = 0.5*exp((10 - v + VT)/40) : 1
"""
SQUID = dict(C=200.0, g_na=24000.0, g_k=7200.0, gl=60.0, ENa=50.0, EK=-77.0, El=-54.387,
             VT=-63.0, Ee=0.0, Ei=-80.0, tau_e=5.0, tau_i=10.0, v_th=-20.0, I_bias=0.0)
TM = dict(SQUID, g_na=20000.0, g_k=6000.0, gl=10.0, EK=-90.0, El=-60.0)


def steady(rates, p, v):
    """Gates at their steady state at v, from Brian2's own rate expressions."""
    env = {"exp": np.exp, "exprel": lambda z: 1.0 if z == 0 else np.expm1(z) / z, "v": v,
           "VT": p["VT"]}
    r = {}
    for line in rates.strip().split("\n"):
        name, expr = line.split("=", 1)
        r[name.strip()] = eval(expr.split(":")[0], env)
    return {g: r[f"alpha_{g}"] / (r[f"alpha_{g}"] + r[f"beta_{g}"]) for g in "mhn"}


def hodgkin_huxley():
    dt, dur = 0.05, 100.0
    out = {}
    for name, rates, p, dc, inputs in (
        ("squid", SQUID_RATES, SQUID, (2.0, 10.0), []),
        ("traub_miles", TM_RATES, TM, (0.5, 10.0), []),
        ("traub_miles_synaptic", TM_RATES, TM, None,
         [("ge", 30.0, [10.35, 12.35, 14.35, 16.35, 18.35, 50.35, 51.35]), ("gi", 67.0, [30.35])]),
    ):
        init = {"v": p["El"], **steady(rates, p, p["El"]), "ge": 0.0, "gi": 0.0}
        out[name] = run_case(HH_MEMBRANE + rates, p, dt, dur, threshold="v > v_th",
                             reset=None, refractory="v > v_th", method="exponential_euler",
                             init=init, record=["v", "m", "h", "n", "ge", "gi"], every_ms=0.5,
                             inputs=inputs, dc=dc)
        out[name]["init"] = init
    return {"dt_ms": dt, "duration_ms": dur, "method": "exponential_euler",
            "equations": {"membrane": HH_MEMBRANE, "squid": SQUID_RATES, "traub_miles": TM_RATES},
            "threshold": "v > v_th", "refractory": "v > v_th", "cases": out}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "out", "brian2_zoo.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    data = {
        "schema": {
            "description": "Brian2 single-neuron runs of the Qif, ResonateFire, HodgkinHuxley and TraubMiles examples",
            "sections": ["qif", "resonate_fire", "hodgkin_huxley"],
            "cases": "sections.<name>.cases.<population of the example>: params (Brian2 namespace, snnsim units), inputs (on_pre increments: variable, weight, times_ms), dc (constant current from start_ms, set between two runs), spike_times_ms (start of the step of the crossing), n_spikes, trace (t_ms and each variable, sampled in the 'start' slot every every_ms)",
            "units": "dimensionless numbers in snnsim's units: mV, ms, nA, nS, pF; time enters the equations as t/ms",
        },
        "generator": "gen_brian2_zoo.py",
        "versions": {"brian2": brian2.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "codegen_target": prefs.codegen.target,
        "qif": qif(),
        "resonate_fire": resonate_fire(),
        "hodgkin_huxley": hodgkin_huxley(),
    }
    with open(path, "w") as fh:
        json.dump(data, fh, indent=1)
    for sec in ("qif", "resonate_fire", "hodgkin_huxley"):
        print(sec, {k: c["n_spikes"] for k, c in data[sec]["cases"].items()},
              {k: c["spike_times_ms"][:6] for k, c in data[sec]["cases"].items()})
    print("wrote", path)


if __name__ == "__main__":
    main()
