"""NEST 3.10's structural-plasticity example (the network of gen_nest_structural.py) for one
seed, saving every neuron's state just before each structural update: its calcium and, per
synaptic element, z and z_connected. For comparing distributions over neurons, not only the
means that gen_nest_structural.py records (docs/results.md, "Homeostatic structural
plasticity").

    python gen_nest_structural_elements.py SEED T_SECONDS [OUT.json]

Versions: NEST 3.10.0 (pip `nest-simulator==3.10.0`), numpy 2.3.5, Python 3.11; one thread.
"""
import json
import sys

import numpy as np
import nest

seed, t_sim = int(sys.argv[1]), float(sys.argv[2]) * 1000.0
out_path = sys.argv[3] if len(sys.argv) > 3 else f"nest_structural_elements_s{seed}.json"

DT, N_E, N_I = 0.1, 800, 200
UPDATE, RECORD = 10000.0, 1000.0


def curve(rate, eps):
    return {"growth_curve": "gaussian", "growth_rate": rate, "continuous": False,
            "eta": 0.0, "eps": eps}


GC_EE, GC_EI = curve(0.0001, 0.05), curve(0.0001, 0.05)
GC_IE, GC_II = curve(0.0004, 0.2), curve(0.0001, 0.2)

nest.ResetKernel()
nest.set_verbosity("M_ERROR")
nest.resolution = DT
nest.rng_seed = seed
nest.structural_plasticity_update_interval = UPDATE
nest.CopyModel("static_synapse", "synapse_ex")
nest.SetDefaults("synapse_ex", {"weight": 585.0, "delay": 1.0})
nest.CopyModel("static_synapse", "synapse_in")
nest.SetDefaults("synapse_in", {"weight": -585.0, "delay": 1.0})
nest.structural_plasticity_synapses = {
    "synapse_ex": {"synapse_model": "synapse_ex", "post_synaptic_element": "Den_ex",
                   "pre_synaptic_element": "Axon_ex"},
    "synapse_in": {"synapse_model": "synapse_in", "post_synaptic_element": "Den_in",
                   "pre_synaptic_element": "Axon_in"},
}
e = nest.Create("iaf_psc_alpha", N_E,
                {"synaptic_elements": {"Den_ex": GC_EE, "Den_in": GC_EI, "Axon_ex": GC_EE}})
i = nest.Create("iaf_psc_alpha", N_I,
                {"synaptic_elements": {"Den_ex": GC_IE, "Den_in": GC_II, "Axon_in": GC_II}})
noise = nest.Create("poisson_generator", params={"rate": 10000.0})
nest.Connect(noise, e, "all_to_all", {"weight": 6.2, "delay": 1.0})
nest.Connect(noise, i, "all_to_all", {"weight": 6.2, "delay": 1.0})
nest.EnableStructuralPlasticity()

snapshots = []
t = 0.0
while t < t_sim:
    nest.Simulate(RECORD)
    t += RECORD
    # NEST's update at t runs at the start of the next Simulate: this is the state it sees.
    if int(round(t)) % int(UPDATE) == 0:
        snap = {"t_ms": t}
        for name, pop in (("exc", e), ("inh", i)):
            elements = pop.synaptic_elements
            snap[name] = {"Ca": [float(x) for x in pop.Ca]}
            for el in elements[0]:
                snap[name][el] = [[float(n[el]["z"]), int(n[el]["z_connected"])]
                                  for n in elements]
        snapshots.append(snap)
        print(f"{t / 1000:.0f} s: Ca exc {np.mean(snap['exc']['Ca']):.4f} inh "
              f"{np.mean(snap['inh']['Ca']):.4f}", flush=True)
with open(out_path, "w") as f:
    json.dump({"schema": "snapshots[k]: state before the structural update at t_ms; per "
                         "population Ca per neuron and, per element, [z, z_connected] per neuron",
               "seed": seed, "nest": nest.__version__, "snapshots": snapshots}, f)
