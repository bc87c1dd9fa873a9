#!/usr/bin/env python3
"""Regenerate nest_iaf_psc_alpha.json: one NEST 3.10.0 `iaf_psc_alpha` neuron per scenario,
dt = 0.1 ms, float64.

Scenarios (one neuron each, NEST's defaults unless listed):
  dc_defaults     I_e = 600 pA above threshold, 100 ms
  dc_params       E_L -65, V_reset -68, V_th -50 mV, tau_m 20 ms, C_m 200 pF,
                  t_ref 2.03 ms (NEST rounds it up to 21 steps), tau_syn 3 / 6 ms,
                  I_e 600 pA, 100 ms
  spikes          I_e = 340 pA (below threshold) and three spike_generators, delay 1 ms:
                  excitatory 150 pA and 400 pA, inhibitory -300 pA, with coincident
                  times; tau_syn_ex 2 ms, tau_syn_in 5 ms; 100 ms
  singular        tau_syn_ex = tau_m = 10 ms (NEST's singular propagators), tau_syn_in
                  2 ms, spike_generator inputs, delay 1 ms, 60 ms
  poisson         four excitatory generators (36 pA) and one inhibitory (-60 pA), each a
                  Bernoulli train of 1000 Hz on the grid (numpy default_rng(20261202)),
                  written out as spike-time lists; delay 1 ms; 300 ms

Every scenario stores its parameters (NEST's names and units: mV, ms, pF, pA), its inputs
(spike times, weights and delay of each generator), the spike times of the neuron, and
V_m, I_syn_ex and I_syn_in of the multimeter at every step (times h, 2h, ..., T; a value
at t is the state after the update that ends at t).

`rules` states NEST's update of one step (models/iaf_psc_alpha.cpp, libnestutil/
iaf_propagator.cpp) and its timing; each scenario's `check` is a plain-Python replay of those
rules against NEST's output (spikes equal, largest |dV|, |dI|).

Usage: gen_nest_iaf_psc_alpha.py [OUTPUT_JSON]   (default: ./out/nest_iaf_psc_alpha.json)
"""

import json
import math
import os
import platform
import sys

import nest
import numpy as np

nest.verbosity = nest.VerbosityLevel.ERROR

DT_MS = 0.1
DELAY_MS = 1.0
SEED = 20261202

RULES = {
    "state": "y3 = V_m - E_L (mV); per receptor X in {ex, in}: dI_X (pA/ms), I_X (pA); "
    "r (refractory steps left); y0 = 0 here (no CurrentEvent input)",
    "propagators": [
        "P11_X = P22_X = exp(-h/tau_syn_X); P21_X = h*P11_X",
        "expm1_tau_m = expm1(-h/tau_m); P30 = -tau_m/C_m*expm1(-h/tau_m)",
        "beta = tau_s*tau_m/(tau_m - tau_s); gamma = beta/C_m; "
        "inv_beta = (tau_m - tau_s)/(tau_s*tau_m)",
        "E = exp(-h*(1/tau_s)); M = expm1(h*inv_beta); P32 = gamma*E*M; "
        "if not (isnormal(P32) and P32 > 0): P32 = h*(1/C_m)*exp(-h*(1/tau_m))",
        "if h > 1e-7*tau_m^2/|tau_m - tau_s|: P31 = gamma*E*(beta*M - h) "
        "else P31 = 0.5*h*h*(1/C_m)*exp(-h*(1/tau_m))",
        "EPSC_X = e/tau_syn_X (numerics::e = exp(1)); R = ceil(t_ref/h) (Time(ms(t_ref)).get_steps() "
        "rounds the tics up to whole steps)",
    ],
    "step": [
        "if r == 0: y3 = P30*(y0 + I_e) + P31_ex*dI_ex + P32_ex*I_ex + P31_in*dI_in "
        "+ P32_in*I_in + expm1_tau_m*y3 + y3 (left to right) else r -= 1",
        "I_ex = P21_ex*dI_ex + P22_ex*I_ex; dI_ex = dI_ex*P11_ex; dI_ex += EPSC_ex*w_ex(step)",
        "I_in = P21_in*dI_in + P22_in*I_in; dI_in = dI_in*P11_in; dI_in += EPSC_in*w_in(step)",
        "if y3 >= V_th - E_L: r = R; y3 = V_reset - E_L; spike stamped at the end of the step",
    ],
    "timing": "step k runs from k*h to (k+1)*h; a spike found in step k is stamped (k+1)*h; a "
    "spike_generator spike at t with delay d adds its weight in the step that ends at t + d "
    "(w_X(step k) sums the weights of spikes with t + d = (k+1)*h; positive weights go to ex, "
    "negative to in), so the PSC starts at t + d; the multimeter value at (k+1)*h is the state "
    "after step k",
}


