#!/usr/bin/env bash
# Regenerate the reference data in tests/reference/ with the pinned tools and
# compare each regenerated file with the committed one (compare.py).
#
# Usage: tests/reference/gen/regen.sh [--venv DIR] [--out DIR] [--skip-cuba] [--skip-cobahh]
#                                      [--skip-structural]
#   --venv DIR   virtual environment to create/use
#                (default: $SNNSIM_REFERENCE_VENV or ~/.cache/snnsim-reference-venv)
#   --out DIR    where the regenerated files go (default: a new temporary directory)
#   --skip-cuba  do not run gen_brian2_cuba.py (5 network runs, a few minutes)
#   --skip-cobahh  do not run gen_brian2_cobahh.py (5 network runs, about a minute each)
#   --skip-structural  do not run gen_nest_structural.py (20 NEST runs of 200 s, about 100 minutes)
# Environment: PYTHON selects the interpreter that creates the venv (default python3;
# the committed data were made with Python 3.11).
# Exit status: 0 when every compared file agrees, 1 otherwise.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REF="$(dirname "$HERE")"
VENV="${SNNSIM_REFERENCE_VENV:-$HOME/.cache/snnsim-reference-venv}"
OUT=""
CUBA=1
COBAHH=1
STRUCTURAL=1

while [ $# -gt 0 ]; do
    case "$1" in
        --venv) VENV="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --skip-cuba) CUBA=0; shift ;;
        --skip-cobahh) COBAHH=0; shift ;;
        --skip-structural) STRUCTURAL=0; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "regen.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done

if [ -z "$OUT" ]; then
    OUT="$(mktemp -d "${TMPDIR:-/tmp}/snnsim-reference.XXXXXX")"
fi
mkdir -p "$OUT"

if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating venv $VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
fi
echo "== installing $HERE/requirements.txt into $VENV"
# --ignore-requires-python: Brian2 2.11.0 declares Python >= 3.13 but builds and runs on the
# 3.11 the data were made with (benches/peers/README.md); every requirement is pinned exactly,
# so the flag changes no version choice.
"$VENV/bin/python" -m pip install -q --ignore-requires-python -r "$HERE/requirements.txt"
PY="$VENV/bin/python"

declare -a RESULTS=()
STATUS=0

gen_and_compare() {
    local script="$1" file="$2"
    shift 2
    echo
    echo "== $script -> $OUT/$file"
    if ! "$PY" "$HERE/$script" "$OUT/$file" "$@"; then
        RESULTS+=("$file: generator FAILED")
        STATUS=1
        return
    fi
    if [ ! -f "$REF/$file" ]; then
        RESULTS+=("$file: generated (no committed file to compare with)")
        return
    fi
    if "$PY" "$HERE/compare.py" "$OUT/$file" "$REF/$file"; then
        RESULTS+=("$file: OK")
    else
        RESULTS+=("$file: DIFFERS")
        STATUS=1
    fi
}

gen_and_compare gen_gymnasium.py gymnasium_classic_control.json
gen_and_compare gen_yinyang.py yinyang_classes.json
# The event fixtures: the files are rewritten under $OUT/events and what they hold compared.
if "$PY" "$HERE/gen_event_fixtures.py" "$OUT/events" \
    && "$PY" "$HERE/compare.py" "$OUT/events/events.json" "$REF/events/events.json"; then
    RESULTS+=("events/events.json: OK")
else
    RESULTS+=("events/events.json: DIFFERS or FAILED")
    STATUS=1
fi
gen_and_compare gen_brian2_single.py brian2_single_neuron.json
gen_and_compare gen_brian2_zoo.py brian2_zoo.json
gen_and_compare gen_snntorch.py snntorch_reference.json
gen_and_compare gen_snntorch_deep.py snntorch_deep.json
gen_and_compare gen_snntorch_decay.py snntorch_decay.json
gen_and_compare gen_nest_iaf_psc_alpha.py nest_iaf_psc_alpha.json

# The NIR fixtures: a directory of .nir, .npy and one .json; the generator makes them byte
# for byte, so every file but the JSON is compared with cmp.
echo
echo "== gen_snntorch_nir.py -> $OUT/nir"
if "$PY" "$HERE/gen_snntorch_nir.py" "$OUT/nir"; then
    for f in "$OUT"/nir/*; do
        name="nir/$(basename "$f")"
        if [ ! -f "$REF/$name" ]; then
            RESULTS+=("$name: generated (no committed file to compare with)")
        elif case "$f" in *.json) "$PY" "$HERE/compare.py" "$f" "$REF/$name" ;; *) cmp -s "$f" "$REF/$name" ;; esac; then
            RESULTS+=("$name: OK")
        else
            RESULTS+=("$name: DIFFERS")
            STATUS=1
        fi
    done
else
    RESULTS+=("nir/: generator FAILED")
    STATUS=1
fi
if [ "$STRUCTURAL" = 1 ]; then
    gen_and_compare gen_nest_structural.py nest_structural_plasticity.json
fi
if [ "$CUBA" = 1 ]; then
    gen_and_compare gen_brian2_cuba.py brian2_cuba_stats.json --seeds 0,1,2,3,4 --target numpy
fi
if [ "$COBAHH" = 1 ]; then
    gen_and_compare gen_brian2_cobahh.py brian2_cobahh_stats.json --seeds 0,1,2,3,4 --target numpy
fi

echo
echo "== summary (regenerated files in $OUT)"
for r in "${RESULTS[@]}"; do
    echo "  $r"
done
if [ "$STATUS" = 0 ]; then
    echo "== all regenerated files agree with the committed ones"
else
    echo "== some files differ (see above)"
fi
exit "$STATUS"
