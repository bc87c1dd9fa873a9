#!/usr/bin/env python3
"""Peer benchmark: the foraging task of `snnsim run graphs/foraging.ron` written in PyTorch +
snnTorch (the seed project's stack), to compare training speed with snnsim on the same machine.

What it is (docs/results.md; the configuration of graphs/foraging*.ron):

- Environment (SPEC §1.1, reimplemented here in numpy, vectorised over the batch): a 15 × 15
  grid, the agent on a uniformly random cell, 5 food items on distinct uniformly random other
  cells, no respawn; observation 2 × 15 × 15 = 450 values in {0, 1}, channel-major (agent
  one-hot, then food); actions 0 up, 1 down, 2 left, 3 right, a move into the wall stays put;
  reward −0.01 per step, +1.0 on entering a food cell; terminated when all food is eaten,
  truncated after 100 steps. Layouts come from numpy's PCG64, not snnsim's SplitMix64 streams,
  so the episodes are statistically, not bit-for-bit, the same.
- Network (SPEC §1.2): 450 inputs (an input whose observation value is 1 drives the hidden
  layer on every step of the decision; with `--encoder egocentric`, snnsim's
  `Egocentric(size: 15)` encoding instead: the agent channel, then the food channel re-centred
  on the agent in a 29 × 29 window, 1066 inputs, as in the current graphs/foraging*.ron) →
  `--hidden` snnTorch `Synaptic` neurons (α = e^(−1/10), β = e^(−1/20), threshold 1, reset
  "zero") → 4 snnTorch `Leaky` readout neurons (β = e^(−1/20), reset "none"); no biases.
  Logits = readout membrane averaged over T = 10 steps from zero state; π = softmax(logits);
  the action is sampled from π. Weights Kaiming-normal with the gains of the graph files:
  std = gain / sqrt(fan_in), gain 0.3 for input → hidden (fan-in = inputs) and 0.14 for
  hidden → readout (fan-in = hidden size).
- Learning (SPEC §1.3): REINFORCE, G_t with γ = 0.99, an EMA baseline of episode returns G_0
  (decay 0.99, starting at 0, updated episode by episode in batch order), advantages
  normalised over the batch's decisions ((A − mean) / (std + 1e-8), population std), loss
  −Σ A_t log π(a_t|s_t) / B over a batch of B = 16 episodes run in parallel, BPTT through the 10
  steps with snnTorch's fast-sigmoid surrogate (slope 25) and its detached reset, global
  gradient-norm clipping at 1.0, Adam (lr 1e-3, β 0.9/0.999, ε 1e-8), one update per batch.
- Execution: the B episodes of a batch are stepped together; each decision of the still-running
  episodes is one no-grad forward pass (10 steps on a (running episodes × hidden) tensor). When
  the batch is over, all its decisions (≈ 1 600 rows) are recomputed with autograd as one
  batched 10-step tensor loop, and one backward pass gives the gradient (the "recompute each
  decision's 10 steps as one batched tensor loop" implementation of SPEC §1.7).
- Growth and pruning (SPEC §1.4, thresholds of graphs/foraging.ron) with `--structure`: every
  100 episodes (checked after each batch, so after the first batch that reaches 100) grow by
  32 neurons if the mean hidden rate is below 0.05 and size < 512; every 50 episodes prune the
  neurons with rate < 0.025 when they are more than 30 % of the population and size > 32
  (keeping at least 32, the most active). Existing weights and Adam moments are kept exactly;
  new moments start at zero; new input weights are Kaiming-normal plus N(0, 0.01²) noise, new
  readout weights Kaiming-normal with the fan-in of the grown layer. Off by default: the
  default run is the fixed-size network of graphs/foraging-fixed64.ron / -fixed512.ron.

Setup (PyPI only; the PyPI torch wheel for Linux x86-64 is the CUDA build and needs its
nvidia-* / cuda-toolkit dependencies even on CPU, about 5.4 GB in all):

    python3 -m venv /work/torch-venv
    /work/torch-venv/bin/pip install torch snntorch numpy

Run (one JSON line on stdout with --json; progress on stderr with --progress N):

    /work/torch-venv/bin/python benches/peers/foraging_torch.py --hidden 64 --episodes 2000 \\
        --batch 16 --seed 1 --threads 1 --json
    /work/torch-venv/bin/python benches/peers/foraging_torch.py --selftest

The JSON has episodes, wall_s (the training loop only: no imports, no set-up, like snnsim's
sim_wall_s), episodes_per_s, decisions (environment steps of all episodes) and
decisions_per_s (the measure `snnsim bench` compares: episodes end early once all food is
eaten), mean_food_last_500 (over all episodes when fewer), the final hidden size, growth and
pruning events, dtype, neurons (snntorch or plain), threads (torch.get_num_threads()), the
torch, snntorch and numpy versions and the load average.

How it differs from snnsim (src/agent/train.rs, plugins/reinforce, plugins/gridworld):

- Random streams: layouts and actions from numpy PCG64 streams and the weights from a torch
  generator, not snnsim's per-episode streams, so runs match snnsim statistically (same
  learning curves within noise), never bit for bit.
- Precision: float32 by default (torch's default); snnsim computes in f64 (`--dtype float64`).
- Gradient: autograd over a recomputation of the batch's decisions; snnsim keeps a factored
  backward pass of each decision (q, ν) from the acting pass. The same gradient, BPTT with the
  detached reset, by two routes.
- Input: a dense (rows × inputs) @ (inputs × hidden) product; snnsim sums the rows of the
  (at most 6) active inputs.
- Clipping: torch's clip_grad_norm_ scales by 1 / (norm + 1e-6) when that is below 1;
  snnsim by 1 / norm when norm > 1.
- Structure: the same rules and per-neuron exposure counting; the spike counts are taken from
  the recomputed (training) pass, which is the same forward as the acting pass.
- No metrics.csv, Prometheus gauges or run directory; no entropy bonus (the graph files have
  none either).

Options worth knowing: --encoder identity (default) or egocentric (match the graph file
you compare with); --dtype float32 (default, torch's default) or float64 (snnsim's
precision); --neurons snntorch (default: the snnTorch Synaptic and Leaky modules) or plain
(the same equations written directly in torch, with snnTorch's surrogate; the forward and the
gradients are the same to rounding, `--selftest` checks it) to see what the modules cost.
"""
import argparse
import json
import math
import os
import platform
import sys
import time

