#!/usr/bin/env python3
"""Regenerate brian2_single_neuron.json (Brian2, numpy target, float64, dt = 0.1 ms).

Sections:
  lif_constant_current  LIF with constant current, method='exact', 5 currents, 1 s
  lif_exp_synapse       LIF + exponential synaptic current, one input synapse, 200 ms
  izhikevich            Izhikevich (2003) RS/IB/CH/FS: Brian2 'euler' at 0.1 ms, and
                        his published half-step scheme at 1 ms as run_regularly code
  adex                  AdEx (Brette & Gerstner 2005) and Naud et al. (2008) tonic set,
                        method='euler', 500 ms

``brian2_generated_update`` is taken from the state updater's code object
(``group.state_updater.codeobj.code.run``): the lines of the 'run' block of
Brian2's numpy template, without imports, comments and ``_vectorisation_idx``.
Brian2 emits the lines that load variables in set-iteration order, which depends
on Python's string hashing; this script therefore re-runs itself with
PYTHONHASHSEED=0 (unless PYTHONHASHSEED is already set) so that its own output is
reproducible. Those load lines are the only text that depends on it.

Each ``check`` is a plain-Python re-implementation replayed against Brian2's
output (see the 'check' entries).

Usage: gen_brian2_single.py [OUTPUT_JSON]   (default: ./out/brian2_single_neuron.json)
"""

import os
import sys

if "PYTHONHASHSEED" not in os.environ:
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import gc  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402

import brian2  # noqa: E402
import numpy as np  # noqa: E402
from brian2 import (  # noqa: E402
    Network,
    NeuronGroup,
    SpikeGeneratorGroup,
    SpikeMonitor,
    StateMonitor,
    Synapses,
    amp,
    defaultclock,
    mV,
    ms,
    nA,
    nS,
    pF,
    prefs,
    second,
)

prefs.codegen.target = "numpy"
prefs.core.default_float_dtype = np.float64
DT_MS = 0.1
DT = DT_MS * ms
defaultclock.dt = DT

SCHEDULING = (
    "Brian2 per time step t_n = n*dt runs, in order: 'start' slot (StateMonitor recording, run_regularly), "
    "'groups' slot (state update t_n -> t_n + dt), 'thresholds' (threshold test on the UPDATED value; a spike is "
    "recorded with time t_n, i.e. the START of the step in which the crossing happened), 'synapses' (on_pre effects "
    "of spikes emitted at t_n are applied; a target's state update sees them from step n+1 on), 'resets'. "
    "Refractoriness: at the threshold slot not_refractory = (timestep(t - lastspike) >= timestep(refractory)); on a "
    "spike lastspike = t_n and not_refractory = False; '(unless refractory)' variables have zero derivative while "
    "not_refractory is False, and a refractory neuron cannot spike."
)


def ms_list(q):
    """Times in ms, rounded to remove the float noise of k*dt (spike times are multiples of dt)."""
    return [round(float(x), 9) for x in np.asarray(q / ms)]


def generated_update(group):
    """The executed numpy code of a group's state updater, one statement a line."""
    code = group.state_updater.codeobj.code.run
    lines = []
    for line in code.split("\n"):
        s = line.strip()
        if not s or s.startswith("#") or s.startswith("import ") or s.startswith("from "):
            continue
        if s.startswith("_vectorisation_idx"):
            continue
        lines.append(s)
    return lines


# ---------------------------------------------------------------------------
# (a) LIF with constant current
# ---------------------------------------------------------------------------

LIF_EQS = "dv/dt = (-(v - v_rest) + R*I)/tau_m : 1 (unless refractory)\nI : 1"
CURRENTS = [1.05, 1.2, 1.5, 2.0, 3.0]


