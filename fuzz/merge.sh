#!/usr/bin/env bash
# Replaces fuzz/corpus/<target> with a small set of inputs from it and from the working corpus a run grew
# (fuzz/corpus-work/<target>) that covers the same edges: libFuzzer's set-cover merge on edges alone (no hit-count
# buckets, no comparison features), which keeps the committed corpus small; the feature-rich working corpus stays
# in corpus-work for the next run. Extra arguments go to libFuzzer.
set -euo pipefail
fuzz=$(cd "$(dirname "$0")" && pwd)
target=$1
rm -rf "$fuzz/corpus-min/$target" && mkdir -p "$fuzz/corpus-min/$target" "$fuzz/logs/$target"
nice -n 10 "$fuzz/target/x86_64-unknown-linux-gnu/release/$target" -set_cover_merge=1 -use_counters=0 -use_cmp=0 "${@:2}" "$fuzz/corpus-min/$target" \
  "$fuzz/corpus/$target" "$fuzz/corpus-work/$target" >"$fuzz/logs/$target/merge.log" 2>&1
rm -rf "$fuzz/corpus/$target" && mv "$fuzz/corpus-min/$target" "$fuzz/corpus/$target"
grep -o 'MERGE-OUTER: [0-9]* new files with [0-9]* new features added; [0-9]* new coverage edges' \
  "$fuzz/logs/$target/merge.log" || true
