"""How long snnsim takes to import a NIR graph of 1 001 000 parameters (issue #23: at most
1 s): Input(1000) → Affine(1000 × 1000, f32) → LIF(1000) → Output, written by `nir.write`
(nir 1.0.8, numpy; the versions of tests/reference/gen/requirements.txt), then, in fresh
processes, the median wall time and CPU time (user + system: less sensitive to a busy
machine) of

- `snnsim validate big.nir` (read the HDF5 file and check it),
- `snnsim run big.nir --input x.npy` (read, convert to a graph file, validate it, build the
  network and run 10 steps: the whole import and a little more),
- `snnsim convert big.nir big.ron` (read, convert, and write the million weights as RON text).

    python3 benches/nir_import.py [--reps 5] [--dir /tmp/nir-import]

Needs the release binary (`cargo build --release`) and a Python with `nir` and `numpy`.
"""

import argparse
import json
import resource
import statistics
import subprocess
import time
from pathlib import Path

import nir
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SNNSIM = ROOT / "target" / "release" / "snnsim"


def write_graph(path, n=1000):
    rng = np.random.default_rng(0)
    weight = rng.uniform(-0.1, 0.1, (n, n)).astype(np.float32)
    g = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([n])),
            "fc": nir.Affine(weight=weight, bias=np.zeros(n, np.float32)),
            "lif": nir.LIF(
                tau=np.full(n, 2e-3),
                r=np.ones(n),
                v_leak=np.zeros(n),
                v_threshold=np.ones(n),
                v_reset=np.zeros(n),
            ),
            "output": nir.Output(output_type=np.array([n])),
        },
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")],
    )
    nir.write(path, g)
    params = weight.size + n + 5 * n
    return params


def timed(exe, args):
    """Wall time and CPU time (user + system, all threads) of one fresh process."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([exe, *args], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--dir", default="/tmp/nir-import")
    ap.add_argument("--snnsim", default=str(SNNSIM), help="the binary (default: the release build)")
    a = ap.parse_args()
    d = Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)
    big = d / "big.nir"
    params = write_graph(str(big))
    x = d / "x.npy"
    np.save(x, np.random.default_rng(1).uniform(0, 1, (10, 1000)).astype(np.float32))
    rows = {
        "validate": ["validate", str(big)],
        "run (10 steps)": ["run", str(big), "--input", str(x), "--out", str(d / "run"), "--quiet", "--no-metrics"],
        "convert to RON": ["convert", str(big), str(d / "big.ron")],
    }
    report = {"parameters": params, "file_bytes": big.stat().st_size, "reps": a.reps}
    for name, args in rows.items():
        got = [timed(a.snnsim, args) for _ in range(a.reps)]
        wall = statistics.median(w for w, _ in got)
        cpu = statistics.median(c for _, c in got)
        report[name] = {"median_wall_s": wall, "median_cpu_s": cpu}
        print(f"{name:16} median wall {wall:.3f} s, CPU {cpu:.3f} s")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
