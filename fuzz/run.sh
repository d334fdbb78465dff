#!/usr/bin/env bash
# Runs one libFuzzer target (built by build.sh) for SECONDS on this shared 2-core machine: one job, one worker,
# niced. It grows fuzz/corpus-work/<target> (git-ignored, seeded from the committed corpus) and writes crashes to
# fuzz/artifacts/<target>/. With -jobs, libFuzzer's worker logs to fuzz-0.log in the current directory, so the run
# happens in fuzz/logs/<target>/ (the progress lines with cov/ft are there). FUZZING.md: merging the corpus back.
set -euo pipefail
fuzz=$(cd "$(dirname "$0")" && pwd)
target=$1 seconds=${2:-600}  # further arguments go to libFuzzer, e.g. -max_len=16384
mkdir -p "$fuzz/corpus-work/$target" "$fuzz/artifacts/$target" "$fuzz/logs/$target"
cp -n "$fuzz/corpus/$target"/* "$fuzz/corpus-work/$target/" 2>/dev/null || true
cd "$fuzz/logs/$target"
# glibc raises its mmap threshold to the size of each large block freed (up to 32 MiB), after which Argon2's
# 19 MiB blocks come from the heap and fragment it: vault_driven's RSS then grew by ~150 kB an execution until the
# 2 GiB limit (an input replayed alone peaks at 51 MB). A fixed threshold keeps large blocks in mmap (FUZZING.md).
export MALLOC_MMAP_THRESHOLD_=131072
exec nice -n 10 "$fuzz/target/x86_64-unknown-linux-gnu/release/$target" \
  -jobs=1 -workers=1 -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$fuzz/artifacts/$target/" "${@:3}" "$fuzz/corpus-work/$target" >"$fuzz/logs/$target/run.log" 2>&1
