"""``python -m crystal_tutorial generate``: train (or load) a denoiser, sample crystals, write CIFs and a summary.

    python -m crystal_tutorial generate --model pairwise --n-atoms 4 --n-samples 10 --seed 0 --out fcc_run
    python -m crystal_tutorial generate --model pairwise --n-atoms 8 --n-samples 20 --out d --weights pretrained
    python -m crystal_tutorial generate --model mlp --n-atoms 4 --n-samples 10 --out mlp_run --train-seconds 10

Writes ``DIR/sample_000.cif`` ... (through ASE: VESTA, pymatgen and OVITO read them),
``DIR/summary.json`` (``metrics.evaluate_samples(...).to_dict()``: valid_structure, valid_composition,
unique, novel, memorised, prototype rates, ...; plus the settings under
``"generate"``) and, when it trained, the weights as ``DIR/model.npz``. Both models work on
fractional coordinates and were trained on the 5 Å demo cells; ``--lattice-a`` scales the cubic cell
the samples are written in.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

PROG = "python -m crystal_tutorial generate"
MAX_ATOMS = 64


def _int_in(low, high):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected an integer in {low}..{high}, got {value}")
        return value
    return parse


def _positive(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


def add_generate_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``generate`` options to ``parser`` (an argparse (sub)parser); returns it."""
    parser.add_argument("--model", choices=("mlp", "pairwise", "joint"), default="pairwise",
                        help="per-atom MLP (the hello-world, DDPM), the periodic pairwise model (VE on the "
                             "torus), or the joint lattice + species model with conditions (notebook 09); "
                             "default pairwise")
    parser.add_argument("--n-atoms", type=_int_in(1, MAX_ATOMS), default=4, metavar="N",
                        help=f"atoms per structure, 1..{MAX_ATOMS} (trained on 1, 2, 4 and 8); default 4")
    parser.add_argument("--n-samples", type=_int_in(1, 10_000), default=10, metavar="K", help="structures to sample; default 10")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the weights, training and sampling; default 0")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    parser.add_argument("--weights", default=None, metavar="FILE",
                        help="load this .npz instead of training ('pretrained' = the shipped pairwise weights)")
    parser.add_argument("--train-seconds", type=_positive, default=None, metavar="X",
                        help="training time budget in seconds (default: 30 for pairwise, 100 epochs for mlp)")
    parser.add_argument("--lattice-a", type=_positive, default=5.0, metavar="A", help="edge of the cubic cell in Å; default 5.0")
    parser.add_argument("--temperature", type=_positive, default=0.5, metavar="TAU",
                        help="pairwise sampling temperature tau (score multiplier 1/tau); default 0.5")
    parser.add_argument("--symprec", type=_positive, default=0.25, metavar="TOL", help="spglib tolerance in Å; default 0.25")
    parser.add_argument("--density", type=_positive, default=None, metavar="D",
                        help="joint model: target density in g/cm^3 (default: no density condition)")
    parser.add_argument("--elements", default=None, metavar="A,B",
                        help="joint model: chemical system, e.g. Na,Cl (default: any)")
    parser.add_argument("--guidance", type=float, default=1.0, metavar="W",
                        help="joint model: classifier-free guidance weight w >= 0 (0 = unconditional, "
                             "1 = conditional, > 1 = pushed harder); default 1")
    return parser


def _fail(message: str):
    raise SystemExit(f"{PROG}: error: {message}")


def _load_weights_arg(loader, path: Path, missing: str):
    """``loader(path)``, with a missing or unreadable ``--weights`` file reported as one line."""
    if not path.is_file():
        _fail(f"--weights: {missing} at {path}")
    try:
        return loader(path)
    except ValueError as exc:
        _fail(f"--weights: {exc}")


def _train_or_load_pairwise(args, dataset, out: Path, log):
    from .torus import PRETRAINED, TorusConfig, load_model, save_model, train_torus
    if args.weights is not None:
        path = PRETRAINED if args.weights == "pretrained" else Path(args.weights)
        model, _ = _load_weights_arg(load_model, path, "no file")
        log(f"loaded {model!r} from {path}")
        return model, {"weights": str(path)}
    config = TorusConfig(seed=args.seed, max_seconds=args.train_seconds or 30.0, max_steps=1_000_000,
                         lr_decay="time", progress=False)  # the learning rate decays over the time budget
    model = config.build_model()
    log(f"training {model!r} for {config.max_seconds:g} s ...")
    history = train_torus(model, dataset, config)
    path = save_model(out / "model.npz", model, config)
    log(f"{history.n_steps} Adam steps in {history.train_seconds:.1f} s, final loss "
        f"{np.mean(history.losses[-50:]):.3f}; weights saved to {path}")
    return model, {"weights": str(path), "train_steps": history.n_steps, "train_seconds": history.train_seconds}


