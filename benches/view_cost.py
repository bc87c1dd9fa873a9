"""What the live view costs a run: `snnsim run FILE` against `snnsim run FILE --view
--view-port 0` with one viewer reading the event stream, in interleaved repetitions (the
machine is shared and noisy: medians of interleaved runs, order alternating). The time
compared is the run's own `sim_wall_s` (the stepping or training loop, not the build).

    python3 benches/view_cost.py [--file graphs/cuba.ron] [--duration-ms 10000] [--reps 9] [--threads 1]
    python3 benches/view_cost.py --file graphs/foraging.ron --episodes 2000

Needs the release binary (`cargo build --release`). Prints one line per run and a summary:
medians, the median of the per-pair ratios (view / plain), the median CPU time of the snnsim
process (user + system, all its threads: less sensitive to a busy machine than wall time) and
whether the state hashes agree.
"""

import argparse
import resource
import json
import os
import socket
import statistics
import subprocess
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def viewer(addr, got):
    """Reads the whole event stream (HTTP/1.0: the server closes it at the end of the run)."""
    host, port = addr.split(":")
    with socket.create_connection((host, int(port))) as s:
        s.sendall(f"GET /events HTTP/1.0\r\nHost: {addr}\r\n\r\n".encode())
        n = 0
        while True:
            b = s.recv(1 << 16)
            if not b:
                break
            n += len(b)
        got.append(n)


def run(a, out, view):
    cmd = [a.bin, "run", a.file, "--out", out, "--json", "--quiet", "--threads", str(a.threads),
           "--no-metrics"]
    if a.duration_ms is not None:
        cmd += ["--duration-ms", str(a.duration_ms)]
    if a.episodes is not None:
        cmd += ["--episodes", str(a.episodes)]
    if view:
        cmd += ["--view", "--view-port", "0"]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    got, t = [], None
    if view:
        for line in p.stderr:
            if line.startswith("view at http://"):
                t = threading.Thread(target=viewer, args=(line.split("/")[2], got))
                t.start()
                break
    stdout, _ = p.communicate()
    if t:
        t.join()
    if p.returncode != 0:
        raise SystemExit(f"{cmd} failed ({p.returncode})")
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    s = json.loads(stdout.strip().splitlines()[-1])
    return s["sim_wall_s"], s["state_hash"], (got[0] if got else 0), cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", default=str(ROOT / "graphs" / "cuba.ron"))
    ap.add_argument("--duration-ms", type=float, default=None)
    ap.add_argument("--episodes", type=int, default=None)
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bin", default=str(Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
                                         / "release" / "snnsim"))
    a = ap.parse_args()
    if a.duration_ms is None and a.episodes is None:
        a.duration_ms = 10_000.0
    plain, view, ratios, hashes = [], [], [], set()
    cpu = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.reps):
            pair = {}
            for v in ((False, True) if r % 2 == 0 else (True, False)):
                wall, h, nbytes, c = run(a, os.path.join(tmp, f"{r}-{int(v)}"), v)
                pair[v] = wall
                cpu[v].append(c)
                hashes.add(h)
                tag = f"view ({nbytes / max(wall, 1e-9) / 1000:.0f} kB/s to the viewer)" if v else "plain"
                print(f"rep {r}: {tag:<36} sim_wall_s {wall:.3f}  process CPU {c:.3f} s", flush=True)
            plain.append(pair[False])
            view.append(pair[True])
            ratios.append(pair[True] / pair[False])
    print(f"{Path(a.file).name}: plain median {statistics.median(plain):.3f} s, "
          f"with a viewer {statistics.median(view):.3f} s, "
          f"median ratio {statistics.median(ratios):.3f} "
          f"(ratios {min(ratios):.3f}-{max(ratios):.3f}); process CPU (whole process, build "
          f"and writing included) median {statistics.median(cpu[False]):.3f} s plain, "
          f"{statistics.median(cpu[True]):.3f} s with a viewer; "
          f"same state_hash: {len(hashes) == 1}")


if __name__ == "__main__":
    main()
