#!/usr/bin/env python3
"""Peer benchmark: the spiking Rainbow agent of graphs/cartpole-rainbow-full.ron in PyTorch,
to compare training speed (environment steps per second) with `snnsim run` on the same machine.

The same agent, written in plain PyTorch (float32, one thread by default):

- Environment: Gymnasium's CartPole-v1 (snnsim steps its own `cartpole` plugin, the same
  equations; episodes differ, the work per step does not).
- Encoder: Gaussian population coding, 8 neurons per observation value, centres evenly spaced
  over [low, high] = [±2.4, ±3.0, ±0.21, ±3.5], current exp(−d²/2) with d in units of the
  centre spacing (`width: 1.0`): 32 currents held for the T = 4 steps of a decision.
- Network: 32 → 64 → 64 snnTorch-style Leaky neurons (β = e^(−1/5), threshold 1, reset by
  subtraction from the previous step's membrane, detached), fast-sigmoid surrogate (slope 5);
  two non-spiking readouts without memory (β = e^(−10)) read the second hidden layer's spikes:
  the value stream (51 atoms) and the advantage stream (2 actions × 51 atoms); logits = the
  readout membrane averaged over the T steps, combined as V + A − mean_a A, p = softmax per
  action, Q = Σ_j z_j p_j over 51 atoms from 0 to 100. The readout projections are factorised
  Gaussian Noisy layers (σ₀ 0.5, μ from U(±1/√64), no biases); the hidden projections are
  Kaiming-normal with gain 2 (std 2/√fan_in), no biases.
- Learning: C51 with Double DQN (the online network picks a*, the target network's
  distribution is projected), 3-step returns, γ 0.99, prioritized replay with a sum tree
  (α 0.6, β from 0.4 to 1 over the budget, one sample from each of 32 equal strata, importance
  weights over their maximum, new transitions at the largest priority), buffer 30 000,
  batch 32, 1 000 warm-up steps of random actions, one update per step, the target network
  copied every 250 updates, Adam (lr 1e-3), global-norm clipping at 10. Fresh noise for each
  acting step and, per update, one draw for the online and one for the target network.

The JSON line (`--json`) has env_steps, updates, wall_s (the training loop only: no imports,
no set-up, no evaluation, like snnsim's `env_steps_per_s`), env_steps_per_s, episodes,
mean_return_last_100, eval_return_mean (greedy, μ only, `--eval-episodes`), threads, dtype.

    /work/venv-torch/bin/python benches/peers/rainbow_torch.py --env-steps 6000 --json
    snnsim run graphs/cartpole-rainbow-full.ron --threads 1 --json   # env_steps_per_s

Pinned: torch 2.15.0, numpy 2.3.5, gymnasium 1.4.0 (benches/peers/README.md).
"""

import argparse
import json
import math
import sys
import time

try:
    import gymnasium as gym
    import numpy as np
    import torch
except ImportError as e:  # reported as "not installed" by the caller
    print(json.dumps({"error": f"not importable by {sys.executable}: {e}"}))
    sys.exit(3)

ATOMS, V_MIN, V_MAX = 51, 0.0, 100.0
LOW = np.array([-2.4, -3.0, -0.21, -3.5])
HIGH = -LOW


def encode(obs, per_value=8, width=1.0):
    """Population code of one observation (or a batch): (..., 4) -> (..., 4 * per_value)."""
    obs = np.asarray(obs, dtype=np.float64)
    spacing = (HIGH - LOW) / (per_value - 1)
    centres = LOW[:, None] + spacing[:, None] * np.arange(per_value)[None, :]
    d = (obs[..., :, None] - centres) / (width * spacing[:, None])
    return np.exp(-0.5 * d * d).reshape(*obs.shape[:-1], -1)


class Spike(torch.autograd.Function):
    """Heaviside forward, fast-sigmoid derivative 1 / (slope·|u| + 1)² backward."""

    slope = 5.0

    @staticmethod
    def forward(ctx, u):
        ctx.save_for_backward(u)
        return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx, g):
        (u,) = ctx.saved_tensors
        return g / (Spike.slope * u.abs() + 1.0) ** 2


