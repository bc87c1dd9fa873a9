#!/usr/bin/env python3
"""Regenerate the NIR fixtures in tests/reference/nir/ (snnTorch 1.0.0 -> NIR -> snnTorch).

For each network below: build it with snnTorch, export it with
`snntorch.export_nir.export_to_nir`, write it with `nir.write` (nir 1.0.8), read the
written file back with `nir.read`, import that with `snntorch.import_nir.import_from_nir`,
and drive the imported module one step at a time with a fixed input. What the imported
module does is the reference a NIR importer must reproduce.

  ff     Input(3) -> Linear -> Synaptic(4) -> Linear -> Leaky(2) -> Output
  rnn    Input(3) -> Linear -> RSynaptic(5, all-to-all recurrent Linear) -> Linear -> Leaky(2)
  conv   Input(1,6,6) -> Conv2d(1->2, 3x3) -> Leaky(2,4,4) -> AvgPool2d(2) -> Flatten
         -> Linear(8->3) -> Leaky(3)
  v0     a file in nir 0.2's layout (no compression, no v_reset, no w_in, version
         "0.2.0"), written with h5py by nir 0.2's own write routine (copied below); it is
         for reading only, no simulation.

Files written into OUT_DIR (default ./out/nir):
  NAME.nir          the exported graph, as nir.write wrote it
  NAME.input.npy    float32 (T, *input_shape): the value fed to the Input node at step t
  NAME.output.npy   float32 (T, *output_shape): the imported module's output (spikes, 0/1)
  v0.nir
  snntorch_nir.json versions, dt, and for every fixture and every spiking layer (by NIR node
                    name): spikes and membrane (after the step's reset) at every step,
                    flattened per step, float32 values written as exact float64; the
                    smallest |v - threshold| seen before the reset; the input seed.

Neurons are built with vector beta/alpha/threshold (scalars export 0-d arrays, which
nir.write 1.0.8 cannot compress), reset_mechanism="zero" and reset_delay=False, what
import_from_nir builds (snnTorch 1.0.0's RSynaptic fails with reset_delay=False and
init_hidden=True, so it is built with its default reset_delay; the export writes the same
file either way). The input is drawn from numpy.random.default_rng(seed) for seed = 0, 1, …
and a seed is rejected when any membrane comes within 1e-5 of its threshold before a reset
(a tie an f32/f64 importer could break the other way); the seed used is recorded.

Two departures from calling import_from_nir as is, both forced by the pinned versions:
- import_from_nir regroups a LIF <-> Linear 2-cycle into a nested NIRGraph, which nirtorch
  2.6 cannot execute (AttributeError: 'GraphModule' object has no attribute 'items'); the
  regrouping (`_replace_rnn_subgraph_with_nirgraph`) is replaced by the identity, so nirtorch
  runs the flat graph, feeding the cycle's edge with the source's previous-step output
  (`{node}_prev_output`), which is what RSynaptic computes and what NIR says.
- snnTorch's AvgPool2d import needs kernel_size, stride and padding as pairs, so the torch
  AvgPool2d is built with pairs.

The input has no batch dimension (NIR has none): x_t of shape input_shape per step.
h5py's object timestamps are switched off (track_times=False) and the hash seed fixed
(PYTHONHASHSEED=0: the exporters keep edges in sets) so that the files are
byte-reproducible; everything else is nir.write's own layout (gzip on arrays).

Usage: gen_snntorch_nir.py [OUT_DIR]
"""

import json
import os
import platform
import sys

# The exporters keep edges in Python sets, whose order follows string hashing: fix the hash
# seed (it must be set before the interpreter starts) so that the files are reproducible.
if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

os.environ.setdefault("MKL_CBWR", "COMPATIBLE")

import h5py  # noqa: E402
import nir  # noqa: E402
import nirtorch  # noqa: E402
import numpy as np  # noqa: E402
import snntorch as snn  # noqa: E402
import snntorch.import_nir as snn_import  # noqa: E402
import torch  # noqa: E402
from snntorch.export_nir import export_to_nir  # noqa: E402

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)

