"""snnsim.Simulation against the command line: the same state hash and spikes for the same
file, seed and duration; edits, checkpoints both ways, errors, Ctrl-C and the GIL."""

import os
import signal
import threading
import time

import numpy as np
import pytest
import scipy.sparse

import snnsim
from conftest import short_cuba, target_dir


def test_same_state_hash_and_spikes_as_the_cli(root, tmp_path, cli_json):
    cuba = short_cuba(root, tmp_path, 200.0)
    out = tmp_path / "run"
    summary = cli_json("run", cuba, "--out", out, "--threads", 2)
    for threads in (1, 2):
        sim = snnsim.Simulation(cuba, threads=threads)
        sim.run(200.0)
        assert sim.step == summary["steps"] == 2000
        assert sim.t_ms == pytest.approx(200.0)
        assert sim.state_hash == summary["state_hash"]
    for pop in ("exc", "inh"):
        t, i = sim.spikes(pop)
        assert t.dtype == np.float64 and i.dtype == np.uint32
        ref_t = np.load(out / f"spikes_{pop}_t_ms.npy") if (out / f"spikes_{pop}_t_ms.npy").exists() else None
        rows = [line.split(",") for line in (out / "spikes.csv").read_text().splitlines()[1:]]
        want = [(float(a), int(c)) for a, b, c in rows if b == pop]
        assert len(t) == len(want) > 100
        np.testing.assert_allclose(t, [w[0] for w in want], atol=1e-9)
        np.testing.assert_array_equal(i, [w[1] for w in want])
        if ref_t is not None:
            np.testing.assert_array_equal(t, ref_t)


def test_a_run_in_pieces_equals_one_run(root, tmp_path):
    cuba = short_cuba(root, tmp_path, 100.0)
    a = snnsim.Simulation(cuba, seed=7)
    a.run(100.0)
    b = snnsim.Simulation(cuba, seed=7)
    for _ in range(4):
        b.run(25.0)
    assert a.state_hash == b.state_hash
    c = snnsim.Simulation(cuba, seed=8)
    c.run(100.0)
    assert c.state_hash != a.state_hash


def test_spike_arrays_are_handed_over_without_a_copy(root):
    sim = snnsim.Simulation(root / "graphs" / "cuba.ron")
    sim.run(50.0)
    t, i = sim.spikes("exc")
    # numpy does not own the data: it is the vector built in Rust, moved.
    assert not t.flags.owndata and t.base is not None
    assert not i.flags.owndata and i.base is not None


def test_state_and_weights_read_and_write(root):
    sim = snnsim.Simulation(root / "graphs" / "cuba.ron", seed=3)
    v = sim.state("exc", "v")
    assert v.shape == (3200,) and v.dtype == np.float64
    assert -60.0 <= v.min() and v.max() < -50.0
    sim.set_state("exc", "v", np.full(3200, -55.0))
    np.testing.assert_array_equal(sim.state("exc", "v"), -55.0)
    sim.set_state("inh", "v", -58.0)
    np.testing.assert_array_equal(sim.state("inh", "v"), -58.0)
    w = sim.weights("exc->inh")
    assert isinstance(w, scipy.sparse.csr_matrix)
    assert w.shape == (3200, 800)
    np.testing.assert_array_equal(w.data, 1.62)
    w2 = w.copy()
    w2.data[:] = np.linspace(0.5, 1.5, w2.nnz)
    sim.set_weights("exc->inh", w2)
    back = sim.weights("exc->inh")
    np.testing.assert_array_equal(back.toarray(), w2.toarray())
    indptr, indices, data = w2.indptr, w2.indices, w2.data * 2
    sim.set_weights("exc->inh", (indptr, indices, data))
    np.testing.assert_array_equal(sim.weights("exc->inh").data, data)
    # A different structure is refused, and nothing changes.
    with pytest.raises(snnsim.InputError, match="synapses"):
        sim.set_weights("exc->inh", scipy.sparse.random(3200, 800, density=0.01, format="csr"))
    np.testing.assert_array_equal(sim.weights("exc->inh").data, data)


def test_setting_the_state_changes_the_run(root, tmp_path):
    cuba = short_cuba(root, tmp_path, 50.0)
    a = snnsim.Simulation(cuba)
    b = snnsim.Simulation(cuba)
    b.set_state("exc", "v", b.state("exc", "v") + 0.5)
    a.run(50.0)
    b.run(50.0)
    assert a.state_hash != b.state_hash
    assert len(b.spikes("exc")[0]) > len(a.spikes("exc")[0])


