"""snnsim.Graph: graphs built in code, written as RON, read back; the classes against the Rust
schema they are generated from. Runs against the installed package (`pip install .`)."""

import pickle
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import snnsim
from snnsim import graph as sg

REPO = Path(__file__).resolve().parents[2]
GRAPHS = REPO / "graphs"
# Every shipped graph file (experiment files, `snnsim experiment`'s input, are another format).
SHIPPED = sorted(p for p in GRAPHS.rglob("*.ron") if "configurations:" not in p.read_text())
# Networks whose build takes too long for a unit test: compared as parsed files only.
TOO_BIG_TO_BUILD = {"cuba-400k.ron"}


def cuba():
    """graphs/cuba.ron, field by field."""
    g = snnsim.Graph(dt_ms=0.1, duration_ms=1000.0, seed=4242)
    lif = snnsim.Lif(
        tau_m_ms=20.0,
        v_rest_mv=-49.0,
        v_reset_mv=-60.0,
        v_th_mv=-50.0,
        refractory_ms=5.0,
        tau_syn_exc_ms=5.0,
        tau_syn_inh_ms=10.0,
    )
    for name, size in [("exc", 3200), ("inh", 800)]:
        g.population(name, size, model=lif, init={"v": snnsim.Uniform(-60.0, -50.0)})
    for pre, receptor, weight in [("exc", "Exc", 1.62), ("inh", "Inh", -9.0)]:
        for post in ["exc", "inh"]:
            g.project(
                pre,
                post,
                receptor=receptor,
                connectivity=snnsim.FixedProbability(0.02),
                weight=weight,
                delay_ms=0.1,
            )
    g.record(snnsim.Spikes("exc"), snnsim.Spikes(population="inh"))
    return g


def cli():
    exe = REPO / "target" / "release" / "snnsim"
    return exe if exe.is_file() else shutil.which("snnsim")


# --- (1) a graph built in code ------------------------------------------------------------------


