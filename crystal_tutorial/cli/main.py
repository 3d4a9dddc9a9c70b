"""Command line: ``python -m crystal_tutorial demo`` (the hello-world run) and ``... generate``.

    python -m crystal_tutorial demo [--epochs 100] [--timesteps 100] [--lr 1e-3] [--seed 0] [--out DIR] [--json]
    python -m crystal_tutorial generate --model {mlp,pairwise,joint} --n-atoms 4 --n-samples 10 --out DIR
    python -m crystal_tutorial student-edition OUT [--key DIR]
    python -m crystal_tutorial course DIR
    python -m crystal_tutorial benchmark --dataset perov_5 --n-test 100 --k 1 --seed 0 --weights pretrained --out DIR
    python -m crystal_tutorial site OUT

Exit status, the same for every subcommand: 0 done; 2 something given on the command line is wrong
(argparse, or a ValueError such as ``runs.UsageError`` raised by the subcommand: a bad value, a bad
combination, an ``--out`` that is taken, a ``--weights`` file that cannot be read); 1 the work failed
(an OSError such as no permission or a full disk, a MemoryError, training that diverged, a worker
process that died); 130 interrupted by Ctrl-C (SIGINT), 143 stopped by SIGTERM (``kill``): 128 plus the
signal's number, as a shell reports a process killed by it; either way the run's ``--out`` is not written.
Errors are one line on stderr, ``python -m crystal_tutorial CMD: error: ...``, never a traceback.

A subcommand is one function ``add_NAME(sub)`` that adds its subparser and sets ``func`` (a function
of the parsed args that returns 0); add it to ``SUBCOMMANDS``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..checks import SEED_MAX
from ..cli.generate import _int_in, _positive, add_generate_arguments, run_generate
from ..cli.runs import RunFolder
from ..course.grading import add_course_arguments, add_student_edition_arguments, run_course, run_student_edition

RULE = "=" * 80
PROG = "python -m crystal_tutorial"
EXIT_SIGINT, EXIT_SIGTERM = 130, 143   # 128 + the signal's number, as a shell reports it


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised by ``main``'s handler and cleaned up like Ctrl-C (a KeyboardInterrupt subclass, so
    Python does not re-raise SIGINT at exit); ``main`` returns 143 for it, 130 for Ctrl-C."""


