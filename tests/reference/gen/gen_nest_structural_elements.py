"""NEST 3.10's structural-plasticity example (the network of nest_structural_net.py) for one
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

from nest_structural_net import UPDATE, RECORD, build

seed, t_sim = int(sys.argv[1]), float(sys.argv[2]) * 1000.0
out_path = sys.argv[3] if len(sys.argv) > 3 else f"nest_structural_elements_s{seed}.json"

e, i = build(seed)

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