# Byte-reproducible HDF5: no modification times in object headers.
_create_dataset = h5py.Group.create_dataset


def _create_dataset_untimed(self, name, *args, **kwargs):
    kwargs.setdefault("track_times", False)
    return _create_dataset(self, name, *args, **kwargs)


h5py.Group.create_dataset = _create_dataset_untimed
_create_group = h5py.Group.create_group


def _create_group_untimed(self, name, *args, **kwargs):
    kwargs.setdefault("track_order", False)
    return _create_group(self, name, *args, **kwargs)


h5py.Group.create_group = _create_group_untimed

# nirtorch 2.6 cannot run snnTorch's regrouped RNN subgraph (see the docstring).
snn_import._replace_rnn_subgraph_with_nirgraph = lambda graph: graph

T = 100
MARGIN = 1e-5
DT = 1e-4  # snnTorch's hard-coded dt in export_nir / import_nir


def neuron_kwargs(shape, threshold=1.0):
    return dict(
        threshold=torch.full(shape, threshold),
        reset_mechanism="zero",
        reset_delay=False,
        init_hidden=True,
    )


def build_ff():
    torch.manual_seed(1)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 4),
        snn.Synaptic(
            alpha=torch.tensor([0.5, 0.7, 0.8, 0.9]),
            beta=torch.tensor([0.6, 0.8, 0.9, 0.95]),
            **neuron_kwargs((4,)),
        ),
        torch.nn.Linear(4, 2),
        snn.Leaky(beta=torch.tensor([0.8, 0.9]), output=True, **neuron_kwargs((2,))),
    )
    with torch.no_grad():
        net[0].weight.mul_(2.0)
        net[2].weight.mul_(3.0)
    return net, (3,), (0.0, 1.0)


def build_rnn():
    torch.manual_seed(2)
    kw = neuron_kwargs((5,))
    del kw["reset_delay"]  # RSynaptic + reset_delay=False + init_hidden=True fails in 1.0.0
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 5),
        snn.RSynaptic(
            alpha=torch.linspace(0.5, 0.9, 5),
            beta=torch.linspace(0.7, 0.95, 5),
            linear_features=5,
            all_to_all=True,
            **kw,
        ),
        torch.nn.Linear(5, 2),
        snn.Leaky(beta=torch.tensor([0.85, 0.9]), output=True, **neuron_kwargs((2,))),
    )
    with torch.no_grad():
        net[0].weight.mul_(2.0)
        net[1].recurrent.weight.mul_(1.5)
        net[2].weight.mul_(3.0)
    return net, (3,), (0.0, 1.0)


def build_conv():
    torch.manual_seed(3)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3),
        snn.Leaky(beta=torch.full((2, 4, 4), 0.9), **neuron_kwargs((2, 4, 4))),
        torch.nn.AvgPool2d((2, 2), stride=(2, 2), padding=(0, 0)),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 3),
        snn.Leaky(beta=torch.tensor([0.8, 0.85, 0.9]), output=True, **neuron_kwargs((3,))),
    )
    with torch.no_grad():
        net[0].weight.mul_(2.0)
        net[4].weight.abs_().mul_(6.0)
        net[4].bias.fill_(0.05)
    return net, (1, 6, 6), (0.0, 1.0)