def _new_out_dir(prefix: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, k = Path(f"{prefix}-{stamp}"), 1
    while path.exists():
        path, k = Path(f"{prefix}-{stamp}-{k}"), k + 1
    return path


def run_demo(args) -> int:
    """The hello-world's five steps: data, model, training, generation, physics check.

    Writes into a run folder (``runs.RunFolder``): ``--out`` appears only when every file is written.
    """
    from ..files import atomic_path

    out = args.out if args.out is not None else _new_out_dir("demo_output")
    run = RunFolder(out, "demo", overwrite=args.overwrite)   # checks --out before any work
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from ..checkpoint import save
    from ..crystals import demo_dataset
    from ..physics import PhysicsValidator
    from ..sampling import sample_ddpm
    from ..training import TrainConfig, build_model, train
    from ..viz.figures import plot_crystal_mpl

    config = TrainConfig(epochs=args.epochs, timesteps=args.timesteps, lr=args.lr, seed=args.seed,
                         progress=False)
    print(RULE)
    print("CRYSTAL STRUCTURE DIFFUSION MODEL - NUMPY DEMO")
    print(RULE)
    print("\nConfiguration:")
    print(json.dumps({"epochs": config.epochs, "timesteps": config.timesteps, "learning_rate": config.lr,
                      "beta_start": config.beta_start, "beta_end": config.beta_end,
                      "hidden_dim": config.hidden, "seed": config.seed}, indent=2))

    with run:
        print("\n[Step 1/5] Creating demo dataset...")
        dataset = demo_dataset(seed=args.seed)
        print(f"Created {len(dataset)} crystal structures")

        print("\n[Step 2/5] Initializing diffusion model...")
        model = build_model(config)
        print(f"Model parameters: {model.n_parameters:,}")

        print(f"\n[Step 3/5] Training for {config.epochs} epochs...")
        print("-" * 80)
        every = max(1, config.epochs // 5)

        def report(epoch, history):
            if (epoch + 1) % every == 0:
                print(f"Epoch {epoch + 1}/{config.epochs}, Loss: {history.epoch_losses[-1]:.6f}")

        history = train(model, dataset, config, callback=report)
        print(f"Training complete! Final loss: {history.final_loss:.6f} ({history.train_seconds:.2f} s)")
        save(run.tmp / "model.npz", model, config)

        print("\n[Step 4/5] Generating new crystal structure...")
        rng = np.random.default_rng(args.seed)
        real = dataset[1]  # the FCC cell: 4 atoms in a 5 Å cube
        generated = sample_ddpm(model, config.make_schedule(), real.n_atoms, real.lattice, 1, rng)[0]
        print(f"Generated {generated.n_atoms} atoms in a {real.lattice[0, 0]:.1f} Å cubic cell")

        print("\n[Step 5/5] Validating physics constraints...")
        validator = PhysicsValidator()
        valid, d_min = validator.check_minimum_distance(generated)
        print(f"Minimum distance check: {'PASSED' if valid else 'FAILED'} (threshold {validator.min_distance} Å)")
        print(f"Minimum distance found: {d_min:.3f} Å")

        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(np.arange(1, len(history.epoch_losses) + 1), history.epoch_losses)
        ax.set_xlabel("epoch")
        ax.set_ylabel("DDPM loss (MSE of predicted noise)")
        ax.set_title("Training loss")
        fig.tight_layout()
        figures = [(fig, "training_loss.png")]
        for crystal, name, title in ((generated, "generated_crystal.png", "Generated (per-atom MLP)"),
                                     (real, "real_crystal.png", "Real: FCC from the training set")):
            figures.append((plot_crystal_mpl(crystal, title=title).figure, name))
        for figure, name in figures:
            with atomic_path(run.tmp / name) as tmp:
                figure.savefig(tmp, dpi=100, format="png")
        plt.close("all")
    print(f"\nWrote training_loss.png, generated_crystal.png, real_crystal.png and model.npz to {out}/")
    print("\nDEMO COMPLETE!")
    if args.json:
        print(json.dumps({"train_seconds": round(history.train_seconds, 4), "final_loss": history.final_loss,
                          "min_distance": d_min, "valid": bool(valid), "out": str(out)}))
    return 0


def add_demo(sub) -> None:
    demo = sub.add_parser("demo", help="train the hello-world per-atom MLP and generate one crystal")
    demo.add_argument("--epochs", type=_int_in(1, 100_000), default=100,
                      help="training epochs, one Adam step each (default 100)")
    demo.add_argument("--timesteps", type=_int_in(1, 10_000), default=100, help="diffusion steps T (default 100)")
    demo.add_argument("--lr", type=_positive, default=1e-3,
                      help="Adam learning rate (default 1e-3); a diverging loss stops the run with an error")
    demo.add_argument("--seed", type=_int_in(0, SEED_MAX), default=0, help="random seed (default 0)")
    demo.add_argument("--out", default=None,
                      help="output folder, new or empty (default: a new demo_output-<time> folder)")
    demo.add_argument("--overwrite", action="store_true", help="replace --out if it holds an earlier finished run")
    demo.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    demo.set_defaults(func=run_demo)


def add_generate(sub) -> None:
    gen = sub.add_parser("generate", help="train or load a denoiser and write sampled crystals as CIF")
    add_generate_arguments(gen)
    gen.set_defaults(func=run_generate)


def add_student_edition(sub) -> None:
    student = sub.add_parser("student-edition", help="the students' copies (nbgrader's release), the key beside")
    add_student_edition_arguments(student)
    student.set_defaults(func=run_student_edition)


def add_site(sub) -> None:
    site = sub.add_parser("site", help="execute every notebook and write a static website (crystal_tutorial.course.site)")  # noqa: E501
    site.add_argument(
        "out",
        help="output folder: new, empty, or an earlier site holding only its own files "
        "(replaced as a whole when the new one is complete)",
    )
    site.add_argument(
        "--notebooks", default=None, help="folder of NN_*.ipynb (default: ./notebooks or the repository's)"
    )
    site.add_argument("--timeout", type=_int_in(1, 100_000), default=300, help="seconds a cell may take (default 300)")
    site.set_defaults(
        func=lambda args: __import__("crystal_tutorial.course.site", fromlist=["run_site"]).run_site(args)
    )


def add_benchmark(sub) -> None:
    from .benchmark import add_benchmark_arguments, run_benchmark

    bench = sub.add_parser("benchmark", help="score the CSP model and baselines on perov-5 or carbon-24 (notebook 10)")
    add_benchmark_arguments(bench).set_defaults(func=run_benchmark)


def add_course(sub) -> None:
    course = sub.add_parser("course", help="write an nbgrader course folder (nbgrader_config.py, source/)")
    add_course_arguments(course)
    course.set_defaults(func=run_course)


SUBCOMMANDS = [add_demo, add_generate, add_student_edition, add_course, add_site, add_benchmark]


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (the usage itself is behind ``--help``); exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Crystal diffusion from scratch: command-line entry points.")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv=None) -> int:
    """Parse ``argv`` and run the subcommand; expected failures become one line on stderr (see the
    module docstring for the exit status). Returns 0, 1 (the work failed), 130 (Ctrl-C) or 143 (SIGTERM); a
    usage error (a ValueError) raises SystemExit(2) after its line, as argparse's own usage errors do."""
    parser = build_parser()
    args = parser.parse_args(argv)

    def fail(status, message):
        print(f"{PROG} {args.command}: error: {' '.join(str(message).split())}", file=sys.stderr)
        return status

    def terminate(signum, frame):  # `kill` (SIGTERM) cleans up like Ctrl-C: no half-written --out is left
        raise Terminated

    import signal
    import threading

    previous = None
    if hasattr(signal, "SIGTERM") and threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, terminate)
    try:
        return args.func(args)
    except ValueError as exc:  # a usage error (runs.UsageError is one): SystemExit(2), as argparse's own
        raise SystemExit(fail(2, exc)) from None
    except KeyboardInterrupt as exc:
        status, what = (
            (EXIT_SIGTERM, "interrupted by SIGTERM") if isinstance(exc, Terminated) else (EXIT_SIGINT, "interrupted")
        )
        if args.command in ("demo", "generate", "benchmark"):  # they write through runs.RunFolder
            return fail(
                status,
                f"{what}; nothing was written to {args.out or 'the output folder'} (a run appears only when complete)",
            )
        return fail(status, what)
    except MemoryError as exc:
        return fail(1, f"out of memory ({exc or 'MemoryError'}); ask for a smaller job")
    except OSError as exc:
        return fail(1, f"{exc.strerror}: {exc.filename}" if exc.strerror and exc.filename else exc)
    except (FloatingPointError, RuntimeError) as exc:
        return fail(1, exc)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