def scenarios():
    rng = np.random.default_rng(SEED)

    def bernoulli_train(rate_hz, t_max_ms):
        # One spike or none per step; times on the grid, from h (NEST's first allowed time).
        p = rate_hz * DT_MS / 1000.0
        steps = np.nonzero(rng.random(int(round(t_max_ms / DT_MS))) < p)[0] + 1
        return [round(float(s) * DT_MS, 10) for s in steps]

    spikes_exc_a = [5.0, 12.3, 20.0, 20.1, 20.2, 35.0, 35.0 + 0.5, 50.0, 60.0, 61.0, 75.5]
    spikes_exc_b = [20.0, 22.0, 30.0, 40.0, 40.3, 62.0, 66.0, 80.0, 80.1, 85.0]
    spikes_inh = [20.0, 45.0, 62.0, 62.1, 70.0, 90.0]
    poisson_t = 300.0
    return {
        "dc_defaults": {
            "duration_ms": 100.0,
            "params": {"I_e": 600.0},
            "inputs": [],
        },
        "dc_params": {
            "duration_ms": 100.0,
            "params": {
                "E_L": -65.0,
                "V_m": -65.0,
                "V_reset": -68.0,
                "V_th": -50.0,
                "tau_m": 20.0,
                "C_m": 200.0,
                "t_ref": 2.03,
                "tau_syn_ex": 3.0,
                "tau_syn_in": 6.0,
                "I_e": 600.0,
            },
            "inputs": [],
        },
        "spikes": {
            "duration_ms": 100.0,
            "params": {"I_e": 340.0, "tau_syn_ex": 2.0, "tau_syn_in": 5.0},
            "inputs": [
                {"name": "exc_a", "weight_pA": 150.0, "spike_times_ms": spikes_exc_a},
                {"name": "exc_b", "weight_pA": 400.0, "spike_times_ms": spikes_exc_b},
                {"name": "inh", "weight_pA": -300.0, "spike_times_ms": spikes_inh},
            ],
        },
        "singular": {
            "duration_ms": 60.0,
            "params": {"I_e": 250.0, "tau_syn_ex": 10.0, "tau_syn_in": 2.0},
            "inputs": [
                {"name": "exc", "weight_pA": 120.0,
                 "spike_times_ms": [2.0, 8.0, 8.1, 15.0, 25.0, 25.5, 26.0, 40.0, 41.0]},
                {"name": "inh", "weight_pA": -200.0, "spike_times_ms": [10.0, 30.0, 45.0]},
            ],
        },
        "poisson": {
            "duration_ms": poisson_t,
            "params": {},
            "inputs": [
                {"name": f"exc_{k}", "weight_pA": 36.0,
                 "spike_times_ms": bernoulli_train(1000.0, poisson_t - DELAY_MS)}
                for k in range(4)
            ]
            + [
                {"name": "inh", "weight_pA": -60.0,
                 "spike_times_ms": bernoulli_train(1000.0, poisson_t - DELAY_MS)},
            ],
        },
    }


def run_nest(sc):
    nest.ResetKernel()
    nest.resolution = DT_MS
    n = nest.Create("iaf_psc_alpha", params=sc["params"])
    for inp in sc["inputs"]:
        g = nest.Create("spike_generator", params={"spike_times": inp["spike_times_ms"]})
        nest.Connect(g, n, syn_spec={"weight": inp["weight_pA"], "delay": DELAY_MS})
    mm = nest.Create(
        "multimeter",
        params={"record_from": ["V_m", "I_syn_ex", "I_syn_in"], "interval": DT_MS},
    )
    nest.Connect(mm, n)
    sr = nest.Create("spike_recorder")
    nest.Connect(n, sr)
    steps = int(round(sc["duration_ms"] / DT_MS))
    # The multimeter hands over the samples of a min_delay slice one slice later: run one
    # more millisecond and keep the first `steps` samples.
    nest.Simulate(sc["duration_ms"] + DELAY_MS)
    ev = mm.events
    order = np.argsort(ev["times"], kind="stable")
    times = np.asarray(ev["times"])[order][:steps]
    assert np.allclose(times, DT_MS * np.arange(1, steps + 1)), "multimeter grid"
    status = n.get()
    params = {
        k: float(status[k])
        for k in ["E_L", "C_m", "tau_m", "t_ref", "V_th", "V_reset", "tau_syn_ex",
                  "tau_syn_in", "I_e", "V_min"]
        if math.isfinite(status[k])
    }
    spikes = [float(t) for t in sr.events["times"] if t <= sc["duration_ms"] + 1e-9]
    return {
        "params": params,
        "spike_times_ms": spikes,
        "V_m": [float(x) for x in np.asarray(ev["V_m"])[order][:steps]],
        "I_syn_ex": [float(x) for x in np.asarray(ev["I_syn_ex"])[order][:steps]],
        "I_syn_in": [float(x) for x in np.asarray(ev["I_syn_in"])[order][:steps]],
    }


def alpha_propagators(tau_s, tau_m, c_m, h):
    beta = tau_s * tau_m / (tau_m - tau_s) if tau_m != tau_s else math.inf
    gamma = beta / c_m
    inv_beta = (tau_m - tau_s) / (tau_s * tau_m)
    e = math.exp(-h * (1 / tau_s))
    m = math.expm1(h * inv_beta)
    p32 = gamma * e * m  # inf * 0 = nan in the singular case, as in C++
    exp_m = math.exp(-h * (1 / tau_m))
    normal = math.isfinite(p32) and abs(p32) >= sys.float_info.min
    if not (normal and p32 > 0):
        p32 = h * (1 / c_m) * exp_m
    h_min = 1e-7 * tau_m * tau_m / abs(tau_m - tau_s) if tau_m != tau_s else math.inf
    if h > h_min:
        p31 = gamma * e * (beta * m - h)
    else:
        p31 = 0.5 * h * h * (1 / c_m) * exp_m
    return p31, p32