def lif_constant_current():
    tau_m = 20 * ms
    R = 1.0
    v_rest = 0.0
    v_th = 1.0
    t_ref_ms = 2.0
    duration_ms = 1000.0
    ns = {"tau_m": tau_m, "R": R, "v_rest": v_rest}
    G = NeuronGroup(
        len(CURRENTS),
        LIF_EQS,
        threshold="v > 1.0",
        reset="v = 0.0",
        refractory=2 * ms,
        method="exact",
        namespace=ns,
        name="neurongroup",
    )
    G.v = 0.0
    G.I = CURRENTS
    M = SpikeMonitor(G)
    net = Network(G, M)
    net.run(duration_ms * ms)
    trains = M.spike_trains()
    n_ref = int(round(t_ref_ms / DT_MS))
    cases = []
    checks = []
    for i, I in enumerate(CURRENTS):
        st = ms_list(trains[i])
        steps = [int(round(t / DT_MS)) for t in st]
        isis = [round(b - a, 9) for a, b in zip(st[:-1], st[1:])]
        t_cross = 20.0 * math.log(R * I / (R * I - v_th))
        rate_cont = 1000.0 / (t_ref_ms + t_cross)
        k = 1
        while not (R * I * (1.0 - math.exp(-k * DT_MS / 20.0)) > v_th):
            k += 1
        isi_steps = n_ref + k - 1
        cases.append(
            {
                "I": I,
                "spike_times_ms": st,
                "n_spikes": len(st),
                "rate_hz_measured": len(st) / (duration_ms / 1000.0),
                "rate_hz_from_mean_isi": 1000.0 / ((st[-1] - st[0]) / (len(st) - 1)),  # 1 / mean ISI
                "analytic": {
                    "t_cross_ms": t_cross,
                    "rate_hz_continuous": rate_cont,
                    "first_spike_ms_discrete_prediction": (k - 1) * DT_MS,
                    "isi_ms_discrete_prediction": isi_steps * DT_MS,
                    "isi_steps_discrete_prediction": isi_steps,
                },
                "measured_isis_ms_unique": sorted(set(isis)),
            }
        )
        ok = steps[0] == k - 1 and all(b - a == isi_steps for a, b in zip(steps[:-1], steps[1:]))
        checks.append(
            {
                "I": I,
                "matches_discrete_prediction": ok,
                "rate_measured": len(st) / (duration_ms / 1000.0),
                "rate_continuous": rate_cont,
            }
        )
    return {
        "description": "current-based LIF driven by constant current, exact (linear) integration",
        "equations": LIF_EQS,
        "threshold": "v > 1.0",
        "reset": "v = 0.0",
        "refractory": "2*ms",
        "method": "exact",
        "dt_ms": DT_MS,
        "duration_ms": duration_ms,
        "params": {
            "tau_m_ms": 20.0,
            "R": R,
            "v_rest": v_rest,
            "v_th": v_th,
            "v_reset": 0.0,
            "refractory_ms": t_ref_ms,
            "v_init": 0.0,
        },
        "brian2_generated_update": generated_update(G),
        "analytic_formula": {
            "t_cross": "tau_m * ln(R*I / (R*I - v_th))   (from v_reset = v_rest = 0)",
            "rate_continuous": "1 / (t_ref + t_cross)",
            "discrete_grid": "exact update v_{n+1} = v_inf + (v_n - v_inf) * exp(-dt/tau_m), v_inf = R*I. With Brian2's scheduling: after a spike recorded at step s the neuron is refractory for steps s+1..s+n_ref-1 (n_ref = t_ref/dt = 20, v held at v_reset, not integrated); its first integrated step is s+n_ref, so the next spike is at step s + n_ref + k - 1 where k = min{k: v_inf*(1-exp(-k dt/tau_m)) > v_th}. The first spike from v=0 at t=0 is at step k-1. The 'measured' ISIs must equal isi_ms_discrete_prediction.",
        },
        "cases": cases,
        "check": checks,
    }


# ---------------------------------------------------------------------------
# (b) LIF with an exponential synaptic current
# ---------------------------------------------------------------------------

SYN_EQS = "dv/dt = (-(v - v_rest) + R*I_syn)/tau_m : 1 (unless refractory)\ndI_syn/dt = -I_syn/tau_syn : 1"
INPUT_SPIKES_MS = (
    [5.0, 10.0, 12.0, 14.0, 15.0, 16.0]
    + [30.0 + i for i in range(7)]
    + [60.0 + 1.5 * i for i in range(8)]
    + [100.0 + 0.5 * i for i in range(9)]
    + [150.0, 175.0, 176.0]
)