try:
    import numpy as np
except ImportError as e:
    # `snnsim bench` reports exit status 3 with an error line as "not installed".
    print(json.dumps({"error": f"numpy is not importable by {sys.executable}: {e}"}))
    sys.exit(3)

# Grid world rules (SPEC §1.1).
STEP_REWARD = -0.01
FOOD_REWARD = 1.0


class GridWorlds:
    """`n` independent grid worlds stepped together (numpy arrays indexed by world)."""

    def __init__(self, n, size=15, food=5, max_steps=100):
        self.n, self.size, self.n_food, self.max_steps = n, size, food, max_steps
        self.cells = size * size
        self.food = np.zeros((n, self.cells), dtype=bool)
        self.row = np.zeros(n, dtype=np.int64)
        self.col = np.zeros(n, dtype=np.int64)
        self.steps = np.zeros(n, dtype=np.int64)
        self.eaten = np.zeros(n, dtype=np.int64)
        self.remaining = np.zeros(n, dtype=np.int64)

    def reset(self, rng, k=None):
        """Resets worlds 0..k-1: the agent on a uniform cell, food on distinct uniform cells
        other than the agent's."""
        k = self.n if k is None else k
        agent = rng.integers(self.cells, size=k)
        self.food[:k] = False
        for w in range(k):
            # Distinct cells among the cells² − 1 others, skipping the agent's cell.
            others = rng.choice(self.cells - 1, size=self.n_food, replace=False)
            self.food[w, others + (others >= agent[w])] = True
        self.row[:k], self.col[:k] = np.divmod(agent, self.size)
        self.steps[:k] = 0
        self.eaten[:k] = 0
        self.remaining[:k] = self.n_food

    def set_state(self, w, agent, food_cells):
        """World w: agent at (row, col), food on the given cells (for tests)."""
        self.row[w], self.col[w] = agent
        self.food[w] = False
        for r, c in food_cells:
            self.food[w, r * self.size + c] = True
        self.steps[w] = 0
        self.eaten[w] = 0
        self.remaining[w] = len(food_cells)

    def observe(self, idx, dtype=np.float32):
        """Observations of worlds `idx`: (len(idx), 2·cells), channel-major."""
        obs = np.zeros((len(idx), 2 * self.cells), dtype=dtype)
        obs[np.arange(len(idx)), self.row[idx] * self.size + self.col[idx]] = 1.0
        obs[:, self.cells:] = self.food[idx]
        return obs

    def observe_egocentric(self, idx, dtype=np.float32):
        """The `Egocentric(size)` encoder of snnsim's graph files: the agent channel as it is,
        then the food channel re-centred on the agent, a (2·size − 1)² window whose cell
        (dr, dc) (offsets + size − 1) holds the food at (row + dr, col + dc): size² +
        (2·size − 1)² inputs."""
        n, w = self.size, 2 * self.size - 1
        obs = np.zeros((len(idx), self.cells + w * w), dtype=dtype)
        rows = np.arange(len(idx))
        obs[rows, self.row[idx] * n + self.col[idx]] = 1.0
        k, cell = np.nonzero(self.food[idx])
        dr = cell // n - self.row[idx][k] + n - 1
        dc = cell % n - self.col[idx][k] + n - 1
        obs[k, self.cells + dr * w + dc] = 1.0
        return obs

    def step(self, idx, actions):
        """Applies `actions` (0 up, 1 down, 2 left, 3 right) to worlds `idx`; returns
        (reward, terminated, truncated) arrays."""
        last = self.size - 1
        r, c = self.row[idx], self.col[idx]
        r = np.where(actions == 0, np.maximum(r - 1, 0), r)
        r = np.where(actions == 1, np.minimum(r + 1, last), r)
        c = np.where(actions == 2, np.maximum(c - 1, 0), c)
        c = np.where(actions == 3, np.minimum(c + 1, last), c)
        self.row[idx], self.col[idx] = r, c
        self.steps[idx] += 1
        cell = r * self.size + c
        ate = self.food[idx, cell]
        self.food[idx[ate], cell[ate]] = False
        self.remaining[idx] -= ate
        self.eaten[idx] += ate
        reward = STEP_REWARD + FOOD_REWARD * ate
        terminated = self.remaining[idx] == 0
        truncated = ~terminated & (self.steps[idx] >= self.max_steps)
        return reward, terminated, truncated


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hidden", type=int, default=64, help="hidden neurons at the start (64)")
    p.add_argument("--episodes", type=int, default=2000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (1)")
    p.add_argument("--json", action="store_true", help="print only the JSON line on stdout")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--neurons", choices=["snntorch", "plain"], default="snntorch")
    p.add_argument("--encoder", choices=["identity", "egocentric"], default="identity",
                   help="identity: the 450 observation values (SPEC §1.2, graphs/foraging-"
                        "absolute.ron); egocentric: snnsim's Egocentric(size: 15) encoder, "
                        "1066 inputs (the current graphs/foraging*.ron)")
    p.add_argument("--structure", action="store_true",
                   help="growth and pruning as in graphs/foraging.ron (off: fixed size)")
    p.add_argument("--progress", type=int, default=0,
                   help="print mean food every N episodes on stderr (0: never)")
    p.add_argument("--decision-steps", type=int, default=10)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--input-gain", type=float, default=0.3)
    p.add_argument("--readout-gain", type=float, default=0.14)
    p.add_argument("--selftest", action="store_true",
                   help="check the grid-world rules, the random-policy yardstick and that "
                        "the snntorch and plain forms agree; then exit")
    return p.parse_args(argv)


ARGS = parse_args()
os.environ.setdefault("OMP_NUM_THREADS", str(ARGS.threads))
os.environ.setdefault("MKL_NUM_THREADS", str(ARGS.threads))

try:
    import torch  # noqa: E402  (after the thread variables)
    import snntorch as snn  # noqa: E402
    from snntorch import surrogate  # noqa: E402
except ImportError as e:
    # `snnsim bench` reports exit status 3 with an error line as "not installed".
    print(json.dumps({"error": f"torch and snntorch are not importable by {sys.executable}: {e}"}))
    sys.exit(3)

torch.set_num_threads(ARGS.threads)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass

# Structural policy of graphs/foraging.ron.
STRUCTURE = dict(grow_interval=100, grow_threshold=0.05, max_hidden=512, neurons_per_grow=32,
                 new_input_noise_std=0.01, prune_interval=50, prune_threshold=0.025,
                 prune_fraction=0.3, min_hidden=32)
GAMMA, BASELINE_DECAY, CLIP_NORM, SLOPE = 0.99, 0.99, 1.0, 25.0
ALPHA, BETA, BETA_OUT, THRESHOLD = math.exp(-1 / 10), math.exp(-1 / 20), math.exp(-1 / 20), 1.0


class Policy:
    """The spiking policy: weights W1 (inputs × hidden) and W2 (hidden × 4), the neurons as
    snnTorch modules (or the same equations written out), and Adam on both weights."""

    def __init__(self, n_in, hidden, n_out, args, gen):
        self.n_in, self.n_out, self.T = n_in, n_out, args.decision_steps
        self.dtype = getattr(torch, args.dtype)
        self.gen = gen
        self.args = args
        self.spike_grad = surrogate.fast_sigmoid(slope=SLOPE)
        # Decays as tensors of the working dtype (a Python float would become a float32
        # buffer first, and α, β would be rounded to float32 even in float64 runs).
        c = lambda v: torch.tensor(v, dtype=self.dtype)  # noqa: E731
        self.lif1 = snn.Synaptic(alpha=c(ALPHA), beta=c(BETA), threshold=c(THRESHOLD),
                                 spike_grad=self.spike_grad, reset_mechanism="zero")
        self.lif2 = snn.Leaky(beta=c(BETA_OUT), threshold=c(THRESHOLD),
                              spike_grad=self.spike_grad, reset_mechanism="none")
        self.snntorch = args.neurons == "snntorch"
        w1 = self.kaiming(n_in, hidden, args.input_gain, fan_in=n_in)
        w2 = self.kaiming(hidden, n_out, args.readout_gain, fan_in=hidden)
        self.set_weights(w1, w2, None)

    def kaiming(self, rows, cols, gain, fan_in):
        return torch.randn(rows, cols, generator=self.gen, dtype=self.dtype) * (
            gain / math.sqrt(fan_in))

    @property
    def hidden(self):
        return self.w1.shape[1]

    def set_weights(self, w1, w2, moments):
        """New weight tensors (and Adam moments (m1, v1, m2, v2, step), or None for fresh)."""
        self.w1 = w1.detach().clone().requires_grad_(True)
        self.w2 = w2.detach().clone().requires_grad_(True)
        self.opt = torch.optim.Adam([self.w1, self.w2], lr=self.args.lr, betas=(0.9, 0.999),
                                    eps=1e-8)
        if moments is not None:
            m1, v1, m2, v2, step = moments
            self.opt.state[self.w1] = {"step": step.clone(), "exp_avg": m1, "exp_avg_sq": v1}
            self.opt.state[self.w2] = {"step": step.clone(), "exp_avg": m2, "exp_avg_sq": v2}

    def moments(self):
        s1, s2 = self.opt.state[self.w1], self.opt.state[self.w2]
        return s1["exp_avg"], s1["exp_avg_sq"], s2["exp_avg"], s2["exp_avg_sq"], s1["step"]

    def forward(self, obs, count_spikes=False):
        """Logits (rows × 4) of observations `obs` (rows × 450), and the hidden spikes per
        neuron summed over rows and steps (when count_spikes)."""
        x = obs @ self.w1  # the input current: constant over the decision
        n, h = x.shape
        syn = torch.zeros(n, h, dtype=self.dtype)
        mem = torch.zeros(n, h, dtype=self.dtype)
        out = torch.zeros(n, self.n_out, dtype=self.dtype)
        acc = torch.zeros(n, self.n_out, dtype=self.dtype)
        spikes = torch.zeros(h, dtype=self.dtype) if count_spikes else None
        cast = self.dtype != torch.float32  # snnTorch's surrogate returns float32 spikes
        for _ in range(self.T):
            if self.snntorch:
                spk, syn, mem = self.lif1(x, syn, mem)
                if cast:
                    spk = spk.to(self.dtype)
                _, out = self.lif2(spk @ self.w2, out)
            else:
                reset = (mem > THRESHOLD).to(self.dtype)  # from the previous membrane
                syn = ALPHA * syn + x
                mem = (BETA * mem + syn) * (1.0 - reset)
                spk = self.spike_grad(mem - THRESHOLD)
                if cast:
                    spk = spk.to(self.dtype)
                out = BETA_OUT * out + spk @ self.w2
            acc = acc + out
            if count_spikes:
                spikes += spk.detach().sum(0)
        return acc / self.T, spikes

    def update(self, obs, actions, adv, n_episodes):
        """One REINFORCE step on all decisions of a batch; returns hidden spikes per neuron."""
        logits, spikes = self.forward(obs, count_spikes=True)
        logp = torch.log_softmax(logits, dim=1)
        chosen = logp.gather(1, actions.unsqueeze(1)).squeeze(1)
        loss = -(adv * chosen).sum() / n_episodes
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([self.w1, self.w2], CLIP_NORM)
        self.opt.step()
        return spikes

    # Structural edits (SPEC §1.4): every kept weight and moment stays as it was.
    def grow(self, n_new):
        h_new = self.hidden + n_new
        s = STRUCTURE
        w1_new = self.kaiming(self.n_in, n_new, self.args.input_gain, fan_in=self.n_in) + \
            s["new_input_noise_std"] * torch.randn(self.n_in, n_new, generator=self.gen,
                                                   dtype=self.dtype)
        w2_new = self.kaiming(n_new, self.n_out, self.args.readout_gain, fan_in=h_new)
        m1, v1, m2, v2, step = self.moments()
        z1 = torch.zeros(self.n_in, n_new, dtype=self.dtype)
        z2 = torch.zeros(n_new, self.n_out, dtype=self.dtype)
        with torch.no_grad():
            self.set_weights(torch.cat([self.w1, w1_new], 1), torch.cat([self.w2, w2_new], 0),
                             (torch.cat([m1, z1], 1), torch.cat([v1, z1], 1),
                              torch.cat([m2, z2], 0), torch.cat([v2, z2], 0), step))

    def keep(self, kept):
        """Keeps only the hidden neurons `kept` (sorted indices)."""
        k = torch.as_tensor(kept, dtype=torch.long)
        m1, v1, m2, v2, step = self.moments()
        with torch.no_grad():
            self.set_weights(self.w1[:, k], self.w2[k], (m1[:, k].clone(), v1[:, k].clone(),
                                                         m2[k].clone(), v2[k].clone(), step))


class Stats:
    """Per-neuron spikes and simulated steps since the last check."""

    def __init__(self, h):
        self.reset(h)

    def reset(self, h):
        self.spikes = np.zeros(h)
        self.steps = np.zeros(h)
        self.episodes = 0

    def rates(self):
        return np.where(self.steps > 0, self.spikes / np.maximum(self.steps, 1), np.nan)


def returns(rewards):
    g, out = 0.0, np.empty(len(rewards))
    for t in range(len(rewards) - 1, -1, -1):
        g = rewards[t] + GAMMA * g
        out[t] = g
    return out


def train(args):
    gen = torch.Generator().manual_seed(args.seed)
    rng_env, rng_act = (np.random.Generator(np.random.PCG64(s))
                        for s in np.random.SeedSequence(args.seed).spawn(2))
    envs = GridWorlds(args.batch)
    observe = envs.observe if args.encoder == "identity" else envs.observe_egocentric
    n_in = observe(np.arange(1)).shape[1]
    pol = Policy(n_in, args.hidden, 4, args, gen)
    np_dtype = np.float32 if args.dtype == "float32" else np.float64
    baseline = 0.0
    food, edits, rate_sum = [], [], 0.0
    decisions = 0
    grow_stats, prune_stats = Stats(pol.hidden), Stats(pol.hidden)
    next_progress = args.progress
    t0 = time.perf_counter()
    done = 0
    while done < args.episodes:
        b = min(args.batch, args.episodes - done)
        envs.reset(rng_env, b)
        active = np.arange(b)
        obs_rows, ep_rows, act_rows, rew_rows = [], [], [], []
        with torch.no_grad():
            while active.size:
                obs = observe(active, np_dtype)
                logits, _ = pol.forward(torch.from_numpy(obs))
                probs = torch.softmax(logits, dim=1).double().numpy()
                u = rng_act.random(active.size)
                a = np.minimum((u[:, None] >= np.cumsum(probs, axis=1)).sum(1), 3)
                r, term, trunc = envs.step(active, a)
                obs_rows.append(obs)
                ep_rows.append(active)
                act_rows.append(a)
                rew_rows.append(r)
                active = active[~(term | trunc)]
        obs = np.concatenate(obs_rows)
        ep = np.concatenate(ep_rows)
        acts = np.concatenate(act_rows)
        rew = np.concatenate(rew_rows)
        # Advantages: per episode, returns minus the running baseline (updated in episode
        # order), then normalised over the batch.
        adv = np.empty(len(rew))
        for k in range(b):
            rows = np.flatnonzero(ep == k)  # in time order
            g = returns(rew[rows])
            adv[rows] = g - baseline
            baseline = BASELINE_DECAY * baseline + (1 - BASELINE_DECAY) * g[0]
        if len(adv) > 1:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        spikes = pol.update(torch.from_numpy(obs), torch.from_numpy(acts),
                            torch.from_numpy(adv.astype(np_dtype)), b)
        food.extend(envs.eaten[:b].tolist())
        done += b
        decisions += len(rew)
        sim_steps = len(rew) * args.decision_steps
        spikes = spikes.double().numpy()
        rate_sum += spikes.sum() / pol.hidden / sim_steps * b
        if args.structure:
            for st in (grow_stats, prune_stats):
                st.spikes += spikes
                st.steps += sim_steps
                st.episodes += b
            structural_policy(pol, grow_stats, prune_stats, edits, done)
        if args.progress and done >= next_progress:
            next_progress += args.progress
            recent = food[-args.progress:]
            print(f"episode {done:>7}  food {np.mean(recent):.2f}  hidden {pol.hidden:>4}  "
                  f"{done / (time.perf_counter() - t0):.1f} episodes/s", file=sys.stderr,
                  flush=True)
    wall = time.perf_counter() - t0
    return pol, food, edits, wall, rate_sum / max(done, 1), decisions


def structural_policy(pol, grow_stats, prune_stats, edits, done):
    s = STRUCTURE
    if prune_stats.episodes >= s["prune_interval"]:
        rates = prune_stats.rates()
        h = len(rates)
        silent = [j for j in range(h) if not np.isnan(rates[j]) and rates[j] < s["prune_threshold"]]
        if len(silent) > s["prune_fraction"] * h and h > s["min_hidden"]:
            order = sorted(silent, key=lambda j: (rates[j], j))[:min(len(silent),
                                                                     h - s["min_hidden"])]
            if order:
                gone = set(order)
                kept = [j for j in range(h) if j not in gone]
                pol.keep(kept)
                grow_stats.spikes = grow_stats.spikes[kept]
                grow_stats.steps = grow_stats.steps[kept]
                edits.append({"episode": done, "kind": "prune", "count": len(order),
                              "size_after": pol.hidden})
        prune_stats.reset(pol.hidden)
    if grow_stats.episodes >= s["grow_interval"]:
        rates = grow_stats.rates()
        rates = rates[~np.isnan(rates)]
        h = pol.hidden
        if rates.size and rates.mean() < s["grow_threshold"] and h < s["max_hidden"]:
            n = min(s["neurons_per_grow"], s["max_hidden"] - h)
            pol.grow(n)
            prune_stats.spikes = np.concatenate([prune_stats.spikes, np.zeros(n)])
            prune_stats.steps = np.concatenate([prune_stats.steps, np.zeros(n)])
            edits.append({"episode": done, "kind": "grow", "count": n, "size_after": pol.hidden})
        grow_stats.reset(pol.hidden)


def selftest(args):
    """Grid-world rules (the cases of plugins/gridworld's tests), the random-policy yardstick,
    and the snntorch and plain forms giving the same logits and gradients."""
    w = GridWorlds(1)
    idx = np.array([0])
    cases = [((7, 7), 0, (6, 7)), ((7, 7), 1, (8, 7)), ((7, 7), 2, (7, 6)), ((7, 7), 3, (7, 8)),
             ((0, 4), 0, (0, 4)), ((14, 4), 1, (14, 4)), ((4, 0), 2, (4, 0)),
             ((4, 14), 3, (4, 14)), ((0, 0), 1, (1, 0)), ((14, 14), 2, (14, 13))]
    for frm, a, to in cases:
        w.set_state(0, frm, [(10, 1)])
        r, term, trunc = w.step(idx, np.array([a]))
        assert (w.row[0], w.col[0]) == to and r[0] == -0.01 and not term[0] and not trunc[0]
        o = w.observe(idx)[0]
        assert o[to[0] * 15 + to[1]] == 1 and o[:225].sum() == 1 and o[225 + 10 * 15 + 1] == 1
    w.set_state(0, (7, 7), [(7, 8), (7, 10)])
    rs = [w.step(idx, np.array([a]))[0][0] for a in (3, 2, 3, 3)]
    assert np.allclose(rs, [0.99, -0.01, -0.01, -0.01])
    r, term, trunc = w.step(idx, np.array([3]))
    assert r[0] == 0.99 and term[0] and not trunc[0] and w.eaten[0] == 2 and w.steps[0] == 5
    w.set_state(0, (0, 0), [(14, 14)])
    for s in range(1, 101):
        r, term, trunc = w.step(idx, np.array([0]))
        assert not term[0] and trunc[0] == (s == 100)
    # Resets: one agent, 5 distinct food cells, none under the agent.
    rng = np.random.default_rng(0)
    w = GridWorlds(64)
    for _ in range(20):
        w.reset(rng)
        o = w.observe(np.arange(64))
        assert (o[:, :225].sum(1) == 1).all() and (o[:, 225:].sum(1) == 5).all()
        assert ((o[:, :225] * o[:, 225:]).sum() == 0)
    # Egocentric encoder: agent at (3, 7), food at (0, 0) and (14, 14) → window cells
    # (0 − 3 + 14, 0 − 7 + 14) = (11, 7) and (25, 21) of the 29 × 29 window.
    w = GridWorlds(1)
    w.set_state(0, (3, 7), [(0, 0), (14, 14)])
    o = w.observe_egocentric(np.array([0]))[0]
    assert o.shape == (225 + 841,) and o.sum() == 3 and o[3 * 15 + 7] == 1
    assert o[225 + 11 * 29 + 7] == 1 and o[225 + 25 * 29 + 21] == 1
    # Random policy: 0.87 food per episode (SPEC §1.1); 20 000 episodes, se ≈ 0.006.
    w = GridWorlds(1000)
    eaten = []
    for _ in range(20):
        w.reset(rng)
        active = np.arange(1000)
        while active.size:
            _, term, trunc = w.step(active, rng.integers(4, size=active.size))
            active = active[~(term | trunc)]
        eaten.extend(w.eaten.tolist())
    mean = float(np.mean(eaten))
    assert abs(mean - 0.87) < 0.04, mean
    # snnTorch modules vs the equations written out, in float64.
    a64 = argparse.Namespace(**{**vars(args), "dtype": "float64"})
    grads = []
    for neurons in ("snntorch", "plain"):
        a64.neurons = neurons
        pol = Policy(450, 64, 4, a64, torch.Generator().manual_seed(5))
        with torch.no_grad():
            pol.w1 *= 6.0  # strong enough that the hidden layer spikes and resets
        w = GridWorlds(32)
        w.reset(np.random.default_rng(3))
        obs = torch.from_numpy(w.observe(np.arange(32), np.float64))
        logits, spikes = pol.forward(obs, count_spikes=True)
        loss = (torch.log_softmax(logits, 1)[:, 0] * torch.linspace(-1, 1, 32,
                                                                     dtype=torch.float64)).sum()
        loss.backward()
        grads.append((logits.detach(), spikes, pol.w1.grad.clone(), pol.w2.grad.clone()))
    for x, y in zip(*grads):
        assert torch.allclose(x, y, rtol=1e-10, atol=1e-12), (x - y).abs().max()
    assert grads[0][1].sum() > 0
    return {"selftest": "ok", "random_policy_food": round(mean, 4),
            "hidden_spikes_in_check": float(grads[0][1].sum())}


def main(args):
    versions = {"torch": torch.__version__, "snntorch": snn.__version__,
                "numpy": np.__version__, "python": platform.python_version()}
    if args.selftest:
        print(json.dumps({**selftest(args), **versions}))
        return
    pol, food, edits, wall, rate, decisions = train(args)
    last = food[-500:]
    summary = {
        "tool": "pytorch+snntorch",
        "episodes": len(food),
        "wall_s": round(wall, 4),
        "episodes_per_s": round(len(food) / wall, 2),
        "decisions": decisions,
        "decisions_per_s": round(decisions / wall, 1),
        "mean_food_last_500": round(float(np.mean(last)), 4),
        "mean_food_all": round(float(np.mean(food)), 4),
        "hidden": args.hidden,
        "final_hidden": pol.hidden,
        "growth_events": sum(e["kind"] == "grow" for e in edits),
        "pruning_events": sum(e["kind"] == "prune" for e in edits),
        "mean_hidden_rate": round(rate, 4),
        "batch": args.batch,
        "seed": args.seed,
        "threads": torch.get_num_threads(),
        "dtype": args.dtype,
        "neurons": args.neurons,
        "structure": args.structure,
        "encoder": args.encoder,
        "inputs": pol.n_in,
        **versions,
        "loadavg": list(os.getloadavg()),
    }
    if not args.json:
        for e in edits:
            print(f"{e['kind']:>5} at episode {e['episode']}: {e['count']} neurons, "
                  f"size {e['size_after']}")
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main(ARGS)
