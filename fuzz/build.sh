#!/usr/bin/env bash
# Builds the libFuzzer targets on a stable toolchain (FUZZING.md says why these flags). Extra arguments go to cargo,
# e.g. `--bin backup_messages`.
set -euo pipefail
cd "$(dirname "$0")"
# SanitizerCoverage as cargo-fuzz sets it up with `--sanitizer none`, through stable -C flags only: libFuzzer's
# inline 8-bit edge counters, the PC table it prints cov/ft from, and comparison tracing for its value profile.
export RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 --cfg fuzzing -Cdebug-assertions -Coverflow-checks ${RUSTFLAGS:-}"
# --target keeps RUSTFLAGS off build scripts and proc macros (they are not linked against libFuzzer).
exec nice -n 10 cargo build --release --locked --target x86_64-unknown-linux-gnu "$@"
