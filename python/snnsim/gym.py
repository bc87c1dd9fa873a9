"""Gymnasium environments of snnsim's environment plugins.

Importing ``snnsim`` imports this module when Gymnasium is installed (it is optional), which
registers:

==========================  ==========================  ===================================
id                          class                       plugin
==========================  ==========================  ===================================
``snnsim/CartPole-v1``      :class:`CartPoleEnv`        ``cartpole``
``snnsim/Pendulum-v1``      :class:`PendulumEnv`        ``pendulum``
``snnsim/MountainCar-v0``   :class:`MountainCarEnv`     ``mountaincar``
``snnsim/Acrobot-v1``       :class:`AcrobotEnv`         ``acrobot``
``snnsim/Foraging-v0``      :class:`ForagingEnv`        ``gridworld`` (graphs/foraging.ron)
==========================  ==========================  ===================================

The dynamics are the plugins' (Rust, through :class:`snnsim._snnsim.Env`); everything
Gymnasium defines around them is Gymnasium's own, so that a classic-control environment gives
Gymnasium's trajectory for the same seed and actions:

- ``reset(seed=s, options=o)`` draws the initial state in Python from ``self.np_random`` with
  the very calls of Gymnasium's environment (the same reset ``options`` included), puts it
  into the plugin (its saved-state format, ``{"state": [...]}``) and computes the first
  observation as Gymnasium does. The plugin's own reset draws from another generator, so it
  is not used.
- The spaces, ``max_episode_steps`` and ``reward_threshold`` are Gymnasium's. The time limit
  is Gymnasium's ``TimeLimit`` wrapper, added by ``gymnasium.make``; the plugin's own limit is
  switched off (``max_steps`` set beyond reach), so an episode is never truncated twice and
  ``gymnasium.make(id, max_episode_steps=n)`` works as with Gymnasium's environments.
- Observations are float32, as Gymnasium's; Pendulum's torque is taken as float32 (the action
  space's dtype), as Gymnasium computes with a float32 action.

Foraging-v0 is the foraging task's grid world with its parameters (15 × 15, 5 food items, 100
steps) and the plugin's own semantics: its reset draws the layout from the plugin's generator
(``reset(seed=s)`` gives the layout of the plugin's seed ``s``, modulo 2**64; ``reset()`` draws
the next seed from ``np_random``), and the plugin truncates after ``max_steps`` (a step that
eats the last food reports only ``terminated``), so no ``TimeLimit`` is registered.

Differences from Gymnasium's environments: nothing is rendered (``render_mode`` must be None);
stepping after an episode ended, or before the first reset, raises
:class:`snnsim.PluginError` (Gymnasium's CartPole warns and goes on); ``info`` is always ``{}``.
"""

import json
import math
import sys

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control import utils as _cc_utils

from . import _snnsim

__all__ = [
    "CartPoleEnv",
    "PendulumEnv",
    "MountainCarEnv",
    "AcrobotEnv",
    "ForagingEnv",
    "ENV_IDS",
]

# A step count no episode reaches (and that fits the plugin's usize on every platform).
_NO_LIMIT = sys.maxsize


class _PluginEnv(gymnasium.Env):
    """A Gymnasium environment stepped by an snnsim environment plugin."""

    metadata = {"render_modes": []}

    def __init__(self, plugin, params, render_mode=None):
        if render_mode is not None:
            raise ValueError(
                f"{type(self).__name__} renders nothing: render_mode must be None, "
                f"got {render_mode!r}"
            )
        self.render_mode = None
        self._env = _snnsim.Env(plugin, params)

    def step(self, action):
        obs, reward, terminated, truncated = self._env.step(action)
        return obs.astype(np.float32), reward, terminated, truncated, {}


class _ClassicControlEnv(_PluginEnv):
    """A classic-control plugin started from Gymnasium's initial state."""

    def __init__(self, plugin, render_mode=None):
        super().__init__(plugin, f"(max_steps: {_NO_LIMIT})", render_mode)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        state = self._initial_state(options)
        self._env.load_state(
            json.dumps({"state": [float(x) for x in state]}).encode()
        )
        return self._observation(state), {}

    def _initial_state(self, options):
        raise NotImplementedError

    @staticmethod
    def _observation(state):
        return np.array(state, dtype=np.float32)


class CartPoleEnv(_ClassicControlEnv):
    """Gymnasium's CartPole-v1, stepped by the ``cartpole`` plugin.

    Reset options as Gymnasium's: ``low`` and ``high`` of the uniform initial state.
    """

    def __init__(self, render_mode=None):
        super().__init__("cartpole", render_mode)
        high = np.array(
            [2.4 * 2, np.inf, 12 * 2 * math.pi / 360 * 2, np.inf], dtype=np.float32
        )
        self.action_space = spaces.Discrete(2)
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)

    def _initial_state(self, options):
        low, high = _cc_utils.maybe_parse_reset_bounds(options, -0.05, 0.05)
        return self.np_random.uniform(low=low, high=high, size=(4,))


