"""Small files in the N-MNIST and Spiking Heidelberg Digits formats, and what they hold.

N-MNIST (Orchard et al. 2015): one binary file per sample under Train/<digit>/ and
Test/<digit>/, 5 bytes per event, big-endian: x (8 bits), y (8 bits), then polarity (1 bit)
and timestamp (23 bits, us). SHD (Cramer et al. 2020): shd_train.h5 and shd_test.h5 with
the variable-length datasets spikes/times (s) and spikes/units (channel) and the dataset
labels. The events are drawn from numpy's RandomState(27); events.json lists every sample in
the order snnsim reads them (N-MNIST: Train then Test, digit by digit, files by name; SHD:
train then test, row by row) as [time_us, channel] pairs with its label.

    python3 gen_event_fixtures.py [OUT_DIR]   # default tests/reference/events; numpy 2.3.5, h5py 3.16.0
"""

import json
import math
import os
import sys

import h5py
import numpy as np


def nmnist(root, rs):
    samples = {"Train": [], "Test": []}
    for part in ["Train", "Test"]:
        for digit in range(10):
            d = os.path.join(root, part, str(digit))
            os.makedirs(d, exist_ok=True)
            # Digit 3 gets two files, to check the order by name.
            for name in (["00002.bin", "00011.bin"] if digit == 3 else ["00005.bin"]):
                n = int(rs.randint(0, 12))
                x = rs.randint(0, 34, n)
                y = rs.randint(0, 34, n)
                p = rs.randint(0, 2, n)
                t = np.sort(rs.randint(0, 2 ** 23, n))
                if n > 0:  # the corners of the address and time ranges
                    x[0], y[0], p[0] = 33, 33, 1
                    t[-1] = 2 ** 23 - 1
                raw = bytearray()
                for k in range(n):
                    raw += bytes([int(x[k]), int(y[k]),
                                  (int(p[k]) << 7) | (int(t[k]) >> 16),
                                  (int(t[k]) >> 8) & 0xFF, int(t[k]) & 0xFF])
                with open(os.path.join(d, name), "wb") as f:
                    f.write(raw)
                events = [[int(t[k]), int((p[k] * 34 + y[k]) * 34 + x[k])] for k in range(n)]
                samples[part].append({"label": digit, "events": events})
    return samples["Train"] + samples["Test"]


def shd_file(path, rs, n, time_dtype):
    times, units, labels = [], [], []
    for k in range(n):
        m = int(rs.randint(0, 15))
        t = np.sort(rs.uniform(0.0, 1.2, m)).astype(time_dtype)
        u = rs.randint(0, 700, m).astype(np.uint16)
        if m > 0:
            u[0] = 699
        times.append(t)
        units.append(u)
        labels.append(int(rs.randint(0, 20)))
    with h5py.File(path, "w") as f:
        g = f.create_group("spikes")
        dt = g.create_dataset("times", (n,), dtype=h5py.vlen_dtype(np.dtype(time_dtype)))
        du = g.create_dataset("units", (n,), dtype=h5py.vlen_dtype(np.dtype(np.uint16)))
        for k in range(n):
            dt[k] = times[k]
            du[k] = units[k]
        f.create_dataset("labels", data=np.array(labels, dtype=np.uint8))
    return [{"label": labels[k],
             "events": [[int(math.floor(float(t) * 1e6 + 0.5)), int(u)]
                        for t, u in zip(times[k], units[k])]}
            for k in range(n)]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "events")
    rs = np.random.RandomState(27)
    nm = nmnist(os.path.join(out, "nmnist"), rs)
    os.makedirs(os.path.join(out, "shd"), exist_ok=True)
    # The train file stores times as float16 and the test file as float32.
    shd = shd_file(os.path.join(out, "shd", "shd_train.h5"), rs, 7, np.float16)
    shd += shd_file(os.path.join(out, "shd", "shd_test.h5"), rs, 4, np.float32)
    data = {
        "schema": "nmnist and shd: each sample in the order snnsim reads the files, its label "
                  "and its events as [time in us, channel]; N-MNIST channel = (p*34 + y)*34 + x; "
                  "nmnist_train and shd_train: how many samples come first from the training set",
        "versions": {"numpy": np.__version__, "h5py": h5py.__version__},
        "generator": "tests/reference/gen/gen_event_fixtures.py",
        "nmnist_train": 11,
        "shd_train": 7,
        "nmnist": nm,
        "shd": shd,
    }
    with open(os.path.join(out, "events.json"), "w") as f:
        json.dump(data, f)
        f.write("\n")


if __name__ == "__main__":
    main()
