"""NEST 3.10's structural-plasticity example (pynest-examples `structural_plasticity.py`,
after Butz & van Ooyen 2013) for several seeds: the curves of mean calcium and of the number
of connections that the example records every second.

The network is the example's (nest_structural_net.py), 200 s simulated.

    python gen_nest_structural.py [OUT.json] [--seeds 1 2 ... 20]

Versions: NEST 3.10.0 (pip `nest-simulator==3.10.0`), numpy 2.3.5, Python 3.11. NEST runs
the example on one thread (structural plasticity needs it); each seed takes several minutes.
"""
import argparse
import json
import platform
import time

import numpy as np
import nest

from nest_structural_net import MODEL, DT, UPDATE, RECORD, build

p = argparse.ArgumentParser()
p.add_argument("out", nargs="?", default="out/nest_structural_plasticity.json")
p.add_argument("--seeds", type=int, nargs="+", default=list(range(1, 21)))
p.add_argument("--t-sim", type=float, default=200000.0)
a = p.parse_args()


def run(seed):
    e, i = build(seed)
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
