#!/bin/sh
# Peak memory of EventProp against BPTT on one network of 1 000 steps per sample
# (docs/results.md, "EventProp memory"): graphs/yinyang.ron with 10 000 hidden neurons and
# dt = 0.05 ms (1 000 steps of a 50 ms sample), 32 training and 8 test points, one epoch;
# the BPTT file is the same with snnTorch Leaky neurons (reset to zero) instead of the
# event-time LIF. Usage: benches/eventprop-memory.sh [SNNSIM] [THREADS]
set -e
bin=${1:-target/release/snnsim}
threads=${2:-1}
dir=$(mktemp -d)
sed -e 's/dt_ms: 0.5,/dt_ms: 0.05,/' -e 's/size: 300,/size: 10000,/' \
    -e 's/train: 5000, test: 1000/train: 32, test: 8/' -e 's/window: 64)/window: 640)/' \
    -e 's/steps: 100,/steps: 1000,/' -e 's/epochs: [0-9]*,/epochs: 1,/' \
    graphs/yinyang.ron > "$dir/eventprop.ron"
sed -e 's/model: Lif(tau_m_ms: 20.0, tau_syn_exc_ms: 5.0,$/model: Lif(integration: SnnTorch(reset: Zero), tau_m_ms: 20.0,/' \
    -e 's/, v_th_mv: 1.0, refractory_ms: 0.0)/, v_th_mv: 1.0)/' \
    -e 's/, v_th_mv: 1e9, refractory_ms: 0.0)/, v_th_mv: 1e9)/' \
    -e 's/gradient: EventProp(),//' "$dir/eventprop.ron" > "$dir/bptt.ron"
sed -i 's/\(name: "out".*model: Lif(\)integration: SnnTorch(reset: Zero)/\1integration: SnnTorch(reset: NoReset)/' "$dir/bptt.ron"
for g in eventprop bptt; do
    /usr/bin/time -v "$bin" run "$dir/$g.ron" --threads "$threads" --out "$dir/out-$g" \
        > "$dir/$g.log" 2>&1
    kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/$g.log")
    echo "$g: peak RSS $kb kB"
done
rm -rf "$dir"
