"""NEST 3.10's structural-plasticity example (pynest-examples `structural_plasticity.py`,
after Butz & van Ooyen 2013) for several seeds: the curves of mean calcium and of the number
of connections that the example records every second.

The network is the example's: 800 excitatory and 200 inhibitory `iaf_psc_alpha` neurons with
NEST's default parameters (the example builds its `model_params` but does not pass them to
`Create`) and no synapses at the start, each neuron driven by its own 10 kHz Poisson train
(6.2 pA, delay 1 ms), synaptic elements with Gaussian growth curves, ±585 pA synapses with a
delay of 1 ms, dt = 0.1 ms, a structural update every 10 s, 200 s simulated.

    python gen_nest_structural.py [OUT.json] [--seeds 1 2 ... 10]

Versions: NEST 3.10.0 (pip `nest-simulator==3.10.0`), numpy 2.3.5, Python 3.11. NEST runs
the example on one thread (structural plasticity needs it); each seed takes several minutes.
"""
import argparse
import json
import platform
import time

import numpy as np
import nest

p = argparse.ArgumentParser()
p.add_argument("out", nargs="?", default="out/nest_structural_plasticity.json")
p.add_argument("--seeds", type=int, nargs="+", default=list(range(1, 11)))
p.add_argument("--t-sim", type=float, default=200000.0)
a = p.parse_args()

MODEL = "iaf_psc_alpha"
DT, N_E, N_I = 0.1, 800, 200
UPDATE, RECORD = 10000.0, 1000.0
BG_RATE, PSC_E, PSC_I, PSC_EXT = 10000.0, 585.0, -585.0, 6.2


def curve(rate, eps):
    return {"growth_curve": "gaussian", "growth_rate": rate, "continuous": False,
            "eta": 0.0, "eps": eps}


GC_EE, GC_EI = curve(0.0001, 0.05), curve(0.0001, 0.05)
GC_IE, GC_II = curve(0.0004, 0.2), curve(0.0001, 0.2)


def run(seed):
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    nest.resolution = DT
    nest.rng_seed = seed
    nest.structural_plasticity_update_interval = UPDATE
    nest.CopyModel("static_synapse", "synapse_ex")
    nest.SetDefaults("synapse_ex", {"weight": PSC_E, "delay": 1.0})
    nest.CopyModel("static_synapse", "synapse_in")
    nest.SetDefaults("synapse_in", {"weight": PSC_I, "delay": 1.0})
    nest.structural_plasticity_synapses = {
        "synapse_ex": {"synapse_model": "synapse_ex", "post_synaptic_element": "Den_ex",
                       "pre_synaptic_element": "Axon_ex"},
        "synapse_in": {"synapse_model": "synapse_in", "post_synaptic_element": "Den_in",
                       "pre_synaptic_element": "Axon_in"},
    }
    el_e = {"Den_ex": GC_EE, "Den_in": GC_EI, "Axon_ex": GC_EE}
    el_i = {"Den_ex": GC_IE, "Den_in": GC_II, "Axon_in": GC_II}
    e = nest.Create(MODEL, N_E, {"synaptic_elements": el_e})
    i = nest.Create(MODEL, N_I, {"synaptic_elements": el_i})
    noise = nest.Create("poisson_generator", params={"rate": BG_RATE})
    nest.Connect(noise, e, "all_to_all", {"weight": PSC_EXT, "delay": 1.0})
    nest.Connect(noise, i, "all_to_all", {"weight": PSC_EXT, "delay": 1.0})
    nest.EnableStructuralPlasticity()
    ca_e, ca_i, conn_e, conn_i = [], [], [], []
    for _ in np.arange(0, a.t_sim, RECORD):
        nest.Simulate(RECORD)
        ca_e.append(float(np.mean(e.Ca)))
        ca_i.append(float(np.mean(i.Ca)))
        conn_e.append(int(sum(n["Axon_ex"]["z_connected"] for n in e.synaptic_elements)))
        conn_i.append(int(sum(n["Axon_in"]["z_connected"] for n in i.synaptic_elements)))
    return {"seed": seed, "ca_exc": ca_e, "ca_inh": ca_i, "conn_exc": conn_e, "conn_inh": conn_i}


runs = []
for s in a.seeds:
    t0 = time.time()
    r = run(s)
    runs.append(r)
    q = len(r["ca_exc"]) * 3 // 4
    print(f"seed {s}: {time.time() - t0:.0f} s; last quarter: Ca exc {np.mean(r['ca_exc'][q:]):.4f} "
          f"inh {np.mean(r['ca_inh'][q:]):.4f}, connections exc {np.mean(r['conn_exc'][q:]):.0f} "
          f"inh {np.mean(r['conn_inh'][q:]):.0f}", flush=True)
defaults = nest.GetDefaults(MODEL)
out = {
    "schema": "runs[k]: one seed of NEST's structural-plasticity example; ca_exc/ca_inh: mean "
              "calcium of the excitatory/inhibitory neurons and conn_exc/conn_inh: synapses made "
              "by excitatory/inhibitory axons (sum of z_connected of Axon_ex/Axon_in), recorded "
              "after each 1-s Simulate (index k is time (k+1) s)",
    "versions": {"nest": nest.__version__, "numpy": np.__version__,
                 "python": platform.python_version()},
    "generator": "tests/reference/gen/gen_nest_structural.py",
    "model": MODEL,
    "neuron": {k: defaults[k] for k in ["C_m", "tau_m", "t_ref", "E_L", "V_th", "V_reset",
                                        "tau_syn_ex", "tau_syn_in", "I_e"]},
    "calcium": {"tau_Ca": defaults["tau_Ca"], "beta_Ca": defaults["beta_Ca"]},
    "dt_ms": DT, "t_sim_ms": a.t_sim, "record_interval_ms": RECORD, "update_interval_ms": UPDATE,
    "runs": runs,
}
with open(a.out, "w") as f:
    json.dump(out, f, indent=1)