def test_grow_and_prune_then_describe(root):
    sim = snnsim.Simulation(root / "graphs" / "cuba.ron")
    sim.run(10.0)
    before = sim.weights("exc->inh")
    assert sim.grow("inh", 40) == 840
    assert dict(sim.populations)["inh"] == 840
    text = sim.describe()
    assert "inh" in text and "size       840" in text
    grown = sim.weights("exc->inh")
    assert grown.shape == (3200, 840)
    # Growth keeps every old weight exactly.
    np.testing.assert_array_equal(grown[:, :800].toarray(), before.toarray())
    assert sim.prune("inh", list(range(10))) == 830
    assert "size       830" in sim.describe()
    assert sim.weights("inh->exc").shape == (830, 3200)
    sim.run(10.0)
    assert len(sim.state("inh", "v")) == 830
    with pytest.raises(snnsim.InputError, match="out of range"):
        sim.prune("inh", [5000])
    with pytest.raises(snnsim.InputError, match="no population `nope`"):
        sim.grow("nope", 1)


def test_checkpoint_in_python_resume_in_the_cli(root, tmp_path, cli_json):
    cuba = short_cuba(root, tmp_path, 100.0)
    whole = snnsim.Simulation(cuba)
    whole.run(100.0)
    sim = snnsim.Simulation(cuba)
    sim.run(40.0)
    ck = sim.checkpoint(tmp_path / "ck")
    assert os.path.exists(ck)
    summary = cli_json("run", "--resume", tmp_path / "ck")
    assert summary["steps"] == 1000
    assert summary["state_hash"] == whole.state_hash


def test_checkpoint_in_the_cli_resume_in_python(root, tmp_path, cli_json):
    cuba = short_cuba(root, tmp_path, 100.0, extra="    checkpoint_every: 300,")
    summary = cli_json("run", cuba, "--out", tmp_path / "run")
    sim = snnsim.Simulation.resume(tmp_path / "run")
    assert sim.step == 1000  # the final checkpoint
    assert sim.state_hash == summary["state_hash"]
    # From an earlier checkpoint file, run on to the end.
    files = sorted((tmp_path / "run" / "checkpoints").iterdir())
    first = [f for f in files if f.is_file()][0]
    sim = snnsim.Simulation.resume(first)
    assert sim.step in (300, 600, 900)
    sim.run(100.0 - sim.t_ms)
    assert sim.step == 1000
    assert sim.state_hash == summary["state_hash"]


def test_a_grown_network_checkpoints_and_resumes(root, tmp_path):
    cuba = short_cuba(root, tmp_path, 100.0)
    sim = snnsim.Simulation(cuba)
    sim.run(20.0)
    sim.grow("exc", 16)
    sim.checkpoint(tmp_path / "ck")
    back = snnsim.Simulation.resume(tmp_path / "ck")
    assert dict(back.populations)["exc"] == 3216
    assert back.state_hash == sim.state_hash
    sim.run(30.0)
    back.run(30.0)
    assert back.state_hash == sim.state_hash


def test_errors(root, tmp_path):
    with pytest.raises(FileNotFoundError):
        snnsim.Simulation(tmp_path / "missing.ron")
    with pytest.raises(FileNotFoundError):
        snnsim.Simulation.resume(tmp_path / "missing")
    bad = tmp_path / "bad.ron"
    bad.write_text(
        "(\n    format_version: 1,\n    dt_ms: 0.1,\n    duration_ms: 10.0,\n"
        "    populations: [(name: \"a\", size: 3, model: Lif(tau_m_ms: -1.0))],\n)\n"
    )
    with pytest.raises(snnsim.GraphFileError) as e:
        snnsim.Simulation(bad)
    assert isinstance(e.value, snnsim.SnnsimError) and isinstance(e.value, ValueError)
    assert e.value.file == str(bad)
    assert e.value.line == 5
    assert e.value.field == "populations[0].model.Lif.tau_m_ms"
    assert e.value.col > 1
    syntax = tmp_path / "syntax.ron"
    syntax.write_text("(format_version: 1, dt_ms: 0.1,,)")
    with pytest.raises(snnsim.GraphFileError) as e:
        snnsim.Simulation(syntax)
    assert e.value.line == 1
    sim = snnsim.Simulation(root / "graphs" / "cuba.ron")
    with pytest.raises(snnsim.InputError, match="no population"):
        sim.state("nope", "v")
    with pytest.raises(snnsim.InputError, match="no state variable `w`"):
        sim.state("exc", "w")
    with pytest.raises(snnsim.InputError, match="has no Spikes recorder"):
        snnsim.Simulation(short_cuba(root, tmp_path, 1.0).with_name("cuba.ron")).spikes("nope")
    with pytest.raises(snnsim.InputError):
        sim.run(float("nan"))
    with pytest.raises(ValueError):
        snnsim.Simulation(root / "graphs" / "cuba.ron", device="tpu")
    with pytest.raises(snnsim.InputError, match="threads"):
        snnsim.Simulation(root / "graphs" / "cuba.ron", threads=0)


