"""Window statistics of a network's spikes, shared by the Brian2 network generators
(gen_brian2_cuba.py, gen_brian2_cobahh.py) so that both reference files are computed the
same way as tests/network_stats.rs computes snnsim's.

Spikes are given as integer steps (no float noise at window edges) and neuron indices; the
window is [start_ms, end_ms). With `n_exc`, the first `n_exc` neurons are excitatory and the
rates of both groups are reported too.
"""

import numpy as np


def window_stats(steps, idx, start_ms, end_ms, *, n, dt_ms, bin_ms, n_exc=None):
    s0 = int(round(start_ms / dt_ms))
    s1 = int(round(end_ms / dt_ms))
    m = (steps >= s0) & (steps < s1)
    st, ix = steps[m], idx[m]
    length_s = (end_ms - start_ms) / 1000.0
    counts = np.bincount(ix, minlength=n)
    order = np.lexsort((st, ix))
    st, ix = st[order], ix[order]
    cvs = []
    bounds = np.concatenate([[0], np.cumsum(counts)])
    for k in range(n):
        if counts[k] >= 3:
            isi = np.diff(st[bounds[k] : bounds[k + 1]] * dt_ms)
            cvs.append(np.std(isi) / np.mean(isi))
    bin_steps = int(round(bin_ms / dt_ms))
    n_bins = (s1 - s0) // bin_steps
    pop = np.bincount((st - s0) // bin_steps, minlength=n_bins)[:n_bins]
    out = {"mean_rate_hz": float(len(st) / (n * length_s))}
    if n_exc is not None:
        out["rate_exc_hz"] = float(counts[:n_exc].sum() / (n_exc * length_s))
        out["rate_inh_hz"] = float(counts[n_exc:].sum() / ((n - n_exc) * length_s))
    out.update(
        {
            "cv_isi": float(np.mean(cvs)),
            "silent_fraction": float(np.mean(counts == 0)),
            "fano_10ms": float(np.var(pop) / np.mean(pop)),
            "n_neurons_cv": len(cvs),
            "n_spikes": int(len(st)),
        }
    )
    return out
