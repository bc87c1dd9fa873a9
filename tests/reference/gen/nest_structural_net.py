"""The network of NEST 3.10's structural-plasticity example (pynest-examples
`structural_plasticity.py`, after Butz & van Ooyen 2013), built once for the generators that
record it (gen_nest_structural.py: mean curves over seeds; gen_nest_structural_elements.py:
every neuron's elements).

800 excitatory and 200 inhibitory `iaf_psc_alpha` neurons with NEST's default parameters
(the example builds its `model_params` but does not pass them to `Create`) and no synapses at
the start, each neuron driven by its own 10 kHz Poisson train (6.2 pA, delay 1 ms), synaptic
elements with Gaussian growth curves, ±585 pA synapses with a delay of 1 ms, dt = 0.1 ms, a
structural update every 10 s.
"""
import nest

MODEL = "iaf_psc_alpha"
DT, N_E, N_I = 0.1, 800, 200
UPDATE, RECORD = 10000.0, 1000.0
BG_RATE, PSC_E, PSC_I, PSC_EXT = 10000.0, 585.0, -585.0, 6.2


def curve(rate, eps):
    return {"growth_curve": "gaussian", "growth_rate": rate, "continuous": False,
            "eta": 0.0, "eps": eps}


GC_EE, GC_EI = curve(0.0001, 0.05), curve(0.0001, 0.05)
GC_IE, GC_II = curve(0.0004, 0.2), curve(0.0001, 0.2)


def build(seed):
    """Reset NEST, build the network for `seed` and enable structural plasticity; returns
    the excitatory and inhibitory populations."""
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
    return e, i
