#!/usr/bin/env python3
"""Caps a merged corpus directory (fuzz/corpus/<target>) at a byte budget, for the targets whose inputs are whole
proofs or command logs: it keeps every seed from the vectors (their valid inputs are what the replay test needs to
reach past the decoders), then the smallest inputs the fuzzer found until the budget is spent. The full set-cover
corpus stays in fuzz/corpus-work. Usage: cap.py TARGET BUDGET_BYTES"""

import pathlib
import subprocess
import sys
import tempfile

FUZZ = pathlib.Path(__file__).resolve().parent
target, budget = sys.argv[1], int(sys.argv[2])
with tempfile.TemporaryDirectory() as seeds:
    subprocess.run([sys.executable, str(FUZZ / "seed_corpus.py"), seeds], check=True)
    seed_names = {p.name for p in (pathlib.Path(seeds) / target).iterdir()}
corpus = FUZZ / "corpus" / target
files = sorted(corpus.iterdir(), key=lambda p: (p.name not in seed_names, p.stat().st_size))
spent = 0
for path in files:
    size = path.stat().st_size
    if path.name in seed_names or spent + size <= budget:
        spent += size
    else:
        path.unlink()
print(f"{target}: {len(list(corpus.iterdir()))} files, {spent} bytes")
