#!/usr/bin/env python3
"""The network of graphs/digits.ron trained with snnTorch on the same split as a
`snnsim run graphs/digits.ron` run, for docs/results.md's accuracy and speed comparison.

The same model and training, written the way an snnTorch user would: 64 latency-coded inputs
(one spike per pixel above 0 at step round((1 − x)·19), snnsim's `Latency(window: 20)`),
Linear(64, 128) → Leaky(β = e^(−1/10), threshold 1, reset by subtraction, fast-sigmoid
surrogate of slope 10) → Linear(128, 10) → Leaky(β, no reset), 25 steps per sample; a digit's
logit is its readout membrane's mean over the steps, softmax cross-entropy averaged over the
minibatch; Kaiming-normal weights as the graph file draws them (std = gain/√fan_in, gains
2 and 1), zero biases; Adam (2e-3, β = 0.9, 0.999, ε = 1e-8), minibatches of 32 reshuffled
every epoch, 40 epochs, float32 (PyTorch's default). The test samples are those of the run's
predictions.csv (their labels checked against scikit-learn's `load_digits`), the rest train.

    python digits_snntorch.py [--threads N] RUN_DIR [RUN_DIR ...]

Per run directory one JSON line: {"run", "seed", "test_samples", "snntorch_test_accuracy",
"snntorch_samples_per_s", "snnsim_test_accuracy", "snnsim_samples_per_s", "speed_ratio"}
(samples/s: training samples per second of the training loop, evaluation excluded on both
sides; run snnsim with the same --threads). Versions: torch 2.15.0, snnTorch 1.0.0,
scikit-learn (for the data only), numpy 2.3.5.
"""
import argparse
import csv
import json
import math
import os
import time

import numpy as np
import snntorch as snn
import torch
from sklearn.datasets import load_digits
from snntorch import surrogate

STEPS, WINDOW, HIDDEN, CLASSES = 25, 20, 128, 10
EPOCHS, BATCH, LR = 40, 32, 2e-3
BETA = math.exp(-1.0 / 10.0)


def encode(x):
    """Latency code: (samples, steps, 64) with one spike per pixel above 0."""
    out = np.zeros((len(x), STEPS, x.shape[1]), dtype=np.float32)
    for s, row in enumerate(x):
        for i, v in enumerate(row):
            if v > 0.0:
                out[s, int(round((1.0 - v) * (WINDOW - 1))), i] = 1.0
    return torch.from_numpy(out)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        grad = surrogate.fast_sigmoid(slope=10)
        self.fc1 = torch.nn.Linear(64, HIDDEN)
        self.lif1 = snn.Leaky(beta=BETA, threshold=1.0, reset_mechanism="subtract",
                              spike_grad=grad)
        self.fc2 = torch.nn.Linear(HIDDEN, CLASSES)
        self.out = snn.Leaky(beta=BETA, threshold=1e9, reset_mechanism="none")
        for fc, gain in ((self.fc1, 2.0), (self.fc2, 1.0)):
            torch.nn.init.normal_(fc.weight, 0.0, gain / math.sqrt(fc.in_features))
            torch.nn.init.zeros_(fc.bias)

    def forward(self, x):
        m1 = self.lif1.init_leaky()
        m2 = self.out.init_leaky()
        total = 0.0
        for t in range(STEPS):
            s1, m1 = self.lif1(self.fc1(x[:, t]), m1)
            _, m2 = self.out(self.fc2(s1), m2)
            total = total + m2
        return total / STEPS


def accuracy(net, x, y):
    with torch.no_grad():
        return float((net(x).argmax(1) == y).float().mean())


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("runs", nargs="+")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    images, labels = load_digits(return_X_y=True)
    images = images / 16.0
    for run in a.runs:
        with open(os.path.join(run, "predictions.csv")) as f:
            rows = list(csv.DictReader(f))
        with open(os.path.join(run, "summary.json")) as f:
            summary = json.load(f)
        test = np.array([int(r["sample"]) for r in rows])
        if any(int(r["label"]) != labels[int(r["sample"])] for r in rows):
            raise SystemExit(f"{run}: the labels differ from scikit-learn's digits")
        train = np.setdiff1d(np.arange(len(labels)), test)
        torch.manual_seed(summary["seed"])
        xtr, ytr = encode(images[train]), torch.from_numpy(labels[train])
        xte, yte = encode(images[test]), torch.from_numpy(labels[test])
        net = Net()
        opt = torch.optim.Adam(net.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8)
        loss_fn = torch.nn.CrossEntropyLoss()
        t0 = time.perf_counter()
        for _ in range(EPOCHS):
            order = torch.randperm(len(train))
            for b in range(0, len(train), BATCH):
                idx = order[b:b + BATCH]
                opt.zero_grad()
                loss = loss_fn(net(xtr[idx]), ytr[idx])
                loss.backward()
                opt.step()
        train_s = time.perf_counter() - t0
        rate = EPOCHS * len(train) / train_s
        print(json.dumps({
            "run": run, "seed": summary["seed"], "test_samples": len(test),
            "snntorch_test_accuracy": accuracy(net, xte, yte),
            "snntorch_samples_per_s": rate,
            "snnsim_test_accuracy": summary["test_accuracy"],
            "snnsim_samples_per_s": summary["samples_per_s"],
            "speed_ratio": summary["samples_per_s"] / rate,
        }), flush=True)


if __name__ == "__main__":
    main()
