"""How fast is the timestep scrubber of notebook 02? Target: under 100 ms per call (median).

Times ``crystal_tutorial.viz.diffusion.render_scrubber`` (building both plotly figures) for every
dropdown choice, sweeping t over 0..T as a learner scrubbing the slider would; then the same plus
serialising both figures to JSON, which is what Jupyter does to display them (drawing them in
the browser is not included). The first call per choice (fresh seed: the noise draw is not
cached yet) is reported separately.

    python benchmarks/bench_scrubber.py [--repeats 3]
"""
import argparse
import itertools
import time

import numpy as np
import plotly.io as pio

from crystal_tutorial.crystals import PROTOTYPES
from crystal_tutorial.viz.diffusion import NOISE_KINDS, SCHEDULES, render_scrubber

TARGET_MS = 100.0


def main(repeats: int = 3, T: int = 100, step: int = 10):
    render_scrubber(0)  # import plotly and warm up, not timed
    print(f"render_scrubber, T = {T}, t = 0..{T} every {step}, {repeats} sweeps per choice")
    print(f"{'prototype':>9} {'schedule':>8} {'noise':>7} | {'first ms':>8} {'median ms':>9} {'p90 ms':>7} "
          f"{'+json ms':>8}")
    medians, json_medians = [], []
    for proto, schedule, noise in itertools.product(PROTOTYPES, SCHEDULES, NOISE_KINDS):
        start = time.perf_counter()
        render_scrubber(T // 2, proto, schedule, noise, T=T, seed=123)  # a fresh seed: cold caches
        first = (time.perf_counter() - start) * 1e3
        times = []
        for _ in range(repeats):
            for t in range(0, T + 1, step):
                start = time.perf_counter()
                render_scrubber(t, proto, schedule, noise, T=T)
                times.append((time.perf_counter() - start) * 1e3)
        with_json = []
        for t in range(0, T + 1, step):
            start = time.perf_counter()
            [pio.to_json(fig) for fig in render_scrubber(t, proto, schedule, noise, T=T)]
            with_json.append((time.perf_counter() - start) * 1e3)
        medians.append(np.median(times))
        json_medians.append(np.median(with_json))
        print(f"{proto:>9} {schedule:>8} {noise:>7} | {first:8.1f} {np.median(times):9.1f} "
              f"{np.percentile(times, 90):7.1f} {np.median(with_json):8.1f}")
    worst = max(medians)
    print(f"worst median {worst:.1f} ms (with JSON {max(json_medians):.1f} ms); target {TARGET_MS:.0f} ms; "
          f"headroom x{TARGET_MS / worst:.1f}; {'OK' if worst < TARGET_MS else 'TOO SLOW'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--T", type=int, default=100)
    args = parser.parse_args()
    main(args.repeats, args.T)
