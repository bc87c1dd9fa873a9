#!/bin/sh
# Strong scaling of a split simulation from 1 to 2 ranks (docs/performance.md, "Across MPI
# ranks"), beside the 2-process scaling of the scatter-add ceiling (benches/triad.c).
# Needs an MPI build (`cargo build --release --features mpi`) and Open MPI's mpirun.
# Runs REPS interleaved rounds of: one process on 1 thread, `mpirun -np 2` on 1 thread per
# rank, one process on 2 threads; prints each run's sim_wall_s and rank 0's compute / wait /
# exchange split and bytes sent, then triad.c alone and two copies at once (1 thread each).
#
#   benches/mpi_scaling.sh                     # CUBA-400k, 100 ms, 3 rounds
#   GRAPH=graphs/cuba.ron MS=1000 REPS=5 benches/mpi_scaling.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
bin="${BIN:-$root/target/release/snnsim}"
graph="${GRAPH:-$root/graphs/cuba-400k.ron}"
ms="${MS:-100}"
reps="${REPS:-3}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
show() { # label run-dir
    python3 - "$1" "$2/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[2]))
x = s.get("exchange")
line = f"{sys.argv[1]:<18} sim_wall_s {s['sim_wall_s']:.3f}  steps {s['steps']}  hash {s['state_hash']}"
if x:
    n = max(x["exchanges"], 1)
    line += (f"  compute {x['compute_s']:.3f} s  wait {x['wait_s']:.3f} s  exchange {x['exchange_s']:.3f} s"
             f"  ({1e6 * x['exchange_s'] / n:.1f} us/exchange, {x['bytes_sent'] / n:.0f} B/rank/interval)")
print(line, flush=True)
PY
}
grep -m1 "model name" /proc/cpuinfo
for r in $(seq "$reps"); do
    "$bin" run "$graph" --duration-ms "$ms" --threads 1 --no-metrics --quiet --out "$work/one-$r"
    show "1 process, 1 thr" "$work/one-$r"
    mpirun --allow-run-as-root --oversubscribe -np 2 "$bin" run "$graph" --duration-ms "$ms" --threads 1 --no-metrics --quiet --out "$work/np2-$r"
    show "2 ranks x 1 thr" "$work/np2-$r"
    "$bin" run "$graph" --duration-ms "$ms" --threads 2 --no-metrics --quiet --out "$work/two-$r"
    show "1 process, 2 thr" "$work/two-$r"
done
out="$root/target/triad"
mkdir -p "$out"
${CC:-gcc} -O3 -march=native -fopenmp "$root/benches/triad.c" -o "$out/triad"
echo "triad.c alone (1 thread):"
OMP_NUM_THREADS=1 "$out/triad" | grep -E "triad|acc=400000 "
echo "triad.c, two processes at once (1 thread each):"
OMP_NUM_THREADS=1 "$out/triad" >"$work/t1" &
OMP_NUM_THREADS=1 "$out/triad" >"$work/t2"
wait
grep -hE "triad|acc=400000 " "$work/t1" "$work/t2"