def test_cuba_built_in_code_is_the_shipped_file(tmp_path):
    g = cuba()
    saved = g.save(tmp_path / "cuba.ron")
    snnsim.validate(saved)
    exe = cli()
    if exe:
        r = subprocess.run([exe, "validate", str(saved)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    equal, report = snnsim.diff(saved, GRAPHS / "cuba.ron")
    assert equal, report
    assert snnsim.Graph.load(GRAPHS / "cuba.ron") == g
    # The file's notation.
    text = g.to_ron()
    for line in [
        "    format_version: 1,",
        "            model: Lif(",
        "                tau_m_ms: 20.0,",
        '            init: {"v": Uniform(low: -60.0, high: -50.0)},',
        "            receptor: Inh,",
        "            connectivity: FixedProbability(p: 0.02),",
        "            weight: Constant(1.62),",
        '    recorders: [Spikes(population: "exc"), Spikes(population: "inh")],',
    ]:
        assert line in text.splitlines()


def test_a_changed_field_is_a_different_network(tmp_path):
    g = cuba()
    g.projections[3].weight = -8.0
    saved = g.save(tmp_path / "cuba.ron")
    equal, report = snnsim.diff(saved, GRAPHS / "cuba.ron")
    assert not equal
    assert snnsim.Graph.load(GRAPHS / "cuba.ron") != g


def test_simulation_of_the_built_graph_matches_the_file():
    a = snnsim.Simulation(cuba())
    b = snnsim.Simulation(str(GRAPHS / "cuba.ron"))
    a.run(100.0)
    b.run(100.0)
    assert a.step == b.step == 1000
    assert a.state_hash == b.state_hash
    t_a, i_a = a.spikes("exc")
    t_b, i_b = b.spikes("exc")
    assert len(t_a) > 0
    assert (t_a == t_b).all() and (i_a == i_b).all()


# --- (2) every shipped file round-trips -----------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=[str(p.relative_to(GRAPHS)) for p in SHIPPED])
def test_shipped_file_round_trips(path, tmp_path):
    g = snnsim.Graph.load(path)
    saved = g.save(tmp_path / path.name)
    again = snnsim.Graph.load(saved)
    assert again == g
    assert again.to_ron() == g.to_ron()
    # Nothing lost: the parsed files are the same with every default filled in.
    assert again._canon() == snnsim.Graph.load(path)._canon()
    assert snnsim.Graph.from_ron(path.read_text()) == g
    if path.name not in TOO_BIG_TO_BUILD:
        equal, report = snnsim.diff(saved, path)
        assert equal, report


def test_load_leaves_defaults_out():
    g = snnsim.Graph.load(GRAPHS / "cuba.ron")
    assert g.projections[0].receptor is None  # `receptor: Exc`, the default
    assert g.projections[2].receptor == "Inh"  # strings compare to unit variants
    assert g.populations[0].model.tau_m_ms == 20.0
    assert g.populations[0].model.r_mohm is None
    assert g.stimuli == []


def test_load_error_names_line_and_field(tmp_path):
    bad = tmp_path / "bad.ron"
    bad.write_text((GRAPHS / "cuba.ron").read_text().replace("tau_m_ms: 20.0", "tau_m_mss: 20.0", 1))
    with pytest.raises(snnsim.GraphFileError) as e:
        snnsim.Graph.load(bad)
    assert (e.value.line, e.value.col) == (18, 17)
    assert e.value.field.startswith("populations[0].model")
    with pytest.raises(FileNotFoundError):
        snnsim.Graph.load(tmp_path / "missing.ron")


# --- (3) the classes and the Rust schema ---------------------------------------------------------


def _deref(schema):
    if "$ref" in schema:
        return sg.SCHEMA["$defs"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _schema_types():
    """(Rust name, field names) of every struct and enum variant, read from the schema JSON
    here, independently of the generator."""
    out = {"GraphFile": list(sg.SCHEMA["properties"])}
    for name, d in sg.SCHEMA["$defs"].items():
        if "oneOf" not in d and "enum" not in d:
            out[name] = list(d.get("properties", {}))
            continue
        for arm in d.get("oneOf", [{"enum": d.get("enum", [])}]):
            if "const" in arm or "enum" in arm:
                for v in [arm["const"]] if "const" in arm else arm["enum"]:
                    out[f"{name}::{v}"] = []
                continue
            ((v, payload),) = arm["properties"].items()
            target = _deref(payload)
            # A struct: an object with properties, or without (an empty struct whose unknown
            # fields are denied); a map's additionalProperties is a schema instead.
            closed = target.get("additionalProperties", False) is False
            if target.get("type") == "object" and closed or "properties" in target:
                out[f"{name}::{v}"] = list(target.get("properties", {}))
            else:
                out[f"{name}::{v}"] = ["value"]
    return out


def test_every_schema_type_and_field_is_in_python():
    expected = _schema_types()
    assert len(expected) > 50
    for rust, fields in expected.items():
        cls = sg.TYPES.get(rust)
        assert cls is not None, f"{rust} is in the Rust schema but not in Python"
        assert list(cls._fields) == fields, rust
        for f in fields:
            cls._types[f]  # noqa: B018  (a KeyError fails the test)
    # And nothing in Python that Rust lacks.
    generated = {k for k, c in sg.TYPES.items() if c._kind is not None}
    assert generated == set(expected)
    assert list(snnsim.Graph._fields) == expected["GraphFile"]


# Fields known to be in the format: a generator that lost them (or a schema that lost them)
# cannot pass by comparing nothing with nothing.
KNOWN = {
    snnsim.Lif: ["tau_m_ms", "v_rest_mv", "v_th_mv", "integration"],
    snnsim.CobaLif: ["e_exc_mv", "tau_syn_inh_ms"],
    snnsim.Izhikevich: ["a", "b", "c", "d", "integration"],
    snnsim.AdEx: ["c_pf", "v_cut_mv"],
    snnsim.LifAlpha: ["tau_m_ms", "c_pf", "v_th_mv", "tau_syn_exc_ms", "i_bias_na"],
    snnsim.Poisson: ["rate_hz"],
    snnsim.SpikeTimes: ["times_ms"],
    snnsim.Synaptic: ["alpha", "tau_mem_ms", "reset"],
    snnsim.Alif: ["tau_a_ms", "beta_a"],
    snnsim.ProjectionSpec: ["name", "pre", "post", "receptor", "connectivity", "weight",
                            "delay_ms", "allow_autapses", "rule"],
    snnsim.PopulationSpec: ["name", "size", "model", "init"],
    snnsim.Graph: ["format_version", "dt_ms", "duration_ms", "seed", "device", "populations",
                   "projections", "stimuli", "recorders", "task", "checkpoint_every"],
    snnsim.FixedProbability: ["p"],
    snnsim.FixedInDegree: ["k"],
    snnsim.List: ["pairs"],
    snnsim.Dense: ["weights"],
    snnsim.Uniform: ["low", "high"],
    snnsim.Normal: ["mean", "std"],
    snnsim.KaimingNormal: ["gain"],
    snnsim.Constant: ["value"],
    snnsim.Dc: ["target", "amplitude_na", "start_ms", "stop_ms", "neurons"],
    snnsim.Spikes: ["population"],
    snnsim.State: ["population", "variables", "neurons", "every_ms"],
    snnsim.Weights: ["projection"],
    snnsim.TaskSpec.Agent: ["environment", "rule", "input", "hidden", "readout", "decision_steps",
                   "structure", "encoder", "decoder"],
    snnsim.Control: ["surrogate", "critic", "solved_at"],
    snnsim.RuleSpec: ["plugin", "path", "params"],
    snnsim.StructureSpec: ["grow_interval", "max_hidden", "min_hidden"],
    snnsim.OnOff: ["scale"],
    snnsim.Gaussian: ["scale", "log_std", "low", "high"],
    snnsim.SnnTorch: ["beta", "reset"],
}


@pytest.mark.parametrize("cls", KNOWN, ids=[c._rust for c in KNOWN])
def test_known_fields(cls):
    expected = _schema_types()
    for f in KNOWN[cls]:
        assert f in cls._fields, f"{cls._rust}.{f}"
        assert f in expected[cls._rust], f"{cls._rust}.{f} is not in the Rust schema"


def test_names_users_write():
    for name in ["Lif", "LifAlpha", "CobaLif", "Poisson", "SpikeTimes", "Observation",
                 "Synaptic", "Alpha", "Alif", "Izhikevich", "AdEx", "AllToAll", "OneToOne",
                 "FixedProbability", "FixedInDegree", "List", "Dense", "Constant", "Uniform",
                 "Normal", "KaimingNormal", "KaimingUniform", "XavierNormal", "XavierUniform",
                 "Dc", "Spikes", "State", "Weights", "Control", "Graph"]:
        assert getattr(snnsim, name) is getattr(sg, name)
        assert name in snnsim.__all__
    # `snnsim.Agent` is the trained policy; the task variant is `snnsim.TaskSpec.Agent`.
    assert callable(snnsim.Agent.load)
    assert snnsim.TaskSpec.Agent.__name__ == "Agent"
    assert snnsim.ModelSpec.Lif is snnsim.Lif
    assert snnsim.Receptor.Inh() == "Inh" and snnsim.Receptor.Inh() != "Exc"
    # No generated name hides one of the package's own.
    for name in sg.__all__:
        assert getattr(snnsim, name) is getattr(sg, name), name


def _sample(t, choose):
    """A value of type `t` with every field set; enums take the variant `choose` names."""
    if isinstance(t, sg._Optional):
        return _sample(t.inner, choose)
    if isinstance(t, sg._RawRon):
        return "(x: 1, y: [2.5])"
    if isinstance(t, sg._Number):
        return 1.25
    if isinstance(t, sg._Integer):
        return 3
    if isinstance(t, sg._String):
        return 'a "name"\n'
    if isinstance(t, sg._Bool):
        return True
    if isinstance(t, sg._List):
        return [_sample(t.item, choose)]
    if isinstance(t, sg._Tuple):
        return tuple(_sample(i, choose) for i in t.items)
    if isinstance(t, sg._Map):
        return {"v": _sample(t.value, choose)}
    if isinstance(t, sg._Struct):
        return _full(t.cls, choose)
    if isinstance(t, sg._Enum):
        name = t.base.__name__
        variants = t.base.variants
        cls = variants.get(choose.get(name)) or next(iter(variants.values()))
        # Inside itself a recursive enum (a Chain's steps) takes its first variant.
        return _full(cls, {k: v for k, v in choose.items() if k != name})
    raise AssertionError(t)


def _full(cls, choose):
    return cls(**{f: _sample(cls._types[f], choose) for f in cls._fields})


def _enums_in(t):
    """The enums a value of type `t` holds without passing through another enum."""
    if isinstance(t, sg._Optional):
        return _enums_in(t.inner)
    if isinstance(t, sg._List):
        return _enums_in(t.item)
    if isinstance(t, sg._Map):
        return _enums_in(t.value)
    if isinstance(t, sg._Tuple):
        return set().union(*(_enums_in(i) for i in t.items))
    if isinstance(t, sg._Struct):
        return set().union(*(_enums_in(f) for f in t.cls._types.values()))
    if isinstance(t, sg._Enum):
        return {t.base.__name__}
    return set()


def _route(enum, variant):
    """Variant choices that put `enum::variant` into a graph: the variant itself, and for each
    enum around it a variant whose fields hold it (`ModelSpec::Izhikevich` for
    `IzhikevichIntegration`)."""
    choose = {enum: variant}
    wanted = {enum}
    changed = True
    while changed:
        changed = False
        for name, base in ((k, c) for k, c in sg.TYPES.items() if c._kind is None):
            if name in choose:
                continue
            for v, cls in base.variants.items():
                if set().union(*(_enums_in(t) for t in cls._types.values())) & wanted:
                    choose[name] = v
                    wanted.add(name)
                    changed = True
                    break
    return choose


ALL_VARIANTS = [(k.split("::")[0], k.split("::")[1]) for k in sg.TYPES if "::" in k]


@pytest.mark.parametrize("enum,variant", ALL_VARIANTS, ids=[f"{e}::{v}" for e, v in ALL_VARIANTS])
def test_every_field_reaches_the_parser(enum, variant):
    """A graph with every field of every type set (this variant where its enum appears)
    parses in Rust, which denies unknown fields, and reads back the same."""
    g = _full(snnsim.Graph, _route(enum, variant))
    g.format_version = sg.FORMAT_VERSION
    text = g.to_ron()
    assert re.search(rf"\b{variant}\b", text)
    back = snnsim.Graph.from_ron(text)
    assert back == g
    assert back._canon() == g._canon()


# --- (4) bad input -------------------------------------------------------------------------------


def test_unknown_keyword_is_a_type_error_naming_the_fields():
    with pytest.raises(TypeError, match="tau_m_mss.*tau_m_ms"):
        snnsim.Lif(tau_m_mss=20.0)
    with pytest.raises(TypeError, match="weigth.*weight"):
        cuba().project("exc", "inh", connectivity=snnsim.AllToAll(), weigth=1.0)
    with pytest.raises(TypeError, match="dt_ms"):
        snnsim.Graph(duration_ms=1.0)
    with pytest.raises(TypeError, match="missing required field: p"):
        snnsim.FixedProbability()
    with pytest.raises(TypeError, match="at most 1 positional"):
        snnsim.FixedProbability(0.1, 0.2)
    with pytest.raises(TypeError, match="keyword arguments only"):
        snnsim.ProjectionSpec("exc->inh", "exc", "inh")  # `name` is optional, `pre` is not
    with pytest.raises(TypeError, match="no arguments"):
        snnsim.AllToAll(1)
    with pytest.raises(AttributeError, match="tau_m_ms"):
        snnsim.Lif().tau = 3.0


def test_wrong_types_are_refused():
    with pytest.raises(TypeError, match="Lif.tau_m_ms: expected a number"):
        snnsim.Lif(tau_m_ms="20")
    with pytest.raises(TypeError, match="expected a number"):
        snnsim.Lif(tau_m_ms=True)
    with pytest.raises(ValueError, match=">= 0"):
        snnsim.PopulationSpec("a", -1, snnsim.Lif())
    with pytest.raises(TypeError, match="integer"):
        snnsim.PopulationSpec("a", 2.5, snnsim.Lif())
    with pytest.raises(TypeError, match="Exc, Inh"):
        snnsim.ProjectionSpec(pre="a", post="b", connectivity="AllToAll", receptor="Excitatory")
    with pytest.raises(TypeError, match="Connectivity"):
        snnsim.ProjectionSpec(pre="a", post="b", connectivity=0.5)
    with pytest.raises(TypeError, match="is an enum"):
        snnsim.Init()


def test_conveniences():
    p = snnsim.ProjectionSpec(
        pre="a", post="b", connectivity="AllToAll", weight=2, delay_ms=snnsim.Normal(1.0, 0.1),
        rule={"plugin": "stdp", "params": {"a_plus": 0.01, "nearest": True}},
    )
    assert p.weight == snnsim.Constant(2.0)
    assert p.connectivity == snnsim.AllToAll()
    assert p.rule == snnsim.RuleSpec(plugin="stdp", params="(a_plus: 0.01, nearest: true)")
    assert p.allow_autapses is None
    del p.weight
    assert p.weight is None
    assert snnsim.Lif() == snnsim.Lif(tau_m_ms=10.0)  # the default
    assert snnsim.Lif() != snnsim.Lif(tau_m_ms=20.0)
    assert pickle.loads(pickle.dumps(cuba())) == cuba()
    assert "tau_m_ms" in str(snnsim.Lif.__signature__)
    assert "Membrane time constant" in snnsim.Lif.__doc__


def test_floats_round_trip_exactly():
    xs = [0.1, 1 / 3, 1e-05, 1e22, -2.5e-310, 123456789.123456789, -0.0, 5e-324]
    g = snnsim.Graph(dt_ms=0.1, duration_ms=1.0)
    g.population("s", len(xs), snnsim.SpikeTimes(times_ms=[[x] for x in xs]))
    back = snnsim.Graph.from_ron(g.to_ron())
    got = [t[0] for t in back.populations[0].model.times_ms]
    assert [x.hex() for x in got] == [x.hex() for x in xs]


def test_non_finite_numbers():
    g = cuba()
    g.dc("exc", 0.5, stop_ms=float("inf"))
    text = g.to_ron()
    assert "stop_ms: inf)" in text
    # JSON, which carries a parsed file to Python, has no infinity: refused, not lost.
    with pytest.raises(snnsim.InputError, match="not finite"):
        snnsim.Graph.from_ron(text)
    g.duration_ms = float("nan")
    with pytest.raises(snnsim.GraphFileError) as e:
        g.validate()
    assert e.value.field == "duration_ms"


def test_invalid_value_is_a_graph_file_error_with_its_field():
    g = cuba()
    g.populations[1].model = snnsim.Lif(tau_m_ms=-1.0)
    with pytest.raises(snnsim.GraphFileError) as e:
        snnsim.Simulation(g)
    assert e.value.field == "populations[1].model.Lif.tau_m_ms"
    assert e.value.line is not None
    assert "tau_m_ms: -1.0" in g.to_ron().splitlines()[e.value.line - 1]
    with pytest.raises(snnsim.GraphFileError) as e:
        g.validate()
    assert e.value.field == "populations[1].model.Lif.tau_m_ms"
    g = cuba()
    g.project("exc", "nowhere", connectivity="AllToAll", weight=1.0)
    with pytest.raises(snnsim.GraphFileError) as e:
        g.validate()
    assert e.value.field == "projections[4].post"
