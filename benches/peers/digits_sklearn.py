#!/usr/bin/env python3
"""Conventional classifiers on the same digits split as a `snnsim run graphs/digits.ron` run,
the non-spiking reference of docs/results.md: the test samples are those of the run's
predictions.csv (their labels checked against scikit-learn's `load_digits`), the rest train.
Pixels are scaled to [0, 1] as snnsim's loader does.

    python digits_sklearn.py RUN_DIR [RUN_DIR ...]

Per run directory one JSON line: {"run", "test_samples", "logistic_regression", "mlp_128"}
(test accuracies of scikit-learn's LogisticRegression and of an MLPClassifier with one hidden
layer of 128 ReLU units, Adam, seeded by the run's seed). Needs scikit-learn.
"""
import csv
import json
import os
import sys

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    for run in sys.argv[1:]:
        with open(os.path.join(run, "predictions.csv")) as f:
            rows = list(csv.DictReader(f))
        with open(os.path.join(run, "summary.json")) as f:
            seed = json.load(f)["seed"]
        test = np.array([int(r["sample"]) for r in rows])
        if any(int(r["label"]) != y[int(r["sample"])] for r in rows):
            sys.exit(f"{run}: the labels differ from scikit-learn's digits")
        train = np.setdiff1d(np.arange(len(y)), test)
        lr = LogisticRegression(max_iter=5000).fit(x[train], y[train])
        mlp = MLPClassifier(hidden_layer_sizes=(128,), max_iter=2000, random_state=seed)
        mlp.fit(x[train], y[train])
        print(json.dumps({
            "run": run,
            "test_samples": len(test),
            "logistic_regression": lr.score(x[test], y[test]),
            "mlp_128": mlp.score(x[test], y[test]),
        }))


if __name__ == "__main__":
    main()
