#!/usr/bin/env python3
"""Reads NIR files with the Python `nir` package (1.0.8, type checking on) and prints what it
read as JSON, for tests/nir.rs to compare with what snnsim wrote.

Usage: nir_read.py FILE...   Exit status 0 when every file loads, 1 (with the error) otherwise.
Output: {FILE: {"version": str, "graph": GRAPH}}, GRAPH = {"nodes": {NAME: NODE}, "edges":
[[a, b], ...]}, NODE = {"type": str, "params": {NAME: {"shape": [...], "dtype": str,
"values": [...]}}} or, for a NIRGraph, {"type": "NIRGraph", "graph": GRAPH}.
Needs only nir, h5py and numpy (what .ci/run installs).
"""

import json
import sys

import h5py
import nir
import numpy as np


def array(v):
    a = np.asarray(v)
    if a.dtype.kind in "SUO":
        values = [x.decode() if isinstance(x, bytes) else str(x) for x in a.reshape(-1)]
    else:
        values = a.reshape(-1).tolist()
    return {"shape": list(a.shape), "dtype": str(a.dtype), "values": values}


def graph(g):
    nodes = {}
    for name, node in g.nodes.items():
        if isinstance(node, nir.NIRGraph):
            nodes[name] = {"type": "NIRGraph", "graph": graph(node)}
            continue
        d = node.to_dict()
        kind = d.pop("type")
        d.pop("metadata", None)
        params = {k: array(v) for k, v in d.items() if v is not None}
        nodes[name] = {"type": kind, "params": params}
    return {"nodes": nodes, "edges": [list(e) for e in g.edges]}


def main():
    out = {}
    for path in sys.argv[1:]:
        try:
            g = nir.read(path)  # type_check=True
        except Exception as e:  # noqa: BLE001 - report whatever nir raised
            print(f"{path}: nir.read failed: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        with h5py.File(path, "r") as f:
            version = f["version"][()]
        version = version.decode() if isinstance(version, bytes) else str(version)
        out[path] = {"version": version, "graph": graph(g)}
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
