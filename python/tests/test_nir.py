"""snnsim.Graph.from_nir / Graph.to_nir: the NIR converter of `snnsim convert`, from Python.
The fixtures are snnTorch 1.0.0's exports (tests/reference/nir/, docs/nir.md)."""

import re

import numpy as np
import pytest

import snnsim

FIXTURES = ["ff", "rnn", "v0", "conv"]


@pytest.mark.parametrize("name", FIXTURES)
def test_from_nir_is_what_the_command_line_converts(root, cli, tmp_path, name):
    src = root / "tests" / "reference" / "nir" / f"{name}.nir"
    g = snnsim.Graph.from_nir(src)
    g.validate()
    assert g.dt_ms == pytest.approx(0.1)
    out = tmp_path / f"{name}.ron"
    cli("convert", src, out)
    assert snnsim.Graph.load(out) == g


@pytest.mark.parametrize("name", FIXTURES)
def test_to_nir_round_trip_and_nir_reads_it(root, tmp_path, name):
    nir = pytest.importorskip("nir")
    g = snnsim.Graph.from_nir(root / "tests" / "reference" / "nir" / f"{name}.nir")
    path = g.to_nir(tmp_path / f"{name}.nir")
    # Graph -> NIR -> graph is exact (docs/nir.md): the same text, every number included, up
    # to the order of the projections (NIR's edges are in no particular order).
    back = snnsim.Graph.from_nir(path).to_ron()
    assert sorted(back.splitlines()) == sorted(g.to_ron().splitlines())
    read = nir.read(str(path))
    theirs = nir.read(str(root / "tests" / "reference" / "nir" / f"{name}.nir"))
    assert sorted(read.nodes) == sorted(theirs.nodes)
    assert sorted(read.edges) == sorted(theirs.edges)
    for k, node in theirs.nodes.items():
        assert type(read.nodes[k]) is type(node), k
        # v0's CubaLIF has gains other than snnTorch's r = tau_mem/dt, w_in = tau_syn/dt:
        # written back, they are in its weights (docs/nir.md).
        if hasattr(node, "weight") and name != "v0":
            np.testing.assert_allclose(np.asarray(read.nodes[k].weight), np.asarray(node.weight), rtol=1e-6)


def conv_example(root):
    """The convolution example of docs/graph-format.md (Conv2d, then AvgPool2d)."""
    doc = (root / "docs" / "graph-format.md").read_text()
    start = doc.index("```ron\n(\n    format_version: 1,\n    dt_ms: 1.0,\n    duration_ms: 0.0,")
    body = doc[start + len("```ron\n") :]
    return body[: body.index("```")]


@pytest.mark.parametrize("pool", ["AvgPool2d", "SumPool2d"])
def test_nir_reads_the_conv_and_pool_files_snnsim_writes(root, tmp_path, pool):
    nir = pytest.importorskip("nir")
    text = conv_example(root).replace("AvgPool2d(", f"{pool}(")
    g = snnsim.Graph.from_ron(text, "conv.ron")
    path = g.to_nir(tmp_path / "conv.nir")
    read = nir.read(str(path))
    conv, pooled = read.nodes["conv"], read.nodes["pool"]
    assert type(conv) is nir.Conv2d and type(pooled) is getattr(nir, pool)
    assert np.asarray(conv.weight).shape == (2, 1, 3, 3)
    assert np.asarray(conv.weight)[0, 0, 0].tolist() == [0.3, 0.1, -0.2]
    assert list(conv.input_shape) == [6, 6]
    assert np.asarray(pooled.kernel_size).tolist() == [2, 2]
    # The maps take the kernels' shapes; the time step travels in the metadata.
    assert list(read.nodes["image"].input_type["input"]) == [1, 6, 6]
    assert np.asarray(read.nodes["features"].tau_mem).shape == (2, 4, 4)
    assert float(np.asarray(read.metadata["snnsim_dt_ms"])[0]) == 1.0
    assert sorted(read.edges) == sorted(
        [("image", "conv"), ("conv", "features"), ("features", "pool"), ("pool", "pooled"), ("pooled", "output")]
    )
    # And back: the same graph file, with the file's dt.
    back = snnsim.Graph.from_nir(path)
    assert back.dt_ms == 1.0
    assert snnsim.Graph.from_ron(back.to_ron()).to_nir(tmp_path / "again.nir")
    again = nir.read(str(tmp_path / "again.nir"))
    assert sorted(again.nodes) == sorted(read.nodes)
    np.testing.assert_array_equal(np.asarray(again.nodes["conv"].weight), np.asarray(conv.weight))


def test_dt_and_reset_reach_the_graph(root):
    src = root / "tests" / "reference" / "nir" / "ff.nir"
    g = snnsim.Graph.from_nir(src, dt_ms=0.05, reset="subtract")
    assert g.dt_ms == pytest.approx(0.05)
    assert g.to_ron() != snnsim.Graph.from_nir(src, dt_ms=0.05).to_ron()


def test_bad_input_is_refused_with_its_name(root, tmp_path):
    src = root / "tests" / "reference" / "nir" / "ff.nir"
    with pytest.raises(snnsim.InputError, match="subtract"):
        snnsim.Graph.from_nir(src, reset="sideways")
    with pytest.raises(FileNotFoundError):
        snnsim.Graph.from_nir(tmp_path / "missing.nir")
    g = snnsim.Graph(dt_ms=0.1, duration_ms=10.0, seed=1)
    g.population("cells", 3, snnsim.Izhikevich())
    with pytest.raises(snnsim.InputError, match="Izhikevich"):
        g.to_nir(tmp_path / "izh.nir")
    assert not (tmp_path / "izh.nir").exists()
