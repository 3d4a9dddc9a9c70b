"""Regenerate the shipped pretrained weights of the pairwise denoiser, deterministically.

    python benchmarks/make_pretrained.py            # writes crystal_tutorial/data/pairwise_demo.npz

The run is fixed by a step count, not a time budget (so it does not depend on the machine's
load): TorusConfig defaults with max_steps = STEPS and a cosine learning-rate decay over those
steps, on the 10-structure demo set, seed 0, one BLAS thread. Weights are stored as float32 (half
the size; loading casts them back to float64). The script then samples 100 structures of 2, 4 and
8 atoms and prints what spglib recognises (symprec 0.25 Å).
"""
import time
from pathlib import Path

import numpy as np

from crystal_tutorial.checkpoint import save
from crystal_tutorial.crystals import demo_dataset
from crystal_tutorial.torus import PRETRAINED, TorusConfig, sample_torus, train_torus
from crystal_tutorial.viz.pairwise import format_table, quality

STEPS = 8000

if __name__ == "__main__":
    config = TorusConfig(max_steps=STEPS, max_seconds=1e9, lr_decay="steps", seed=0, progress=True)
    model = config.build_model()
    start = time.perf_counter()
    history = train_torus(model, demo_dataset(), config)
    print(f"{model!r}: {history.n_steps} steps in {time.perf_counter() - start:.1f} s, "
          f"final loss (mean of last 200 steps) {history.losses[-200:].mean():.4f}")
    path = save(PRETRAINED, model, config, dtype=np.float32)
    print(f"wrote {path} ({Path(path).stat().st_size / 1024:.1f} KB)")
    rows = []
    for n in (2, 4, 8):
        samples = sample_torus(model, n, 100, np.random.default_rng(1))
        rows.append({"model": "pretrained pairwise", **quality(samples)})
    print(format_table(rows))