class Noisy(torch.nn.Module):
    """Factorised Gaussian noisy linear map without bias (Fortunato et al. 2018)."""

    def __init__(self, n_in, n_out, sigma0, dtype):
        super().__init__()
        bound = 1.0 / math.sqrt(n_in)
        self.mu = torch.nn.Parameter(torch.empty(n_out, n_in, dtype=dtype).uniform_(-bound, bound))
        self.sigma = torch.nn.Parameter(torch.full((n_out, n_in), sigma0 / math.sqrt(n_in), dtype=dtype))
        self.register_buffer("eps", torch.zeros(n_out, n_in, dtype=dtype))

    @staticmethod
    def f(x):
        return x.sign() * x.abs().sqrt()

    def resample(self, gen):
        ei = self.f(torch.randn(self.mu.shape[1], generator=gen, dtype=self.mu.dtype))
        eo = self.f(torch.randn(self.mu.shape[0], generator=gen, dtype=self.mu.dtype))
        self.eps.copy_(torch.outer(eo, ei))

    def forward(self, x, noisy=True):
        w = self.mu + self.sigma * self.eps if noisy else self.mu
        return x @ w.t()


class QNet(torch.nn.Module):
    def __init__(self, dtype, hidden=64, steps=4, sigma0=0.5):
        super().__init__()
        self.steps = steps
        self.beta = math.exp(-1.0 / 5.0)
        self.beta_out = math.exp(-1.0 / 0.1)
        std1, std2 = 2.0 / math.sqrt(32), 2.0 / math.sqrt(hidden)
        self.w1 = torch.nn.Parameter(torch.randn(hidden, 32, dtype=dtype) * std1)
        self.w2 = torch.nn.Parameter(torch.randn(hidden, hidden, dtype=dtype) * std2)
        self.v = Noisy(hidden, ATOMS, sigma0, dtype)
        self.a = Noisy(hidden, 2 * ATOMS, sigma0, dtype)

    def resample(self, gen):
        self.v.resample(gen)
        self.a.resample(gen)

    def forward(self, x, noisy=True):
        """x: (B, 32) currents -> log-probabilities (B, 2, ATOMS)."""
        b = x.shape[0]
        i1 = x @ self.w1.t()
        m1 = torch.zeros(b, self.w1.shape[0], dtype=x.dtype)
        m2 = torch.zeros_like(m1)
        mv = torch.zeros(b, ATOMS, dtype=x.dtype)
        ma = torch.zeros(b, 2 * ATOMS, dtype=x.dtype)
        sv = torch.zeros_like(mv)
        sa = torch.zeros_like(ma)
        for _ in range(self.steps):
            r1 = (m1 > 1.0).to(x.dtype).detach()
            m1 = self.beta * m1 + i1 - r1
            s1 = Spike.apply(m1 - 1.0)
            r2 = (m2 > 1.0).to(x.dtype).detach()
            m2 = self.beta * m2 + s1 @ self.w2.t() - r2
            s2 = Spike.apply(m2 - 1.0)
            mv = self.beta_out * mv + self.v(s2, noisy)
            ma = self.beta_out * ma + self.a(s2, noisy)
            sv = sv + mv
            sa = sa + ma
        v = (sv / self.steps).view(b, 1, ATOMS)
        a = (sa / self.steps).view(b, 2, ATOMS)
        return torch.log_softmax(v + a - a.mean(dim=1, keepdim=True), dim=2)


