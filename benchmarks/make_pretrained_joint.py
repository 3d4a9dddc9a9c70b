"""Regenerate crystal_tutorial/data/joint_binary.npz, the joint model's shipped weights (deterministic).

    python benchmarks/make_pretrained_joint.py [--steps 4000] [--out PATH]

Trains ``JointConfig(max_steps=steps, seed=0)`` on ``joint_diffusion.training_set()`` (19 real
binary and elemental crystals with 2, 4 or 8 atoms) with one BLAS thread and a fixed number of Adam
steps, so the same NumPy/BLAS build gives the same weights bit for bit; saved as float32 (loading
casts back to float64; ~200 KB). Takes about 5-10 minutes on this shared 2-core machine (316 s measured).
"""
import argparse
import time

import numpy as np

from crystal_tutorial.checkpoint import save
from crystal_tutorial.joint_diffusion import PRETRAINED_JOINT, JointConfig, train_joint, training_set

STEPS = 16000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--out", default=str(PRETRAINED_JOINT))
    args = parser.parse_args()
    data = training_set()
    config = JointConfig(max_steps=args.steps, max_seconds=1e9, seed=0, progress=False)
    model = config.build_model(data)
    print(f"{model!r}; {len(data)} training crystals: {', '.join(c.formula for c in data)}")
    start = time.perf_counter()
    history = train_joint(model, data, config)
    losses = np.column_stack([history.losses] + [history.records[k] for k in ("x", "lattice", "types")])
    print(f"{len(losses)} Adam steps in {time.perf_counter() - start:.0f} s; final loss (mean of last 200) "
          f"total/x/lattice/types = {np.round(losses[-200:].mean(axis=0), 3).tolist()}")
    path = save(args.out, model, config, dtype=np.float32)
    print(f"saved {path} ({path.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