def replay_exp_synapse(p, n_steps, input_steps):
    """Plain-Python replay of the documented order with the exact propagator."""
    dt, tm, ts = DT_MS, p["tau_m_ms"], p["tau_syn_ms"]
    R, w, v_th, v_reset, v_rest = p["R"], p["w"], p["v_th"], p["v_reset"], p["v_rest"]
    n_ref = int(round(p["refractory_ms"] / dt))
    em = math.exp(-dt / tm)
    es = math.exp(-dt / ts)
    coef = R * ts / (ts - tm) * (es - em)
    v, I = p["v_init"], p["I_syn_init"]
    last = None
    vs, Is, spikes = [], [], []
    inputs = set(input_steps)
    for n in range(n_steps):
        vs.append(v)  # 'start' slot
        Is.append(I)
        refractory = last is not None and n - last < n_ref
        I_new = es * I
        if not refractory:
            v = v_rest + (v - v_rest) * em + coef * I
        I = I_new
        if not refractory and v > v_th:  # 'thresholds'
            spikes.append(n)
            last = n
        if n in inputs:  # 'synapses'
            I += w
        if spikes and spikes[-1] == n:  # 'resets'
            v = v_reset
    return vs, Is, spikes


def lif_exp_synapse():
    tau_m = 20 * ms
    tau_syn = 5 * ms
    R = 1.0
    v_rest = 0.0
    w = 1.5
    duration_ms = 200.0
    ns = {"tau_m": tau_m, "tau_syn": tau_syn, "R": R, "v_rest": v_rest, "w": w}
    G = NeuronGroup(
        1,
        SYN_EQS,
        threshold="v > 1.0",
        reset="v = 0.0",
        refractory=2 * ms,
        method="exact",
        namespace=ns,
        name="neurongroup",
    )
    G.v = 0.0
    G.I_syn = 0.0
    inp = SpikeGeneratorGroup(1, np.zeros(len(INPUT_SPIKES_MS), dtype=int), np.array(INPUT_SPIKES_MS) * ms)
    S = Synapses(inp, G, on_pre="I_syn += w", namespace=ns)
    S.connect(i=0, j=0)
    M = SpikeMonitor(G)
    SM = StateMonitor(G, ["v", "I_syn"], record=0)  # default when='start'
    net = Network(G, inp, S, M, SM)
    net.run(duration_ms * ms)

    t_dense = ms_list(SM.t)
    v_dense = [float(x) for x in SM.v[0]]
    I_dense = [float(x) for x in SM.I_syn[0]]
    out_spikes = ms_list(M.t)
    step = int(round(1.0 / DT_MS))

    params = {
        "tau_m_ms": 20.0,
        "tau_syn_ms": 5.0,
        "R": R,
        "v_rest": v_rest,
        "v_th": 1.0,
        "v_reset": 0.0,
        "refractory_ms": 2.0,
        "w": w,
        "v_init": 0.0,
        "I_syn_init": 0.0,
    }
    n_steps = len(t_dense)
    vs, _, sp = replay_exp_synapse(params, n_steps, [int(round(t / DT_MS)) for t in INPUT_SPIKES_MS])
    replay_spikes = [round(s * DT_MS, 9) for s in sp]
    return {
        "description": "LIF with exponentially decaying synaptic current, one input synapse of weight w",
        "equations": SYN_EQS,
        "threshold": "v > 1.0",
        "reset": "v = 0.0",
        "refractory": "2*ms",
        "synapse_on_pre": "I_syn += w",
        "synaptic_delay_ms": 0.0,
        "method": "exact",
        "dt_ms": DT_MS,
        "duration_ms": duration_ms,
        "brian2_generated_update": generated_update(G),
        "params": params,
        "input_spike_times_ms": INPUT_SPIKES_MS,
        "timing_note": "An input spike at t_in (a SpikeGeneratorGroup spike) increments I_syn in the 'synapses' slot of step t_in, after that step's state update; v first feels it in the update t_in -> t_in+dt. I_syn is not refractory (it keeps decaying and accumulating during refractoriness).",
        "output_spike_times_ms": out_spikes,
        "trace_1ms": {
            "note": "values at t = 0,1,...,199 ms, recorded in the 'start' slot of that step (i.e. after the previous step's reset and synaptic increments, before this step's update)",
            "t_ms": t_dense[::step],
            "v": v_dense[::step],
            "I_syn": I_dense[::step],
        },
        "trace_dense": {
            "note": "same, every dt = 0.1 ms (%d samples)" % n_steps,
            "t_ms": t_dense,
            "v": v_dense,
            "I_syn": I_dense,
        },
        "check": {
            "description": "plain-Python replay of the documented update order (exact propagator)",
            "spike_times_identical": replay_spikes == out_spikes,
            "max_abs_v_diff_dense": max(abs(a - b) for a, b in zip(vs, v_dense)),
        },
    }


