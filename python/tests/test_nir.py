"""snnsim.Graph.from_nir / Graph.to_nir: the NIR converter of `snnsim convert`, from Python.
The fixtures are snnTorch 1.0.0's exports (tests/reference/nir/, docs/nir.md)."""

import re

import numpy as np
import pytest

import snnsim

FIXTURES = ["ff", "rnn"]


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
    # NIR holds float32 parameters and time constants instead of decays, so values come back
    # within float32 rounding (docs/nir.md); the text around them is the same.
    back = snnsim.Graph.from_nir(path).to_ron()
    number = re.compile(r"-?\d+\.\d+(?:e-?\d+)?")
    assert number.sub("#", back) == number.sub("#", g.to_ron())
    ours = [float(x) for x in number.findall(g.to_ron())]
    np.testing.assert_allclose([float(x) for x in number.findall(back)], ours, rtol=1e-6, atol=1e-12)
    read = nir.read(str(path))
    theirs = nir.read(str(root / "tests" / "reference" / "nir" / f"{name}.nir"))
    assert sorted(read.nodes) == sorted(theirs.nodes)
    assert sorted(read.edges) == sorted(theirs.edges)
    for k, node in theirs.nodes.items():
        if hasattr(node, "weight"):
            np.testing.assert_allclose(np.asarray(read.nodes[k].weight), np.asarray(node.weight), rtol=1e-6)


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
