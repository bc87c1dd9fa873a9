#!/bin/sh
# The scatter-add ceiling for event delivery (docs/performance.md, "Event delivery"):
# builds benches/triad.c (a STREAM triad and the event kernel acc[idx[k]] += w[k] into
# accumulators of 4 000 to 40 000 000 targets) into target/triad and runs it on 1 thread,
# then on each further thread count given (default: 1 2).
#
#   benches/triad.sh            # 1 and 2 threads
#   benches/triad.sh 1          # 1 thread only
#   TRIAD_N=4000000 benches/triad.sh   # a smaller triad array (default 40 000 000 doubles × 3)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/target/triad"
mkdir -p "$out"
${CC:-gcc} -O3 -march=native -fopenmp "$root/benches/triad.c" -o "$out/triad"
[ $# -gt 0 ] || set -- 1 2
for t in "$@"; do
    OMP_NUM_THREADS=$t "$out/triad" ${TRIAD_N:-}
done