# ---------------------------------------------------------------------------
# (c) Izhikevich
# ---------------------------------------------------------------------------

IZH_PARAMS = {
    "RS": {"a": 0.02, "b": 0.2, "c": -65.0, "d": 8.0},
    "IB": {"a": 0.02, "b": 0.2, "c": -55.0, "d": 4.0},
    "CH": {"a": 0.02, "b": 0.2, "c": -50.0, "d": 2.0},
    "FS": {"a": 0.1, "b": 0.2, "c": -65.0, "d": 2.0},
}
IZH_TYPES = list(IZH_PARAMS)
IZH_I = 10.0
IZH_EULER_EQS = (
    "dv/dt = (0.04*v**2 + 5*v + 140 - u + I)/ms : 1\n"
    "du/dt = a*(b*v - u)/ms : 1\n"
    "a : 1\nb : 1\nc : 1\nd : 1\nI : 1"
)
IZH_HALF_EQS = "v : 1\nu : 1\na : 1\nb : 1\nc : 1\nd : 1\nI : 1"
IZH_HALF_CODE = (
    "v = v + 0.5*(0.04*v**2 + 5*v + 140 - u + I)\n"
    "v = v + 0.5*(0.04*v**2 + 5*v + 140 - u + I)\n"
    "u = u + a*(b*v - u)"
)


def izh_group(eqs, method, dt, name):
    kw = {"method": method} if method else {}
    if dt is not None:
        kw["dt"] = dt
    G = NeuronGroup(len(IZH_TYPES), eqs, threshold="v >= 30", reset="v = c; u = u + d", name=name, namespace={}, **kw)
    for var in "abcd":
        setattr(G, var, [IZH_PARAMS[t][var] for t in IZH_TYPES])
    G.I = IZH_I
    G.v = -65.0
    G.u = "b*v"
    return G


def replay_izh_euler(p, n_steps):
    """Forward Euler in the operation order of Brian2's generated code."""
    dtms = (DT_MS * 0.001) / 0.001  # _lio_1 = dt / ms, both in seconds
    a, b, c, d = p["a"], p["b"], p["c"], p["d"]
    I = IZH_I
    v = -65.0
    u = b * v
    spikes = []
    for n in range(n_steps):
        _u = (dtms * (a * ((b * v) - u))) + u
        _v = (dtms * ((140.0 + ((I + (0.04 * (v**2))) + (5.0 * v))) - u)) + v
        u, v = _u, _v
        if v >= 30:
            spikes.append(n)
            v = c
            u = u + d
    return spikes


