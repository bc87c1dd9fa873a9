"""snnsim.train and snnsim.Agent: a policy trained as `snnsim run` trains it, evaluated on
Gymnasium's own environments with `act` and with Stable-Baselines3's `predict` convention."""

import gymnasium
import numpy as np
import pytest

import snnsim


@pytest.fixture(scope="module")
def cartpole_run(root, tmp_path_factory):
    out = tmp_path_factory.mktemp("cartpole") / "run"
    return snnsim.train(root / "graphs" / "cartpole.ron", episodes=400, out=out, progress=False)


def test_train_returns_the_run(cartpole_run, cli_json, root, tmp_path):
    r = cartpole_run
    assert r.summary["episodes"] == 400
    assert set(r.metrics) >= {"episode", "return", "length"}
    assert len(r.metrics["return"]) == 400
    np.testing.assert_array_equal(r.metrics["episode"], np.arange(400))
    # The same run as the command line's, to the state hash.
    cli = cli_json("run", root / "graphs" / "cartpole.ron", "--episodes", 400, "--out", tmp_path / "cli")
    assert cli["state_hash"] == r.summary["state_hash"]


def evaluate(agent, env_id, episodes, seed, deterministic=False):
    env = gymnasium.make(env_id)
    returns = []
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        agent.reset()
        done, total = False, 0.0
        while not done:
            obs, reward, terminated, truncated, _ = env.step(agent.act(obs, deterministic=deterministic))
            total += reward
            done = terminated or truncated
        returns.append(total)
    return np.mean(returns)


def test_the_trained_agent_balances_gymnasiums_own_cartpole(cartpole_run):
    agent = snnsim.Agent.load(cartpole_run.run_dir)
    assert agent.task == "Control" and agent.episodes == 400
    assert agent.environment[0] == "cartpole"
    agent.reset(seed=0)
    score = evaluate(agent, "CartPole-v1", 10, seed=100)
    assert score > 150, score
    assert evaluate(agent, "CartPole-v1", 10, seed=100, deterministic=True) > 150


def test_an_untrained_agent_does_not(root, tmp_path):
    r = snnsim.train(root / "graphs" / "cartpole.ron", episodes=8, out=tmp_path / "run", progress=False)
    agent = snnsim.Agent.load(r.run_dir)
    assert evaluate(agent, "CartPole-v1", 10, seed=100) < 150


