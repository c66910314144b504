#!/usr/bin/env bash
# The cost of the zero-on-free global allocator (src/main.rs): the same workload (uploads streamed
# into media buffers, pages rendered, responses parsed; bench/allocator_workload.rs) built with
# the daemon's allocator and with the system allocator, run alternately, reported as a ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench allocator_zeroing --bench allocator_plain --no-run 2>/dev/null
zeroing=$(ls -t target/release/deps/allocator_zeroing-* | grep -v '\.d$' | head -1)
plain=$(ls -t target/release/deps/allocator_plain-* | grep -v '\.d$' | head -1)
runs=${RUNS:-5}
z=(); p=()
for _ in $(seq "$runs"); do
    p+=("$("$plain" | sed -n 's/^round_ms=//p')")
    z+=("$("$zeroing" | sed -n 's/^round_ms=//p')")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mp=$(median "${p[@]}"); mz=$(median "${z[@]}")
echo "system allocator:       ${mp} ms per round (median of $runs runs)"
echo "zero-on-free allocator: ${mz} ms per round"
awk -v z="$mz" -v p="$mp" 'BEGIN { printf "ratio (zeroing / system): %.2f\n", z / p }'