def izhikevich():
    # Group names are given explicitly (they appear in brian2_generated_update) so
    # that the text does not depend on which earlier Brian2 objects the garbage
    # collector has already freed; they are the names of the committed file.
    duration_ms = 1000.0
    # euler, dt = 0.1 ms
    Ge = izh_group(IZH_EULER_EQS, "euler", None, "neurongroup_1")
    Me = SpikeMonitor(Ge)
    net = Network(Ge, Me)
    net.run(duration_ms * ms)
    tr_e = Me.spike_trains()
    euler_spikes = {t: ms_list(tr_e[i]) for i, t in enumerate(IZH_TYPES)}
    euler_code = generated_update(Ge)

    # half-step scheme, dt = 1 ms, as run_regularly code in the 'groups' slot
    Gh = izh_group(IZH_HALF_EQS, None, 1 * ms, "neurongroup")
    Gh.run_regularly(IZH_HALF_CODE, dt=1 * ms, when="groups")
    Mh = SpikeMonitor(Gh)
    net2 = Network(Gh, Mh)
    net2.run(duration_ms * ms)
    tr_h = Mh.spike_trains()
    half_spikes = {t: ms_list(tr_h[i]) for i, t in enumerate(IZH_TYPES)}

    n_steps = int(round(duration_ms / DT_MS))
    per_type = {}
    for t in IZH_TYPES:
        rep = [round(s * DT_MS, 9) for s in replay_izh_euler(IZH_PARAMS[t], n_steps)]
        b2 = euler_spikes[t]
        if len(rep) == len(b2):
            mx = max((abs(x - y) for x, y in zip(rep, b2)), default=0.0)
        else:
            mx = None
        per_type[t] = {
            "n_spikes_replay": len(rep),
            "n_spikes_brian2": len(b2),
            "max_abs_spike_time_diff_ms": mx,
        }

    return {
        "description": "Izhikevich (2003) simple model, four standard parameter sets, constant I",
        "reference": "E. M. Izhikevich, Simple model of spiking neurons, IEEE Trans. Neural Networks 14(6):1569-1572, 2003",
        "params": IZH_PARAMS,
        "I": IZH_I,
        "duration_ms": duration_ms,
        "initial": {"v": -65.0, "u": "b*v"},
        "threshold": "v >= 30",
        "reset": "v = c; u = u + d",
        "euler": {
            "equations": IZH_EULER_EQS,
            "method": "euler",
            "dt_ms": DT_MS,
            "update": "forward Euler, both variables from the old values: v' = v + dt*(0.04 v^2 + 5 v + 140 - u + I); u' = u + dt*a*(b v - u); dt in ms (0.1)",
            "brian2_generated_update": euler_code,
            "rounding_sensitivity": "FS spiking is sensitive to the floating-point evaluation order: the same Euler scheme written as v + 0.1*(0.04*v*v + 5*v + 140 - u + I) diverges from Brian2 by one dt at the 55th FS spike (~414 ms) and then drifts. Following brian2_generated_update's operation order reproduces Brian2 exactly (see check).",
            "spike_times_ms": euler_spikes,
            "n_spikes": {t: len(v) for t, v in euler_spikes.items()},
            "check": {
                "description": "plain-Python float64 forward Euler replay using the operation order of brian2_generated_update",
                "per_type": per_type,
            },
        },
        "half_step": {
            "equations": IZH_HALF_EQS,
            "code_each_step": IZH_HALF_CODE,
            "dt_ms": 1.0,
            "update": "Izhikevich's published scheme: two half-steps of 0.5 ms for v with u fixed, then u with a full 1 ms step using the NEW v; then threshold/reset. Run in Brian2 as run_regularly code in the 'groups' slot, so spike time = start of the 1-ms step whose update crossed 30 (one ms earlier than the loop index 't' at which his MATLAB code reports it).",
            "spike_times_ms": half_spikes,
            "n_spikes": {t: len(v) for t, v in half_spikes.items()},
        },
    }


# ---------------------------------------------------------------------------
# (d) AdEx
# ---------------------------------------------------------------------------

ADEX_EQS = (
    "dvm/dt = (gL*(EL - vm) + gL*DeltaT*exp((vm - VT)/DeltaT) + I - w)/C : volt\n"
    "dw/dt = (a*(vm - EL) - w)/tauw : amp\n"
    "I : amp"
)

ADEX_CASES = {
    "brette_gerstner_2005": {
        "C_pF": 281.0,
        "gL_nS": 30.0,
        "EL_mV": -70.6,
        "VT_mV": -50.4,
        "DeltaT_mV": 2.0,
        "tauw_ms": 144.0,
        "a_nS": 4.0,
        "b_nA": 0.0805,
        "Vr_mV": -70.6,
        "I_nA": 1.0,
        "source": "Brian2 example examples/frompapers/Brette_Gerstner_2005.py (regular spiking, as in the paper); Vcut = VT + 5*DeltaT",
    },
    "naud_2008_tonic": {
        "C_pF": 200.0,
        "gL_nS": 10.0,
        "EL_mV": -70.0,
        "VT_mV": -50.0,
        "DeltaT_mV": 2.0,
        "tauw_ms": 30.0,
        "a_nS": 2.0,
        "b_nA": 0.0,
        "Vr_mV": -58.0,
        "I_nA": 0.5,
        "source": "Naud et al. 2008, tonic spiking parameter set (extra case, same equations); Vcut = VT + 5*DeltaT",
    },
}