class SumTree:
    def __init__(self, capacity):
        self.cap = capacity
        self.tree = np.zeros(2 * capacity)

    def set(self, i, p):
        j = i + self.cap
        self.tree[j] = p
        j //= 2
        while j >= 1:
            self.tree[j] = self.tree[2 * j] + self.tree[2 * j + 1]
            j //= 2

    def total(self):
        return self.tree[1]

    def find(self, mass):
        j = 1
        while j < self.cap:
            left = self.tree[2 * j]
            if mass < left:
                j = 2 * j
            else:
                mass -= left
                j = 2 * j + 1
        return j - self.cap


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--env-steps", type=int, default=30000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--eval-episodes", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    gen = torch.Generator().manual_seed(args.seed + 1)
    gamma, n_step, batch, warmup, target_every = 0.99, 3, 32, 1000, 250
    buffer, alpha, beta0, lr, clip = 30000, 0.6, 0.4, 1e-3, 10.0
    z = torch.linspace(V_MIN, V_MAX, ATOMS, dtype=dtype)
    dz = (V_MAX - V_MIN) / (ATOMS - 1)

    online = QNet(dtype)
    target = QNet(dtype)
    target.load_state_dict(online.state_dict())
    opt = torch.optim.Adam(online.parameters(), lr=lr)

    obs_s = np.zeros((buffer, 32))
    obs_n = np.zeros((buffer, 32))
    act = np.zeros(buffer, dtype=np.int64)
    ret = np.zeros(buffer)
    disc = np.zeros(buffer)  # γ^m, 0 when terminal
    tree = SumTree(buffer)
    max_p, stored, head = 1.0, 0, 0

    env = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=args.seed)
    pending = []  # (s, a, r) waiting for n rewards
    returns, ep_ret, updates = [], 0.0, 0

    def store(s, a, rewards, s_next, terminal):
        nonlocal head, stored
        obs_s[head], act[head], obs_n[head] = s, a, s_next
        ret[head] = sum(gamma**k * r for k, r in enumerate(rewards))
        disc[head] = 0.0 if terminal else gamma ** len(rewards)
        tree.set(head, max_p**alpha)
        head = (head + 1) % buffer
        stored = min(stored + 1, buffer)

    t0 = time.perf_counter()
    for step in range(args.env_steps):
        s = encode(obs)
        if step < warmup:
            a = int(rng.integers(2))
        else:
            with torch.no_grad():
                online.resample(gen)
                logp = online(torch.as_tensor(s[None], dtype=dtype))
                a = int((logp.exp() * z).sum(-1).argmax(-1)[0])
        obs, r, term, trunc, _ = env.step(a)
        ep_ret += r
        pending.append((s, a, r))
        s_next = encode(obs)
        if len(pending) == n_step:
            s0, a0, _ = pending[0]
            store(s0, a0, [x[2] for x in pending], s_next, term)
            pending.pop(0)
        if term or trunc:
            while pending:  # the shorter returns at an episode's end
                s0, a0, _ = pending[0]
                store(s0, a0, [x[2] for x in pending], s_next, term)
                pending.pop(0)
            returns.append(ep_ret)
            ep_ret = 0.0
            obs, _ = env.reset(seed=int(rng.integers(2**31)))

        if step >= warmup:
            # Prioritized minibatch: one sample from each of `batch` equal strata.
            total = tree.total()
            seg = total / batch
            idx = np.array([tree.find(min(seg * (k + rng.random()), total * (1 - 1e-12))) for k in range(batch)])
            idx = np.minimum(idx, stored - 1)
            probs = tree.tree[idx + buffer] / total
            beta = beta0 + (1.0 - beta0) * step / args.env_steps
            w = (stored * probs) ** (-beta)
            w = torch.as_tensor(w / w.max(), dtype=dtype)
            s_b = torch.as_tensor(obs_s[idx], dtype=dtype)
            n_b = torch.as_tensor(obs_n[idx], dtype=dtype)
            a_b = torch.as_tensor(act[idx])
            r_b = torch.as_tensor(ret[idx], dtype=dtype)
            g_b = torch.as_tensor(disc[idx], dtype=dtype)
            online.resample(gen)
            target.resample(gen)
            with torch.no_grad():
                a_star = (online(n_b).exp() * z).sum(-1).argmax(-1)
                p_next = target(n_b).exp()[torch.arange(batch), a_star]
                tz = (r_b[:, None] + g_b[:, None] * z[None, :]).clamp(V_MIN, V_MAX)
                bpos = (tz - V_MIN) / dz
                lo, hi = bpos.floor().long(), bpos.ceil().long()
                m = torch.zeros(batch, ATOMS, dtype=dtype)
                same = (lo == hi).to(dtype)
                m.scatter_add_(1, lo, p_next * (hi.to(dtype) - bpos + same))
                m.scatter_add_(1, hi, p_next * (bpos - lo.to(dtype)))
            logp = online(s_b)[torch.arange(batch), a_b]
            ce = -(m * logp).sum(-1)
            loss = (w * ce).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(online.parameters(), clip)
            opt.step()
            for i, c in zip(idx, ce.detach().numpy()):
                pr = abs(float(c)) + 1e-6
                max_p = max(max_p, pr)
                tree.set(int(i), pr**alpha)
            updates += 1
            if updates % target_every == 0:
                target.load_state_dict(online.state_dict())
    wall = time.perf_counter() - t0

    eval_mean = None
    if args.eval_episodes:
        tot = []
        for e in range(args.eval_episodes):
            o, _ = env.reset(seed=10_000 + e)
            done, g = False, 0.0
            while not done:
                with torch.no_grad():
                    logp = online(torch.as_tensor(encode(o)[None], dtype=dtype), noisy=False)
                a = int((logp.exp() * z).sum(-1).argmax(-1)[0])
                o, r, term, trunc, _ = env.step(a)
                g += r
                done = term or trunc
            tot.append(g)
        eval_mean = float(np.mean(tot))

    out = {
        "env_steps": args.env_steps,
        "updates": updates,
        "wall_s": wall,
        "env_steps_per_s": args.env_steps / wall,
        "episodes": len(returns),
        "mean_return_last_100": float(np.mean(returns[-100:])) if returns else None,
        "eval_return_mean": eval_mean,
        "threads": torch.get_num_threads(),
        "dtype": args.dtype,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