def _train_or_load_mlp(args, dataset, out: Path, log):
    from .training import TrainConfig, build_model, load, save, train
    if args.weights is not None:
        path = Path(args.weights)
        if args.weights == "pretrained":
            _fail("--weights: there are no pretrained per-atom MLP weights (train one with --model mlp first)")
        model, config = _load_weights_arg(load, path, "no per-atom MLP weights file (train one with --model mlp first)")
        log(f"loaded {model!r} from {path}")
        return model, config, {"weights": str(path)}
    budget = args.train_seconds
    config = TrainConfig(epochs=100 if budget is None else 1_000_000, seed=args.seed, progress=False)
    model = build_model(config)
    log(f"training {model!r} " + ("for 100 epochs" if budget is None else f"for {budget:g} s") + " ...")
    history = train(model, dataset, config,
                    callback=None if budget is None else (lambda epoch, h: h.train_seconds >= budget))
    path = save(out / "model.npz", model, config)
    log(f"{len(history.epoch_losses)} epochs in {history.train_seconds:.1f} s, final loss "
        f"{history.final_loss:.3f}; weights saved to {path}")
    return model, config, {"weights": str(path), "train_epochs": len(history.epoch_losses),
                           "train_seconds": history.train_seconds}


def run_generate(args, log=print) -> int:
    """Carry out ``generate`` for parsed ``args`` (see :func:`add_generate_arguments`); returns 0.

    Bad values raise ``SystemExit`` with one line naming the option (no traceback).
    """
    from .crystals import Crystal, demo_dataset, write_cif
    from .metrics import evaluate_samples
    if getattr(args, "model", None) == "joint":
        if args.train_seconds is not None:
            _fail("--train-seconds: the joint model is not trained here; it loads weights "
                  "(see benchmarks/make_pretrained_joint.py to train them)")
        from .joint_diffusion import run_generate_joint
        return run_generate_joint(args, log)
    for flag in ("density", "elements"):
        if getattr(args, flag, None) is not None:
            _fail(f"--{flag} needs --model joint (the {args.model} model has no conditions)")
    if args.model not in ("mlp", "pairwise"):
        _fail(f"--model must be 'mlp', 'pairwise' or 'joint', got {args.model!r}")
    if not (isinstance(args.n_atoms, int) and 1 <= args.n_atoms <= MAX_ATOMS):
        _fail(f"--n-atoms must be an integer in 1..{MAX_ATOMS}, got {args.n_atoms!r}")
    if not (isinstance(args.n_samples, int) and args.n_samples >= 1):
        _fail(f"--n-samples must be a positive integer, got {args.n_samples!r}")
    for name in ("lattice_a", "temperature", "symprec"):
        value = getattr(args, name)
        if not (isinstance(value, (int, float)) and np.isfinite(value) and value > 0):
            _fail(f"--{name.replace('_', '-')} must be a positive number, got {value!r}")
    if args.train_seconds is not None and not (np.isfinite(args.train_seconds) and args.train_seconds > 0):
        _fail(f"--train-seconds must be a positive number, got {args.train_seconds!r}")
    if args.weights is not None and args.train_seconds is not None:
        _fail("give either --weights (load) or --train-seconds (train), not both")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        _fail(f"--out: {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)

    dataset = demo_dataset()
    lattice = np.eye(3) * float(args.lattice_a)
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    if args.model == "pairwise":
        from .torus import sample_torus
        model, info = _train_or_load_pairwise(args, dataset, out, log)
        samples = sample_torus(model, args.n_atoms, args.n_samples, rng, temperature=float(args.temperature),
                               lattice=lattice)
        info.update(sampler="reverse diffusion, 200 noise levels, 4 Langevin corrector steps each",
                    temperature=args.temperature)
    else:
        from .sampling import sample_ddpm
        model, config, info = _train_or_load_mlp(args, dataset, out, log)
        samples = sample_ddpm(model, config.make_schedule(), args.n_atoms, lattice, args.n_samples, rng)
        info.update(sampler="ancestral DDPM on centred coordinates")
    for k, crystal in enumerate(samples):
        write_cif(crystal, out / f"sample_{k:03d}.cif")
    reference = [Crystal(lattice, c.frac_coords, c.numbers) for c in dataset]  # the training set, in this cell
    report = evaluate_samples(samples, reference=reference, symprec=float(args.symprec))
    summary = report.to_dict()
    summary["generate"] = dict(model=args.model, n_atoms=args.n_atoms, n_samples=args.n_samples, seed=args.seed,
                               lattice_a=float(args.lattice_a), seconds=time.perf_counter() - start, **info)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    rates = ", ".join(f"{k} {v:.0%}" for k, v in summary["prototype_rates"].items())
    log(f"wrote {len(samples)} CIF files and summary.json to {out}/: prototypes ({rates}), "
        f"d_min >= {report.min_distance:g} Å in {summary['distance_valid_rate']:.0%}; {report.summary_line()}")
    return 0
