#!/usr/bin/env python3
"""Grown against random reservoirs on NARMA-10 (docs/reservoir.md, "Grown reservoirs").

For each seed: runs graphs/lsm-narma10-grown.ron (the reservoir develops from 20 neurons),
reads its final size, synapse counts and weights, and runs a random reservoir of the same
file with the same final size and the same number of input and recurrent synapses
(FixedInDegree, rounded to whole in-degrees), weights drawn from normal distributions with the
grown network's mean and standard deviation per projection, and no development. Prints one
row per seed and the means; `--json` writes them.

    python3 benches/grown_reservoir.py [--seeds 1,2,3,4,5] [--snnsim target/release/snnsim]
"""
import argparse
import csv
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(snnsim, graph, out, seed):
    p = subprocess.run(
        [snnsim, "run", str(graph), "--out", str(out), "--seed", str(seed), "--json",
         "--no-metrics", "--quiet"],
        capture_output=True, text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--snnsim", default=str(ROOT / "target/release/snnsim"))
    ap.add_argument("--json")
    a = ap.parse_args()
    text = (ROOT / "graphs/lsm-narma10-grown.ron").read_text()
    grown_text = text.replace(
        "    structure: [(",
        '    recorders: [Weights(projection: "rec"), Weights(projection: "in")],\n    structure: [(', 1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "grown.ron").write_text(grown_text)
        for seed in [int(s) for s in a.seeds.split(",")]:
            g = run(a.snnsim, tmp / "grown.ron", tmp / f"g{seed}", seed)
            n = g["populations"]["reservoir"]["size"]
            w = {"in": [], "rec": []}
            with open(tmp / f"g{seed}" / "weights.csv") as f:
                for r in csv.DictReader(f):
                    w[r["projection"]].append(float(r["weight"]))
            rnd = re.sub(r"    structure: \[\(.*?\n    \)\],\n", "", text, flags=re.S)
            rnd = rnd.replace("        develop: 600,\n", "")
            rnd = rnd.replace('name: "reservoir",\n            size: 20,',
                              f'name: "reservoir",\n            size: {n},')
            for proj in ["in", "rec"]:
                k = round(len(w[proj]) / n)
                mean, sd = statistics.fmean(w[proj]), statistics.pstdev(w[proj])
                rnd, c = re.subn(
                    rf'(\(name: "{proj}",[^)]*?connectivity: )\w+\(p: [0-9.]+\),\n(\s*)weight: [A-Za-z]+\([^)]*\)',
                    rf"\g<1>FixedInDegree(k: {k}),\n\g<2>weight: Normal(mean: {mean!r}, std: {sd!r})",
                    rnd, flags=re.S)
                assert c == 1, proj
            (tmp / "random.ron").write_text(rnd)
            r = run(a.snnsim, tmp / "random.ron", tmp / f"r{seed}", seed)
            row = {
                "seed": seed, "neurons": n,
                "in_synapses": len(w["in"]), "rec_synapses": len(w["rec"]),
                "grown": g["nrmse_test"], "random": r["nrmse_test"],
                "random_synapses": r["projection_synapses"]["in"] + r["projection_synapses"]["rec"],
                "delay_line": g["nrmse_delay_line"],
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    means = {k: statistics.fmean(r[k] for r in rows) for k in ["grown", "random", "delay_line"]}
    print("mean NRMSE test: grown %.4f, random %.4f, delay line %.4f" %
          (means["grown"], means["random"], means["delay_line"]))
    if a.json:
        Path(a.json).write_text(json.dumps({"rows": rows, "means": means}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
