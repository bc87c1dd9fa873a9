"""The Gymnasium environments of snnsim (snnsim/gym.py) against Gymnasium's own.

The classic-control environments must give Gymnasium's trajectories for the same seed and
actions: reset draws the initial state as Gymnasium does, the plugin steps it. Observations
are compared to float32 rounding (1e-6 relative, the contract); the float64 states are
compared exactly on Linux, where numpy and the plugins call the same C library for sin, cos
and pow.
"""

import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")

import snnsim  # noqa: E402
from gymnasium.utils.env_checker import check_env  # noqa: E402
from snnsim import _snnsim  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

CLASSIC = ["CartPole-v1", "Pendulum-v1", "MountainCar-v0", "Acrobot-v1"]
ALL_IDS = [f"snnsim/{i}" for i in CLASSIC] + ["snnsim/Foraging-v0"]


def warnings_of(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return sorted({str(w.message) for w in caught})


def test_the_ids_are_registered():
    assert snnsim.gym.ENV_IDS == tuple(ALL_IDS)
    for env_id in ALL_IDS:
        assert env_id in gymnasium.registry


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_check_env_passes_with_no_more_warnings_than_gymnasiums_own(env_id):
    env = gymnasium.make(env_id)
    got = warnings_of(lambda: check_env(env.unwrapped))
    if env_id.endswith("Foraging-v0"):
        assert got == []
    else:
        # Gymnasium's own env: CartPole's infinite velocity bounds and Pendulum's [-2, 2]
        # torque warn, and the spaces are Gymnasium's, so they warn here too. (Its render
        # check needs pygame; ours have no render modes, so check_env has nothing to render.)
        ref = gymnasium.make(env_id.removeprefix("snnsim/")).unwrapped
        want = warnings_of(lambda: check_env(ref, skip_render_check=True))
        assert got == want
    env.close()


@pytest.mark.parametrize("gym_id", CLASSIC)
def test_spaces_and_spec_are_gymnasiums(gym_id):
    ours, ref = gymnasium.make(f"snnsim/{gym_id}"), gymnasium.make(gym_id)
    assert ours.observation_space == ref.observation_space
    assert ours.action_space == ref.action_space
    assert ours.spec.max_episode_steps == ref.spec.max_episode_steps
    assert ours.spec.reward_threshold == ref.spec.reward_threshold
    assert ours.spec.max_episode_steps in (200, 500)


def plugin_state(env):
    return np.array(json.loads(env.unwrapped._env.save_state())["state"])


def actions_for(gym_id, rng):
    if gym_id == "Pendulum-v1":
        return lambda: rng.uniform(-2.0, 2.0, size=1).astype(np.float32)
    n = {"CartPole-v1": 2, "MountainCar-v0": 3, "Acrobot-v1": 3}[gym_id]
    return lambda: int(rng.integers(n))


@pytest.mark.parametrize("gym_id", CLASSIC)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_trajectories_are_gymnasiums(gym_id, seed):
    """Seeded reset, then an unseeded one (the generator goes on), each to its episode's end."""
    ours, ref = gymnasium.make(f"snnsim/{gym_id}"), gymnasium.make(gym_id)
    action = actions_for(gym_id, np.random.default_rng(20240601 + seed))
    limit = ref.spec.max_episode_steps
    worst = 0.0
    for episode_seed in (seed, None):
        o1, info = ours.reset(seed=episode_seed)
        o2, _ = ref.reset(seed=episode_seed)
        assert info == {} and o1.dtype == np.float32 and o1.shape == o2.shape
        np.testing.assert_allclose(o1, o2, rtol=1e-6, atol=0)
        for t in range(1, limit + 1):
            a = action()
            obs, reward, terminated, truncated, info = ours.step(a)
            r_obs, r_reward, r_terminated, r_truncated, _ = ref.step(a)
            assert obs.dtype == np.float32 and obs in ours.observation_space
            np.testing.assert_allclose(obs, r_obs, rtol=1e-6, atol=0, err_msg=f"step {t}")
            worst = max(worst, float(np.max(np.abs(obs.astype(np.float64) - r_obs))))
            assert reward == pytest.approx(float(r_reward), rel=1e-12, abs=0)
            assert (terminated, truncated) == (r_terminated, r_truncated), f"step {t}"
            assert type(terminated) is bool and type(truncated) is bool
            if sys.platform.startswith("linux"):
                np.testing.assert_array_equal(
                    plugin_state(ours), np.asarray(ref.unwrapped.state, dtype=np.float64)
                )
            if terminated or truncated:
                break
        # Pendulum and MountainCar (random actions) run into the time limit, on its step.
        assert truncated == (t == limit)
        if gym_id in ("Pendulum-v1", "MountainCar-v0"):
            assert truncated and not terminated
    assert worst == 0.0


@pytest.mark.parametrize(
    "gym_id, options",
    [
        ("CartPole-v1", {"low": -0.2, "high": 0.1}),
        ("Pendulum-v1", {"x_init": 0.5, "y_init": 0.25}),
        ("MountainCar-v0", {"low": -0.55, "high": -0.45}),
        ("Acrobot-v1", {"high": 0.3}),
    ],
)
def test_reset_options_are_gymnasiums(gym_id, options):
    ours, ref = gymnasium.make(f"snnsim/{gym_id}"), gymnasium.make(gym_id)
    o1, _ = ours.reset(seed=7, options=options)
    o2, _ = ref.reset(seed=7, options=options)
    np.testing.assert_array_equal(o1, o2)
    np.testing.assert_array_equal(
        plugin_state(ours), np.asarray(ref.unwrapped.state, dtype=np.float64)
    )
    default, _ = ours.reset(seed=7)
    assert not np.array_equal(default, o1)
    bad = {"x_init": "a"} if gym_id == "Pendulum-v1" else {"low": 1.0, "high": 0.0}
    with pytest.raises(ValueError):
        ours.reset(options=bad)


def test_the_time_limit_is_gymnasiums_and_not_the_plugins():
    # gymnasium.make's max_episode_steps moves the limit, as with Gymnasium's envs ...
    for n in (5, 600):
        ours = gymnasium.make("snnsim/Pendulum-v1", max_episode_steps=n)
        ref = gymnasium.make("Pendulum-v1", max_episode_steps=n)
        ours.reset(seed=1)
        ref.reset(seed=1)
        flags = []
        for _ in range(n):
            a = np.array([0.5], dtype=np.float32)
            flags.append(ours.step(a)[3])
            assert flags[-1] == ref.step(a)[3]
        assert flags == [False] * (n - 1) + [True]
    # ... and the unwrapped env never truncates (the plugin's own limit is off).
    env = snnsim.gym.PendulumEnv()
    env.reset(seed=0)
    for _ in range(600):
        *_, terminated, truncated, _ = env.step(np.array([0.5], dtype=np.float32))
        assert not truncated and not terminated

def test_pendulum_clips_and_rounds_the_torque_as_gymnasium():
    ours, ref = snnsim.gym.PendulumEnv(), gymnasium.make("Pendulum-v1").unwrapped
    ours.reset(seed=3)
    ref.reset(seed=3)
    for a in (np.array([5.0], np.float32), np.array([-3.5], np.float32), np.float32(0.25)):
        o1, r1, *_ = ours.step(a)
        o2, r2, *_ = ref.step(np.atleast_1d(a))
        np.testing.assert_array_equal(o1, o2)
        assert r1 == r2


def test_bad_use_raises_clear_errors():
    env = snnsim.gym.CartPoleEnv()
    with pytest.raises(snnsim.PluginError, match="before the first reset"):
        env.step(0)
    env.reset(seed=0)
    with pytest.raises(snnsim.PluginError, match="action 2"):
        env.step(2)
    with pytest.raises(snnsim.PluginError, match="action 0.5"):
        env.step(0.5)
    terminated = False
    while not terminated:
        _, _, terminated, _, _ = env.step(1)
    with pytest.raises(snnsim.PluginError, match="call reset"):
        env.step(1)
    env.reset()  # and it goes on after a reset
    env.step(0)
    with pytest.raises(ValueError, match="render_mode must be None"):
        with pytest.warns(UserWarning, match="render_mode"):  # Gymnasium's own warning
            gymnasium.make("snnsim/CartPole-v1", render_mode="human")
    with pytest.raises(NotImplementedError):
        env.render()


def test_native_env_errors_name_the_plugin():
    with pytest.raises(snnsim.PluginError, match="nosuchenv") as e:
        _snnsim.Env("nosuchenv")
    assert e.value.plugin == "nosuchenv" and e.value.kind == "NotFound"
    with pytest.raises(snnsim.PluginError, match="max_steps") as e:
        _snnsim.Env("cartpole", "(max_steps: 0)")
    assert e.value.kind == "Params"
    with pytest.raises(snnsim.PluginError) as e:
        _snnsim.Env("stdp")
    assert e.value.kind == "WrongKind"
    env = _snnsim.Env("cartpole")
    env.reset(0)
    with pytest.raises(snnsim.PluginError, match="load"):
        env.load_state(b"not json")
    with pytest.raises(snnsim.PluginError, match="one value"):
        env.step([0, 1])
    with pytest.raises(OverflowError):
        env.reset(-1)


def test_native_env_reset_step_save_load():
    env = _snnsim.Env("cartpole")
    assert (env.plugin, env.params) == ("cartpole", "()")
    assert (env.observation_len, env.discrete_actions, env.action_len) == (4, 2, 1)
    p = _snnsim.Env("pendulum")
    assert (p.observation_len, p.discrete_actions, p.action_len) == (3, None, 1)
    obs = env.reset(5)
    assert obs.dtype == np.float64 and obs.shape == (4,)
    assert np.array_equal(obs, env.reset(5)) and not np.array_equal(obs, env.reset(6))
    env.step(np.int64(1))
    saved = env.save_state()
    assert isinstance(saved, bytes)
    first = [env.step(a) for a in (0, 1, 1)]
    env.load_state(saved)
    again = [env.step(np.array([a], dtype=np.float32)) for a in (0, 1, 1)]
    for (o1, *rest1), (o2, *rest2) in zip(first, again):
        assert np.array_equal(o1, o2) and rest1 == rest2
    assert repr(env) == "<snnsim._snnsim.Env cartpole ()>"


def foraging_params():
    """graphs/foraging.ron's environment params."""
    text = (ROOT / "graphs" / "foraging.ron").read_text()
    m = re.search(r'plugin:\s*"gridworld",\s*params:\s*\(([^)]*)\)', text)
    assert m, "graphs/foraging.ron names no gridworld environment"
    return {k: int(v) for k, v in re.findall(r"(\w+):\s*(\d+)", m.group(1))}


def test_foraging_is_the_foraging_task():
    if not (ROOT / "graphs" / "foraging.ron").is_file():
        pytest.skip("not run from a source tree")
    params = foraging_params()
    env = gymnasium.make("snnsim/Foraging-v0")
    assert env.spec.max_episode_steps is None  # the plugin truncates, once
    u = env.unwrapped
    assert u._env.params == "(size: {size}, food: {food}, max_steps: {max_steps})".format(
        **params
    )
    n = params["size"] ** 2
    assert env.observation_space == gymnasium.spaces.Box(0.0, 1.0, (2 * n,), np.float32)
    assert env.action_space == gymnasium.spaces.Discrete(4)
    # reset(seed=s) is the plugin's layout for seed s
    native = _snnsim.Env("gridworld", u._env.params)
    for s in (0, 1, 2**64 - 1):
        obs, _ = env.reset(seed=s)
        assert np.array_equal(obs, native.reset(s))
        assert obs.sum() == 1 + params["food"] and obs[:n].sum() == 1
    # a random episode: reward -0.01 per step, +1 per food; truncated on step max_steps
    env.reset(seed=4)
    env.action_space.seed(4)
    rewards = []
    for t in range(1, params["max_steps"] + 1):
        obs, r, terminated, truncated, _ = env.step(env.action_space.sample())
        rewards.append(r)
        if terminated or truncated:
            break
    assert truncated and not terminated and t == params["max_steps"]
    assert set(np.round(rewards, 9)) <= {-0.01, 0.99}
    # unseeded resets go on from the generator deterministically
    a = [env.reset(seed=9)[0]] + [env.reset()[0] for _ in range(2)]
    b = [env.reset(seed=9)[0]] + [env.reset()[0] for _ in range(2)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[1], a[2])


def test_foraging_params_can_be_changed():
    env = gymnasium.make("snnsim/Foraging-v0", size=5, food=2, max_steps=3)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (50,) and obs.sum() == 3
    for t in range(3):
        *_, terminated, truncated, _ = env.step(0)
    assert truncated or terminated
    with pytest.raises(snnsim.PluginError, match="params.food"):
        gymnasium.make("snnsim/Foraging-v0", size=2, food=4)


def test_vector_env():
    envs = gymnasium.make_vec("snnsim/CartPole-v1", num_envs=3)
    obs, _ = envs.reset(seed=11)
    ref = gymnasium.make_vec("CartPole-v1", num_envs=3, vectorization_mode="sync")
    r_obs, _ = ref.reset(seed=11)
    assert np.array_equal(obs, r_obs)
    for _ in range(30):
        a = np.array([0, 1, 1])
        o1, rw1, te1, tr1, _ = envs.step(a)
        o2, rw2, te2, tr2, _ = ref.step(a)
        assert np.array_equal(o1, o2) and np.array_equal(te1, te2) and np.array_equal(rw1, rw2)
    envs.close()


HIDE_GYMNASIUM = """
import sys

class HideGymnasium:
    def find_spec(self, name, path=None, target=None):
        if name == "gymnasium" or name.startswith("gymnasium."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, HideGymnasium())
for name in [m for m in sys.modules if m == "gymnasium" or m.startswith("gymnasium.")]:
    del sys.modules[name]

import snnsim

assert "gymnasium" not in sys.modules
assert not hasattr(snnsim, "gym")
env = snnsim._snnsim.Env("cartpole")
assert env.reset(1).shape == (4,)
try:
    import snnsim.gym
except ModuleNotFoundError as e:
    assert e.name == "gymnasium"
else:
    raise AssertionError("snnsim.gym imported without gymnasium")
print("ok")
"""


def test_import_works_without_gymnasium():
    out = subprocess.run(
        [sys.executable, "-c", HIDE_GYMNASIUM],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
