"""``snnsim.Agent``: a trained spiking policy with the calling conventions of Python's RL
tools: ``act(obs)`` for a hand-written loop, and Stable-Baselines3's
``predict(obs, state=None, episode_start=None, deterministic=False) -> (action, state)``, which
``stable_baselines3.common.evaluation.evaluate_policy`` calls with batches from a vectorised
environment."""

import os

import numpy as np

from . import _snnsim


class Agent:
    """A trained policy: ``Agent.load(run_dir_or_checkpoint)``.

    ``act(obs)`` samples an action (``deterministic=True``: the most probable one, or the
    Gaussian's mean); ``reset(seed=None)`` starts a new episode (a seed restarts the sampling
    stream). A discrete action is an ``int``, a continuous one a float32 array, as the
    Gymnasium environment's action space holds them.
    """

    def __init__(self, policy):
        self._policy = policy
        kind, *rest = policy.action_space
        self._discrete = kind == "discrete"
        if self._discrete:
            self.n_actions = rest[0]
            self.action_low = self.action_high = None
        else:
            self.n_actions = None
            self.action_low = np.asarray(rest[0], dtype=np.float32)
            self.action_high = np.asarray(rest[1], dtype=np.float32)

    @classmethod
    def load(cls, path):
        """The policy of a training run directory (its newest valid checkpoint; every
        training run ends with one) or of a training checkpoint file."""
        return cls(_snnsim.Policy(os.fspath(path)))

    @property
    def observation_len(self):
        return self._policy.observation_len

    @property
    def task(self):
        """``"Foraging"`` or ``"Control"``."""
        return self._policy.task

    @property
    def environment(self):
        """The environment plugin's name and parameters (RON text) it was trained on."""
        return self._policy.environment

    @property
    def episodes(self):
        """Episodes it was trained for."""
        return self._policy.episodes

    @property
    def hidden_size(self):
        return self._policy.hidden_size

    def reset(self, seed=None):
        """Starts a new episode; a seed restarts the sampling stream."""
        self._policy.reset(seed)

    def readout(self, obs):
        """The readout of one decision: the logits (discrete), or z₀ and z₁ (Gaussian)."""
        return self._policy.readout(np.ascontiguousarray(obs, dtype=np.float64).ravel())

    def act(self, obs, deterministic=False):
        """One decision for one observation."""
        a = self._policy.act(np.ascontiguousarray(obs, dtype=np.float64).ravel(), deterministic)
        if self._discrete:
            return int(a[0])
        return a.astype(np.float32)

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        """Stable-Baselines3's policy signature: ``(action, state)`` for one observation or a
        batch (one row per environment of a vectorised environment). A decision starts from
        zero state, so ``state`` is returned as given; ``episode_start`` needs no reset."""
        obs = np.asarray(observation, dtype=np.float64)
        single = obs.ndim == 1 and obs.shape[0] == self.observation_len
        batch = obs.reshape(1, -1) if single else obs.reshape(obs.shape[0], -1)
        actions = [self.act(row, deterministic=deterministic) for row in batch]
        if self._discrete:
            out = np.asarray(actions, dtype=np.int64)
        else:
            out = np.stack(actions).astype(np.float32)
        return (out[0] if single else out), state

    def __repr__(self):
        return f"<snnsim.Agent {self.task} on {self.environment[0]}: {self.episodes} episodes, {self.hidden_size} hidden>"