class PendulumEnv(_ClassicControlEnv):
    """Gymnasium's Pendulum-v1, stepped by the ``pendulum`` plugin.

    Reset options as Gymnasium's: ``x_init`` and ``y_init``, the bounds of the uniform initial
    angle and angular velocity. The torque is rounded to float32 and clipped to [-2, 2].
    """

    def __init__(self, render_mode=None):
        super().__init__("pendulum", render_mode)
        high = np.array([1.0, 1.0, 8.0], dtype=np.float32)
        self.action_space = spaces.Box(low=-2.0, high=2.0, shape=(1,), dtype=np.float32)
        self.observation_space = spaces.Box(low=-high, high=high, dtype=np.float32)

    def _initial_state(self, options):
        if options is None:
            high = np.array([np.pi, 1.0])
        else:
            x = options.get("x_init") if "x_init" in options else np.pi
            y = options.get("y_init") if "y_init" in options else 1.0
            x = _cc_utils.verify_number_and_cast(x)
            y = _cc_utils.verify_number_and_cast(y)
            high = np.array([x, y])
        return self.np_random.uniform(low=-high, high=high)

    @staticmethod
    def _observation(state):
        theta, thetadot = state
        return np.array([np.cos(theta), np.sin(theta), thetadot], dtype=np.float32)


class MountainCarEnv(_ClassicControlEnv):
    """Gymnasium's MountainCar-v0, stepped by the ``mountaincar`` plugin.

    Reset options as Gymnasium's: ``low`` and ``high`` of the uniform initial position.
    """

    def __init__(self, render_mode=None):
        super().__init__("mountaincar", render_mode)
        low = np.array([-1.2, -0.07], dtype=np.float32)
        high = np.array([0.6, 0.07], dtype=np.float32)
        self.action_space = spaces.Discrete(3)
        self.observation_space = spaces.Box(low, high, dtype=np.float32)

    def _initial_state(self, options):
        low, high = _cc_utils.maybe_parse_reset_bounds(options, -0.6, -0.4)
        return np.array([self.np_random.uniform(low=low, high=high), 0])


class AcrobotEnv(_ClassicControlEnv):
    """Gymnasium's Acrobot-v1, stepped by the ``acrobot`` plugin.

    Reset options as Gymnasium's: ``low`` and ``high`` of the uniform initial state (which is
    rounded to float32, as Gymnasium's is).
    """

    def __init__(self, render_mode=None):
        super().__init__("acrobot", render_mode)
        high = np.array([1.0, 1.0, 1.0, 1.0, 4 * np.pi, 9 * np.pi], dtype=np.float32)
        self.observation_space = spaces.Box(low=-high, high=high, dtype=np.float32)
        self.action_space = spaces.Discrete(3)

    def _initial_state(self, options):
        low, high = _cc_utils.maybe_parse_reset_bounds(options, -0.1, 0.1)
        return self.np_random.uniform(low=low, high=high, size=(4,)).astype(np.float32)

    @staticmethod
    def _observation(state):
        # The float32 state of a reset: cos and sin in float32, as Gymnasium computes them.
        s = state
        return np.array(
            [np.cos(s[0]), np.sin(s[0]), np.cos(s[1]), np.sin(s[1]), s[2], s[3]],
            dtype=np.float32,
        )


class ForagingEnv(_PluginEnv):
    """The foraging grid world (the ``gridworld`` plugin) with graphs/foraging.ron's parameters.

    A ``size`` × ``size`` grid with ``food`` items; the observation is ``2·size²`` values in
    {0, 1} (channel 0: the agent's cell, channel 1: the food cells, row-major); actions 0 up,
    1 down, 2 left, 3 right; reward −0.01 per step plus 1 per food item eaten; terminated when
    all food is eaten, truncated after ``max_steps`` steps.
    """

    def __init__(self, render_mode=None, size=15, food=5, max_steps=100):
        super().__init__(
            "gridworld",
            f"(size: {int(size)}, food: {int(food)}, max_steps: {int(max_steps)})",
            render_mode,
        )
        self.action_space = spaces.Discrete(4)
        self.observation_space = spaces.Box(
            0.0, 1.0, shape=(self._env.observation_len,), dtype=np.float32
        )

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if seed is None:
            seed = int(self.np_random.integers(0, 2**64, dtype=np.uint64))
        obs = self._env.reset(int(seed) % 2**64)
        return obs.astype(np.float32), {}


# id -> (class, keyword arguments of gymnasium.register): Gymnasium's own for the
# classic-control environments.
_REGISTRY = {
    "snnsim/CartPole-v1": (CartPoleEnv, dict(max_episode_steps=500, reward_threshold=475.0)),
    "snnsim/Pendulum-v1": (PendulumEnv, dict(max_episode_steps=200)),
    "snnsim/MountainCar-v0": (
        MountainCarEnv,
        dict(max_episode_steps=200, reward_threshold=-110.0),
    ),
    "snnsim/Acrobot-v1": (AcrobotEnv, dict(max_episode_steps=500, reward_threshold=-100.0)),
    "snnsim/Foraging-v0": (ForagingEnv, {}),
}

#: The ids this module registers.
ENV_IDS = tuple(_REGISTRY)


def _register():
    for env_id, (cls, kwargs) in _REGISTRY.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(
                id=env_id, entry_point=f"{__name__}:{cls.__name__}", **kwargs
            )


_register()