def make_input(seed, shape, lo, hi):
    rng = np.random.default_rng(seed)
    x = rng.uniform(lo, hi, (T,) + shape)
    x[T // 2 : T // 2 + 5] = 0.0  # a quiet stretch: decays without input
    return np.round(x, 3).astype(np.float32)


def spiking_modules(module):
    return [
        (name, m)
        for name, m in module.named_modules()
        if isinstance(m, (snn.Leaky, snn.Synaptic))
    ]


def drive(imported, x):
    """Steps the imported module; per spiking layer: spikes, membranes, smallest margin."""
    layers = spiking_modules(imported)
    rec = {name: {"spikes": [], "mem": []} for name, _ in layers}
    margin = [np.inf]
    pending = {}

    def pre(name):
        def hook(m, args):
            mem = m.mem.detach().clone() if m.mem.numel() else None
            pending[name] = (args[0].detach().clone(), mem)

        return hook

    def post(name):
        def hook(m, args, out):
            spk = out[0] if isinstance(out, tuple) else out
            x_in, mem_prev = pending.pop(name)
            beta = m.beta.clamp(0, 1)
            prev = mem_prev if mem_prev is not None else torch.zeros_like(x_in)
            drive_ = m.syn if isinstance(m, snn.Synaptic) else x_in
            v = beta * prev + drive_  # the membrane before the zero reset
            thr = m.threshold
            want = (v - thr > 0).to(spk.dtype)
            if not torch.equal(want, spk.detach()):
                raise SystemExit(f"{name}: recomputed spikes differ from snnTorch's")
            margin[0] = min(margin[0], float((v - thr).abs().min()))
            rec[name]["spikes"].append(spk.detach().reshape(-1).tolist())
            rec[name]["mem"].append(m.mem.detach().reshape(-1).tolist())

        return hook

    handles = []
    for name, m in layers:
        handles.append(m.register_forward_pre_hook(pre(name)))
        handles.append(m.register_forward_hook(post(name)))
    outs = []
    state = None
    with torch.no_grad():
        for t in range(T):
            out, state = imported(torch.from_numpy(x[t]), state)
            out = out[0] if isinstance(out, tuple) else out
            outs.append(out.detach().numpy().astype(np.float32))
    for h in handles:
        h.remove()
    return np.stack(outs), rec, margin[0]


def fixture(name, build, out_dir):
    net, in_shape, (lo, hi) = build()
    graph = export_to_nir(net, torch.zeros((1,) + in_shape), ignore_dims=[0])
    path = os.path.join(out_dir, f"{name}.nir")
    nir.write(path, graph)
    read_back = nir.read(path)  # type checking on
    for seed in range(100):
        x = make_input(seed, in_shape, lo, hi)
        imported = snn_import.import_from_nir(nir.read(path))
        out, rec, margin = drive(imported, x)
        if margin >= MARGIN:
            break
        print(f"  {name}: seed {seed} rejected (margin {margin:.2e})")
    else:
        raise SystemExit(f"{name}: no input seed keeps membranes {MARGIN} from threshold")
    np.save(os.path.join(out_dir, f"{name}.input.npy"), x)
    np.save(os.path.join(out_dir, f"{name}.output.npy"), out)
    # nirtorch names a node's module by the node's name with '.' -> '_'
    by_module = {n.replace(".", "_"): n for n in read_back.nodes}
    rec = {by_module[k]: v for k, v in rec.items()}
    counts = {k: int(np.sum(v["spikes"])) for k, v in rec.items()}
    print(f"  {name}: seed {seed}, margin {margin:.2e}, spikes {counts}")
    if min(counts.values()) == 0:
        raise SystemExit(f"{name}: a layer never spikes: {counts}")
    return {
        "file": f"{name}.nir",
        "input": f"{name}.input.npy",
        "output": f"{name}.output.npy",
        "input_shape": list(in_shape),
        "output_shape": list(out.shape[1:]),
        "input_seed": seed,
        "input_range": [lo, hi],
        "min_margin": margin,
        "nodes": sorted(read_back.nodes),
        "edges": sorted([list(e) for e in read_back.edges]),
        "layers": rec,
    }


# nir 0.2's write (nir/write.py at tag v0.2), for the 0.x fixture.
def write_v0(filename, node_dict, version):
    def write_recursive(group, node):
        for k, v in node.items():
            if isinstance(v, str):
                group.create_dataset(k, data=v, dtype=h5py.string_dtype())
            elif isinstance(v, np.ndarray):
                group.create_dataset(k, data=v, dtype=v.dtype)
            elif isinstance(v, dict):
                write_recursive(group.create_group(str(k)), v)
            else:
                group.create_dataset(k, data=v)

    with h5py.File(filename, "w") as f:
        f.create_dataset("version", data=version)
        write_recursive(f.create_group("node"), node_dict)


def v0_fixture(out_dir):
    """What nir 0.2's _convert_node gave for such a graph: float64, no v_reset, no w_in."""
    rng = np.random.default_rng(7)
    w1 = np.round(rng.normal(0, 1, (4, 3)), 3)
    b1 = np.round(rng.normal(0, 0.1, 4), 3)
    w2 = np.round(rng.normal(0, 1, (2, 4)), 3)
    node = {
        "type": "NIRGraph",
        "nodes": {
            "input": {"type": "Input", "shape": np.array([3])},
            "fc1": {"type": "Affine", "weight": w1, "bias": b1},
            "lif1": {
                "type": "CubaLIF",
                "tau_mem": np.full(4, 2e-3),
                "tau_syn": np.full(4, 5e-4),
                "r": np.full(4, 20.0),
                "v_leak": np.zeros(4),
                "v_threshold": np.ones(4),
            },
            "fc2": {"type": "Linear", "weight": w2},
            "lif2": {
                "type": "LIF",
                "tau": np.array([1e-3, 2e-3]),
                "r": np.array([10.0, 20.0]),
                "v_leak": np.zeros(2),
                "v_threshold": np.ones(2),
            },
            "if1": {"type": "IF", "r": np.ones(2), "v_threshold": np.full(2, 0.5)},
            "output": {"type": "Output", "shape": np.array([2])},
        },
        "edges": [
            ("input", "fc1"),
            ("fc1", "lif1"),
            ("lif1", "fc2"),
            ("fc2", "lif2"),
            ("lif2", "if1"),
            ("if1", "output"),
        ],
    }
    write_v0(os.path.join(out_dir, "v0.nir"), node, "0.2.0")
    g = nir.read(os.path.join(out_dir, "v0.nir"))  # 1.0.8 fills v_reset (and w_in)
    return {
        "file": "v0.nir",
        "version": "0.2.0",
        "nodes": sorted(g.nodes),
        "edges": sorted([list(e) for e in g.edges]),
        "fc1_weight": w1.tolist(),
        "fc1_bias": b1.tolist(),
        "fc2_weight": w2.tolist(),
    }


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join("out", "nir")
    os.makedirs(out_dir, exist_ok=True)
    fixtures = {}
    for name, build in [("ff", build_ff), ("rnn", build_rnn), ("conv", build_conv)]:
        fixtures[name] = fixture(name, build, out_dir)
    doc = {
        "schema": (
            "fixtures.NAME: the snnTorch network NAME exported to NAME.nir; input "
            "NAME.input.npy (T, *input_shape) float32 fed to the Input node per step; "
            "output NAME.output.npy (T, *output_shape) float32 spikes of the Output node "
            "from import_from_nir of the written file; layers.NODE.spikes / .mem: per step, "
            "the flattened spikes and membrane (after the same-step zero reset) of each "
            "spiking node, float32 as exact float64; min_margin: smallest "
            "|v - threshold| before a reset. v0: a nir 0.2-layout file for reading only."
        ),
        "generator": "tests/reference/gen/gen_snntorch_nir.py",
        "versions": {
            "python": platform.python_version(),
            "snntorch": snn.__version__,
            "torch": torch.__version__,
            "nir": nir.version,
            "nirtorch": getattr(nirtorch, "__version__", "2.6"),
            "numpy": np.__version__,
            "h5py": h5py.__version__,
        },
        "dt_s": DT,
        "steps": T,
        "margin": MARGIN,
        "fixtures": fixtures,
        "v0": v0_fixture(out_dir),
    }
    with open(os.path.join(out_dir, "snntorch_nir.json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {out_dir}")


if __name__ == "__main__":
    main()