def adex():
    duration_ms = 500.0
    cases = {}
    for idx, (name, p) in enumerate(ADEX_CASES.items()):
        ns = {
            "C": p["C_pF"] * pF,
            "gL": p["gL_nS"] * nS,
            "EL": p["EL_mV"] * mV,
            "VT": p["VT_mV"] * mV,
            "DeltaT": p["DeltaT_mV"] * mV,
            "tauw": p["tauw_ms"] * ms,
            "a": p["a_nS"] * nS,
            "b": p["b_nA"] * nA,
            "Vr": p["Vr_mV"] * mV,
        }
        ns["Vcut"] = ns["VT"] + 5 * ns["DeltaT"]
        G = NeuronGroup(
            1,
            ADEX_EQS,
            threshold="vm > Vcut",
            reset="vm = Vr; w += b",
            method="euler",
            namespace=ns,
            name="neurongroup" if idx == 0 else "neurongroup_%d" % idx,
        )
        G.vm = ns["EL"]
        G.w = 0 * amp
        G.I = p["I_nA"] * nA
        M = SpikeMonitor(G)
        SM = StateMonitor(G, ["vm", "w"], record=0, dt=1 * ms)
        net = Network(G, M, SM)
        net.run(duration_ms * ms)
        st = ms_list(M.t)
        params = {k: v for k, v in p.items() if k not in ("I_nA", "source")}
        params["Vcut_mV"] = round(float(ns["Vcut"] / mV), 9)
        params["I_nA"] = p["I_nA"]
        params["source"] = p["source"]
        cases[name] = {
            "params": params,
            "initial": {"vm_mV": p["EL_mV"], "w_nA": 0.0},
            "brian2_generated_update": generated_update(G),
            "stimulus": "constant I = %s nA from t = 0 for %s ms" % (p["I_nA"], duration_ms),
            "spike_times_ms": st,
            "n_spikes": len(st),
            "isis_ms": [round(b - a, 9) for a, b in zip(st[:-1], st[1:])],
            "trace_1ms": {
                "t_ms": ms_list(SM.t),
                "vm_mV": [float(x) for x in SM.vm[0] / mV],
                "w_nA": [float(x) for x in SM.w[0] / nA],
            },
        }
        del G, M, SM, net
        gc.collect()
    return {
        "description": "Adaptive exponential integrate-and-fire (Brette & Gerstner 2005), forward Euler",
        "equations": ADEX_EQS,
        "threshold": "vm > Vcut",
        "reset": "vm = Vr; w += b",
        "refractory": "none",
        "method": "euler",
        "dt_ms": DT_MS,
        "duration_ms": duration_ms,
        "update": "forward Euler in SI units (volt, amp, farad, siemens, second): vm' = vm + dt*f(vm,w); w' = w + dt*g(vm,w), both from old values",
        "cases": cases,
    }


def build():
    out = {
        "schema": {
            "description": "Brian2 single-neuron reference simulations",
            "sections": ["lif_constant_current", "lif_exp_synapse", "izhikevich", "adex"],
            "times": "all times in ms; spike times are Brian2 SpikeMonitor times (multiples of dt, start of the step in which the threshold was crossed)",
            "units": "LIF sections are dimensionless (threshold units); Izhikevich v in mV, u dimensionless, time in ms; AdEx in mV / nA",
        },
        "generator": "gen_brian2_single.py",
        "versions": {
            "brian2": brian2.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "codegen_target": prefs.codegen.target,
        "scheduling": SCHEDULING,
    }
    for name, fn in (
        ("lif_constant_current", lif_constant_current),
        ("lif_exp_synapse", lif_exp_synapse),
        ("izhikevich", izhikevich),
        ("adex", adex),
    ):
        gc.collect()
        out[name] = fn()
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "out", "brian2_single_neuron.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    data = build()
    with open(path, "w") as fh:
        json.dump(data, fh, indent=1)
    print("lif_constant_current check:", [c["matches_discrete_prediction"] for c in data["lif_constant_current"]["check"]])
    print("lif_exp_synapse check:", data["lif_exp_synapse"]["check"])
    print("izhikevich euler n_spikes:", data["izhikevich"]["euler"]["n_spikes"])
    print("izhikevich half_step n_spikes:", data["izhikevich"]["half_step"]["n_spikes"])
    print("izhikevich check:", data["izhikevich"]["euler"]["check"]["per_type"])
    print("adex n_spikes:", {k: v["n_spikes"] for k, v in data["adex"]["cases"].items()})
    print("wrote", path)


if __name__ == "__main__":
    main()
