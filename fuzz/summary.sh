#!/usr/bin/env bash
# Prints, per target that has run, the numbers FUZZING.md records: executions, exec/s, last cov and ft, the corpus
# libFuzzer held at the end, and crash artifacts.
cd "$(dirname "$0")"
for log in logs/*/fuzz-0.log; do
  t=$(basename "$(dirname "$log")")
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
  last=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*/[0-9a-zA-Z]*' "$log" | tail -1)
  crashes=$(ls "artifacts/$t" 2>/dev/null | wc -l)
  echo "$t runs=${runs:-?} exec/s=${rate:-?} $last artifacts=$crashes"
done