def sb3_evaluate_policy(model, envs, n_eval_episodes, deterministic=True):
    """The loop of stable_baselines3.common.evaluation.evaluate_policy (2.x) over a list of
    environments standing in for its VecEnv: batched observations, `episode_start` flags and
    the recurrent `state` passed back in."""
    n_envs = len(envs)
    counts = np.zeros(n_envs, dtype=int)
    targets = np.array([(n_eval_episodes + i) // n_envs for i in range(n_envs)], dtype=int)
    current = np.zeros(n_envs)
    rewards = []
    observations = np.stack([env.reset(seed=10 * i)[0] for i, env in enumerate(envs)])
    states = None
    episode_starts = np.ones((n_envs,), dtype=bool)
    while (counts < targets).any():
        actions, states = model.predict(observations, state=states, episode_start=episode_starts,
                                        deterministic=deterministic)
        assert actions.shape[0] == n_envs
        new_obs = []
        for i, env in enumerate(envs):
            obs, r, term, trunc, _ = env.step(actions[i])
            current[i] += r
            episode_starts[i] = term or trunc
            if episode_starts[i]:
                if counts[i] < targets[i]:
                    rewards.append(current[i])
                    counts[i] += 1
                current[i] = 0
                obs, _ = env.reset()
            new_obs.append(obs)
        observations = np.stack(new_obs)
    return float(np.mean(rewards)), float(np.std(rewards))


def test_predict_follows_the_stable_baselines3_convention(cartpole_run):
    agent = snnsim.Agent.load(cartpole_run.run_dir)
    obs = np.zeros(4, dtype=np.float32)
    action, state = agent.predict(obs, deterministic=True)
    assert state is None and int(action) in (0, 1)
    assert int(action) == agent.act(obs, deterministic=True)
    batch, _ = agent.predict(np.zeros((3, 4), dtype=np.float32), episode_start=np.ones(3, bool))
    assert batch.shape == (3,) and batch.dtype == np.int64
    envs = [gymnasium.make("CartPole-v1") for _ in range(2)]
    mean, _ = sb3_evaluate_policy(agent, envs, n_eval_episodes=6)
    assert mean > 150, mean


def test_a_continuous_agent_acts_within_its_bounds(root, tmp_path):
    r = snnsim.train(root / "graphs" / "pendulum.ron", episodes=8, out=tmp_path / "run", progress=False)
    agent = snnsim.Agent.load(r.run_dir)
    env = gymnasium.make("snnsim/Pendulum-v1")
    obs, _ = env.reset(seed=1)
    for _ in range(50):
        a = agent.act(obs)
        assert a.dtype == np.float32 and a.shape == (1,)
        assert env.action_space.contains(a)
        obs, *_ = env.step(a)
    batch, _ = agent.predict(np.zeros((2, 3)))
    assert batch.shape == (2, 1)


def test_agent_errors(root, tmp_path, cartpole_run):
    with pytest.raises(FileNotFoundError):
        snnsim.Agent.load(tmp_path / "missing")
    sim = snnsim.Simulation(root / "graphs" / "cuba.ron")
    sim.checkpoint(tmp_path / "sim")
    with pytest.raises(snnsim.InputError, match="simulation"):
        snnsim.Agent.load(tmp_path / "sim")
    agent = snnsim.Agent.load(cartpole_run.run_dir)
    with pytest.raises(snnsim.InputError, match="expects 4"):
        agent.act(np.zeros(3))
    with pytest.raises(snnsim.InputError):
        agent.act(np.array([0.0, np.nan, 0.0, 0.0]))


def test_train_errors(root, tmp_path):
    with pytest.raises(FileNotFoundError):
        snnsim.train(tmp_path / "missing.ron")
    with pytest.raises(snnsim.InputError, match="episodes"):
        snnsim.train(root / "graphs" / "cuba.ron", episodes=3, out=tmp_path / "x", progress=False)


def test_ctrl_c_stops_training_after_a_batch_with_its_outputs(root, tmp_path, ctrl_c):
    import json
    import os
    import signal
    import threading

    out = tmp_path / "run"
    lines = []
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        snnsim._snnsim._train(str(root / "graphs" / "cartpole.ron"), episodes=10**7,
                              out=str(out), progress=lines.append)
    timer.join()
    summary = json.loads((out / "summary.json").read_text())
    stopped = summary["stopped"]
    assert stopped["unit"] == "episodes" and 0 < stopped["at"] < 10**7
    # Without checkpointing on, a stopped run keeps its outputs but writes no checkpoint.
    assert stopped["checkpoint"] is None
    assert (out / "metrics.csv").read_text().count("\n") == stopped["at"] + 1
    assert lines and "episode" in lines[-1]


def test_a_foraging_agent_acts_in_the_foraging_environment(root, tmp_path):
    r = snnsim.train(root / "graphs" / "foraging.ron", episodes=64, out=tmp_path / "run", progress=False)
    agent = snnsim.Agent.load(r.run_dir)
    assert agent.task == "Foraging" and agent.environment[0] == "gridworld"
    env = gymnasium.make("snnsim/Foraging-v0")
    assert agent.observation_len == env.observation_space.shape[0]
    obs, _ = env.reset(seed=3)
    agent.reset(seed=3)
    steps = 0
    done = False
    while not done:
        a = agent.act(obs)
        assert env.action_space.contains(a)
        obs, reward, terminated, truncated, _ = env.step(a)
        steps += 1
        done = terminated or truncated
    assert 1 <= steps <= 100


def test_train_takes_a_graph_built_in_code(root, tmp_path):
    g = snnsim.Graph.load(root / "graphs" / "cartpole.ron")
    r = snnsim.train(g, episodes=8, out=tmp_path / "run", progress=False)
    ref = snnsim.train(root / "graphs" / "cartpole.ron", episodes=8, out=tmp_path / "ref", progress=False)
    assert r.summary["state_hash"] == ref.summary["state_hash"]