RULE_GRAPH = """(
    format_version: 1,
    dt_ms: 1.0,
    duration_ms: 20.0,
    populations: [
        (name: "src", size: 2, model: SpikeTimes(times_ms: [[2.0, 8.0], [4.0]])),
        (name: "dst", size: 3, model: Lif()),
    ],
    projections: [
        (name: "p", pre: "src", post: "dst", connectivity: AllToAll, weight: Constant(0.5),
         rule: RULE),
    ],
)
"""


def test_plugin_errors_and_a_failed_run(tmp_path, monkeypatch):
    missing = tmp_path / "missing.ron"
    missing.write_text(RULE_GRAPH.replace("RULE", '(plugin: "no_such_rule")'))
    # A plugin named in a file that cannot be loaded is a fault of the file, at its place.
    with pytest.raises(snnsim.GraphFileError) as e:
        snnsim.Simulation(missing)
    assert e.value.field == "projections[0].rule.plugin" and e.value.line == 11
    assert "plugin `no_such_rule`: not found" in str(e.value)
    # A rule that panics in its third step: the plugin's error, then the simulation refuses
    # to go on from a half-made step.
    fixture = target_dir() / "release"
    panics = tmp_path / "panics.ron"
    lib = fixture / "libsnnsim_plugin_panics.so"
    assert lib.exists(), f"{lib}: build the workspace first (cargo build --release)"
    panics.write_text(
        RULE_GRAPH.replace("RULE", f'(plugin: "panics", path: "{lib}", params: (after_steps: 3))')
    )
    sim = snnsim.Simulation(panics)
    with pytest.raises(snnsim.PluginError) as e:
        sim.run(20.0)
    assert e.value.kind == "Panicked" and "deliberate panic" in str(e.value)
    with pytest.raises(snnsim.SimulationError) as e:
        sim.run(1.0)
    assert isinstance(e.value, RuntimeError)


def test_ctrl_c_stops_at_a_clean_step_and_the_run_goes_on(root, tmp_path, ctrl_c):
    cuba = short_cuba(root, tmp_path, 3000.0)
    whole = snnsim.Simulation(cuba, threads=1)
    whole.run(3000.0)
    sim = snnsim.Simulation(cuba, threads=1)
    timer = threading.Timer(0.05, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        sim.run(3000.0)
    timer.join()
    assert 0 < sim.step < 30000
    sim.run(3000.0 - sim.t_ms)
    assert sim.step == 30000
    assert sim.state_hash == whole.state_hash


def test_the_gil_is_released_during_run(root):
    sim = snnsim.Simulation(root / "graphs" / "cuba.ron", threads=1)
    ticks = []
    running = threading.Event()
    done = threading.Event()

    def count():
        running.set()
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    running.wait()
    start = time.perf_counter()
    sim.run(1000.0)
    end = time.perf_counter()
    done.set()
    t.join()
    during = [x for x in ticks if start < x < end]
    # One chunk of 100 steps takes a few ms; a thread that never got the GIL back would
    # tick at most once per chunk boundary, and not at all if run held it throughout.
    assert end - start > 0.02
    assert len(during) >= 5, (len(during), end - start)


def test_describe_is_the_inspect_text(root, cli):
    sim = snnsim.Simulation(root / "graphs" / "cuba.ron")
    text = cli("inspect", root / "graphs" / "cuba.ron").stdout
    structure = [line for line in text.splitlines() if line.startswith(("  ", "populations", "projections"))]
    mine = sim.describe().splitlines()
    for line in structure:
        assert line in mine
    assert snnsim.inspect(root / "graphs" / "cuba.ron").strip() == text.strip()


def test_plugin_dirs_list_the_package_plugins_first(monkeypatch, tmp_path):
    dirs = snnsim.plugin_dirs()
    pkg = os.path.join(os.path.dirname(snnsim.__file__), "plugins")
    assert pkg in dirs
    names = {name for name, kind, path in snnsim.plugins()}
    assert {"cartpole", "pendulum", "gridworld", "reinforce", "a2c", "stdp"} <= names
    monkeypatch.setenv("SNNSIM_PLUGIN_PATH", str(tmp_path))
    assert snnsim.plugin_dirs()[0] == str(tmp_path)
    assert snnsim.plugin_dirs().index(pkg) == 1
