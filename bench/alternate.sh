#!/bin/bash
# Alternated A/B timing of pdenet binaries on a noisy machine: ROUNDS rounds, each
# running `pdenet bench FILE` once per binary in turn, then per binary the median
# epoch of every round and the minimum epoch of all of them (the least disturbed).
#
#   bench/alternate.sh FILE PRECISION THREADS ROUNDS BIN...
#   bench/alternate.sh bench/burgers_mlp_100x5.pde f32 2 3 /tmp/pdenet-a /tmp/pdenet-b
set -euo pipefail
if [ $# -lt 5 ]; then
    sed -n '2,7p' "$0" >&2
    exit 2
fi
file=$1 precision=$2 threads=$3 rounds=$4
shift 4
for _ in $(seq "$rounds"); do
    for bin in "$@"; do
        "$bin" bench "$file" --threads "$threads" --epochs 15 --precision "$precision" \
            --no-hessian 2>&1 |
            grep -oE '[0-9.]+ ms per Adam epoch \(median of 15, min [0-9.]+' |
            awk -v b="$bin" '{print b, $1, $NF}'
    done
done | awk '{ med[$1] = med[$1] " " $2; if (!($1 in mn) || $3 < mn[$1]) mn[$1] = $3 }
    END { for (b in med) print b ": medians" med[b] ", min " mn[b] }'
