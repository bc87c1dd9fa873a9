"""snnsim from Python against `snnsim run` on the same file: the simulation wall time of
`Simulation(FILE).run(D)` and the `sim_wall_s` of `snnsim run FILE --duration-ms D`, in
interleaved repetitions (the machine is shared and noisy: medians of interleaved runs).

    python benches/python_vs_cli.py [--file graphs/cuba.ron] [--duration-ms 10000] [--reps 7] [--threads 1]

Needs the installed package (`pip install .`) and the release binary (`cargo build --release`).
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import snnsim

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", default=str(ROOT / "graphs" / "cuba.ron"))
    ap.add_argument("--duration-ms", type=float, default=10_000.0)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bin", default=str(Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "snnsim"))
    a = ap.parse_args()
    cli, py, ratios = [], [], []
    hashes = set()
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.reps):
            # Alternate which goes first, so that neither always runs on a warmer machine.
            if r % 2:
                sim = snnsim.Simulation(a.file, threads=a.threads)
                t0 = time.perf_counter()
                sim.run(a.duration_ms)
                first = (time.perf_counter() - t0, sim.state_hash)
                del sim
            out = subprocess.run(
                [a.bin, "run", a.file, "--duration-ms", str(a.duration_ms), "--threads", str(a.threads),
                 "--out", f"{tmp}/run{r}", "--json", "--quiet"],
                check=True, capture_output=True, text=True,
            ).stdout.strip().splitlines()[-1]
            s = json.loads(out)
            if r % 2:
                wall, h = first
            else:
                sim = snnsim.Simulation(a.file, threads=a.threads)
                t0 = time.perf_counter()
                sim.run(a.duration_ms)
                wall, h = time.perf_counter() - t0, sim.state_hash
                del sim
            hashes.add((s["state_hash"], h))
            cli.append(s["sim_wall_s"])
            py.append(wall)
            ratios.append(wall / s["sim_wall_s"])
            print(f"rep {r}: cli {s['sim_wall_s']:.3f} s  python {wall:.3f} s  ratio {wall / s['sim_wall_s']:.3f}", flush=True)
    same = all(x == y for x, y in hashes)
    print(json.dumps({
        "file": a.file, "duration_ms": a.duration_ms, "threads": a.threads, "reps": a.reps,
        "cli_median_s": statistics.median(cli), "python_median_s": statistics.median(py),
        "ratio_median": statistics.median(ratios), "same_state_hash": same,
    }))


if __name__ == "__main__":
    main()
