"""Reference class labels of the Yin-Yang dataset (Kriener, Goltz & Petrovici 2022).

The published generator (github.com/lkriener/yin_yang_data_set, dataset.py) labels a point
(x, y) of the figure of radius r_big = 0.5 with dots of radius r_small = 0.1 by three
criteria on its distances to the two dots. This script restates that formula with numpy,
vectorised over a fixed set of points — a 41 x 41 grid over the unit square and 1 500 points
drawn by numpy's legacy RandomState(2022) — keeps those inside the figure, and writes their
labels, so that src/classify/data.rs's `yinyang_class` is checked against it.

    python3 gen_yinyang.py [OUT]   # default gen/out/yinyang_classes.json; numpy 2.3.5
"""

import json
import os
import sys

import numpy as np

R_SMALL = 0.1
R_BIG = 0.5


def classes(x, y, r_small=R_SMALL, r_big=R_BIG):
    d_right = np.sqrt((x - 1.5 * r_big) ** 2 + (y - r_big) ** 2)
    d_left = np.sqrt((x - 0.5 * r_big) ** 2 + (y - r_big) ** 2)
    crit1 = d_right <= r_small
    crit2 = (d_left > r_small) & (d_left <= 0.5 * r_big)
    crit3 = (y > r_big) & (d_right > 0.5 * r_big)
    is_yin = crit1 | crit2 | crit3
    is_dot = (d_right < r_small) | (d_left < r_small)
    return np.where(is_dot, 2, is_yin.astype(np.int64))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "out", "yinyang_classes.json")
    g = np.linspace(0.0, 1.0, 41)
    gx, gy = np.meshgrid(g, g)
    rs = np.random.RandomState(2022)
    r = rs.rand(1500, 2)
    x = np.concatenate([gx.ravel(), r[:, 0]])
    y = np.concatenate([gy.ravel(), r[:, 1]])
    inside = np.sqrt((x - R_BIG) ** 2 + (y - R_BIG) ** 2) <= R_BIG
    x, y = x[inside], y[inside]
    c = classes(x, y)
    data = {
        "schema": "class[k] is the Yin-Yang class (0, 1, or 2 for the dots) of the point (x[k], y[k]) "
                  "of the figure of radius r_big centred on (r_big, r_big) with dots of radius r_small, "
                  "by the published formula (github.com/lkriener/yin_yang_data_set, dataset.py, "
                  "which_class) restated in numpy; counts: points per class",
        "versions": {"numpy": np.__version__},
        "generator": "tests/reference/gen/gen_yinyang.py",
        "r_small": R_SMALL,
        "r_big": R_BIG,
        "x": x.tolist(),
        "y": y.tolist(),
        "class": c.tolist(),
        "counts": np.bincount(c, minlength=3).tolist(),
    }
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(data, f, indent=None)
        f.write("\n")


if __name__ == "__main__":
    main()