def replay(sc, p):
    """The rules, in plain Python, on the scenario's inputs; returns spike times and traces."""
    h = DT_MS
    steps = int(round(sc["duration_ms"] / h))
    el = p["E_L"]
    theta, v_reset = p["V_th"] - el, p["V_reset"] - el
    p11 = {x: math.exp(-h / p[f"tau_syn_{x}"]) for x in ("ex", "in")}
    p21 = {x: h * p11[x] for x in ("ex", "in")}
    p3 = {x: alpha_propagators(p[f"tau_syn_{x}"], p["tau_m"], p["C_m"], h) for x in ("ex", "in")}
    expm1_m = math.expm1(-h / p["tau_m"])
    p30 = -p["tau_m"] / p["C_m"] * math.expm1(-h / p["tau_m"])
    epsc = {x: math.e / p[f"tau_syn_{x}"] for x in ("ex", "in")}
    # Time(ms(t_ref)): tics = int(t_ref*1000 + 0.5) (1 tic = 1 us); steps rounded up.
    tics = int(p["t_ref"] * 1000 + 0.5)
    tics_per_step = int(round(h * 1000))
    ref_counts = -(-tics // tics_per_step)
    w = {x: [0.0] * (steps + 1) for x in ("ex", "in")}
    for inp in sc["inputs"]:
        x = "ex" if inp["weight_pA"] > 0 else "in"
        for t in inp["spike_times_ms"]:
            k = int(round((t + DELAY_MS) / h)) - 1
            if k <= steps:
                w[x][k] += inp["weight_pA"]
    y3 = sc["params"].get("V_m", el) - el
    di = {"ex": 0.0, "in": 0.0}
    i = {"ex": 0.0, "in": 0.0}
    r = 0
    spikes, vm, ie, ii = [], [], [], []
    for k in range(steps):
        if r == 0:
            y3 = (p30 * (0.0 + p["I_e"]) + p3["ex"][0] * di["ex"] + p3["ex"][1] * i["ex"]
                  + p3["in"][0] * di["in"] + p3["in"][1] * i["in"] + expm1_m * y3 + y3)
        else:
            r -= 1
        for x in ("ex", "in"):
            i[x] = p21[x] * di[x] + p11[x] * i[x]
            di[x] *= p11[x]
            di[x] += epsc[x] * w[x][k]
        if y3 >= theta:
            r = ref_counts
            y3 = v_reset
            spikes.append(round((k + 1) * h, 10))
        vm.append(y3 + el)
        ie.append(i["ex"])
        ii.append(i["in"])
    return spikes, vm, ie, ii


def steps_of(times):
    return [int(round(t / DT_MS)) for t in times]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "out", "nest_iaf_psc_alpha.json")
    result = {
        "schema": "scenarios.<name>: duration_ms, params (as given to NEST), nest_params "
        "(NEST's status after creation: mV, ms, pF, pA), delay_ms, inputs[] (name, weight_pA, "
        "spike_times_ms of one spike_generator each), spike_times_ms (spike_recorder), V_m (mV), "
        "I_syn_ex, I_syn_in (pA) of the multimeter at t = h, 2h, ..., duration_ms, check",
        "generator": "tests/reference/gen/gen_nest_iaf_psc_alpha.py",
        "versions": {
            "nest": nest.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "dt_ms": DT_MS,
        "delay_ms": DELAY_MS,
        "model": "iaf_psc_alpha",
        "rules": RULES,
        "scenarios": {},
    }
    for name, sc in scenarios().items():
        got = run_nest(sc)
        spikes, vm, ie, ii = replay(sc, got["params"])
        check = {
            "spikes_equal": steps_of(spikes) == steps_of(got["spike_times_ms"]),
            "max_abs_dV_mV": max(abs(a - b) for a, b in zip(vm, got["V_m"])),
            "max_abs_dI_pA": max(
                max(abs(a - b) for a, b in zip(ie, got["I_syn_ex"])),
                max(abs(a - b) for a, b in zip(ii, got["I_syn_in"])),
            ),
        }
        print(f"{name}: {len(got['spike_times_ms'])} spikes, check {check}")
        if not check["spikes_equal"]:
            print(f"  replay spikes {spikes}\n  NEST spikes   {got['spike_times_ms']}")
        result["scenarios"][name] = {
            "duration_ms": sc["duration_ms"],
            "params": sc["params"],
            "nest_params": got["params"],
            "inputs": sc["inputs"],
            "spike_times_ms": got["spike_times_ms"],
            "V_m": got["V_m"],
            "I_syn_ex": got["I_syn_ex"],
            "I_syn_in": got["I_syn_in"],
            "check": check,
        }
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
