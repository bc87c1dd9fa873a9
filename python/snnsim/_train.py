"""``snnsim.train``: a training task run as ``snnsim run FILE`` runs it, from Python."""

import csv
import os
import re

import numpy as np

from . import _snnsim

_EPISODE = re.compile(r"episode\s+(\d+)")


class RunResult:
    """What a training run left: ``run_dir`` (its directory, as the command line writes it),
    ``summary`` (``summary.json`` as a dict) and ``metrics`` (``metrics.csv`` as a dict of
    numpy columns; ``to_pandas()`` makes a DataFrame when pandas is installed)."""

    def __init__(self, run_dir, summary):
        self.run_dir = run_dir
        self.summary = summary
        self.metrics = _read_metrics(os.path.join(run_dir, "metrics.csv"))

    def to_pandas(self):
        """The metrics as a ``pandas.DataFrame`` (pandas must be installed)."""
        import pandas

        return pandas.DataFrame(self.metrics)

    def __repr__(self):
        n = len(next(iter(self.metrics.values()), []))
        return f"<snnsim.RunResult {self.run_dir!r}: {n} episodes>"


def _read_metrics(path):
    if not os.path.exists(path):
        return {}
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    columns = {}
    for k, name in enumerate(header):
        values = [r[k] for r in body]
        try:
            col = np.array([float(v) for v in values])
            if all(float(v).is_integer() and "." not in v for v in values):
                col = col.astype(np.int64)
        except ValueError:
            if all(v in ("true", "false") for v in values):
                col = np.array([v == "true" for v in values])
            else:
                col = np.array(values)
        columns[name] = col
    return columns


def _bar(total):
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="episode")


def train(
    path,
    episodes=None,
    seed=None,
    threads=None,
    out=None,
    progress=True,
    metrics_port=None,
    batch=None,
):
    """Runs the training task (foraging, control) of the graph file ``path`` (or a
    ``snnsim.Graph``) exactly as ``snnsim run`` does, and returns a ``RunResult``.

    ``episodes``, ``seed``, ``threads``, ``out`` (the run directory) and ``batch`` override
    the file's settings as the command line's flags do. ``progress``: a tqdm bar when tqdm is
    installed, else the progress lines on standard error; ``False`` for nothing. Prometheus
    metrics are served only when ``metrics_port`` is given. Ctrl-C stops the run after the
    current batch with its outputs written, then raises ``KeyboardInterrupt``.
    """
    if hasattr(path, "to_ron"):  # a snnsim.Graph: its file, written where the run can read it
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            file = os.path.join(tmp, "graph.ron")
            path.save(file)
            return train(file, episodes, seed, threads, out, progress, metrics_port, batch)
    path = os.fspath(path)
    bar = None
    callback = None
    if progress:
        bar = _bar(episodes)
        if bar is not None:

            def callback(line):
                m = _EPISODE.search(line)
                if m:
                    bar.update(int(m.group(1)) - bar.n)

        else:
            import sys

            def callback(line):
                print(line, file=sys.stderr)

    try:
        run_dir, summary = _snnsim._train(
            path,
            episodes=episodes,
            seed=seed,
            threads=threads,
            out=None if out is None else os.fspath(out),
            progress=callback,
            metrics_port=metrics_port,
            batch=batch,
        )
    finally:
        if bar is not None:
            bar.close()
    return RunResult(run_dir, summary)
