#!/usr/bin/env bash
# Site-check A/B on a shared, noisy machine: runs `--bench site` of several district bench
# binaries alternately, ROUNDS times, so drift in the machine's load hits every binary alike,
# and prints each run's median, p99 and batch-of-3 000 time, sorted by binary.
#
#   benches/site_ab.sh ROUNDS BIN...
#
# Bench binaries come from `cargo bench --bench district --no-run` (copy
# target/release/deps/district-* aside before building the next variant; for an older commit,
# `git archive COMMIT | tar -x -C DIR`, touch its sources, and build it with
# CARGO_TARGET_DIR=$PWD/target so the district data in target/bench-district is shared).
set -euo pipefail
ROUNDS=${1:?usage: benches/site_ab.sh ROUNDS BIN...}
shift
[ $# -gt 0 ] || { echo "usage: benches/site_ab.sh ROUNDS BIN..." >&2; exit 2; }
for _ in $(seq "$ROUNDS"); do
  for bin in "$@"; do
    figures=$("$bin" --bench site 2>&1 | grep -E 'median|batch' | grep -oE '[0-9]+\.[0-9]+ (ms|s)' | head -3 | tr '\n' ' ')
    echo "$(basename "$bin") $figures"
  done
done | sort
