"""``python -m crystal_tutorial generate``: train (or load) a denoiser, sample crystals, write CIFs and a summary.

    python -m crystal_tutorial generate --model pairwise --n-atoms 4 --n-samples 10 --seed 0 --out fcc_run
    python -m crystal_tutorial generate --model pairwise --n-atoms 8 --n-samples 20 --out d --weights pretrained
    python -m crystal_tutorial generate --model mlp --n-atoms 4 --n-samples 10 --out mlp_run --train-steps 200

Writes ``DIR/sample_000.cif`` ... (through ASE: VESTA, pymatgen and OVITO read them),
``DIR/summary.json`` (``metrics.evaluate_samples(...).to_dict()``: valid_structure, valid_composition,
unique, novel, memorised, prototype rates, ...; the settings under
``"generate"`` and wall-clock times under ``"timings"``), when it trained the weights as
``DIR/model.npz``, and the manifest ``DIR/run.json`` (``runs.py``). Both models work on fractional
coordinates and were trained on the 5 Å demo cells; ``--lattice-a`` scales the cubic cell the
samples are written in.

Reproducible: training budgets are Adam steps (``--train-steps``) and the learning rate is a function
of the step, so the same command and ``--seed`` write byte-identical files apart from ``"timings"``
(``--train-seconds`` adds a wall-clock limit and gives that up). Samples are drawn in batches of a
fixed size per model and atom count (``sample_batch_size``), so memory stays bounded; a job whose
estimate (``memory_estimate``) exceeds 1 GiB is refused before any work.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from ..checks import SEED_MAX, check_int, check_number, check_positive
from ..cli.runs import (  # noqa: F401
    MAX_SAMPLES,
    RunFolder,
    UsageError,
    check_memory,
    memory_estimate,
    sample_batch_size,
    sample_in_batches,
)
from ..files import atomic_write_text

PROG = "python -m crystal_tutorial generate"
MAX_ATOMS = 64
PAIRWISE_STEPS = 2400   # default pairwise budget: about 23 s at the ~105 steps/s measured on 2 busy cores
MLP_STEPS = 100         # default per-atom MLP budget: the hello-world's 100 epochs (one Adam step each)
LATTICE_A = (1.0, 1000.0)     # Å: a cubic cell edge outside this is a typo, not a crystal
TEMPERATURE = (0.01, 100.0)   # score multiplier 1/tau between 100 and 0.01
SYMPREC = (1e-5, 2.0)         # spglib tolerance in Å

# --- options ---------------------------------------------------------------------------------------
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


def _number(low=None, high=None, positive=False):
    """An argparse type: a finite float (> 0 if ``positive``; within ``low..high`` if given)."""
    kind = "a positive" if positive else "a"

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind} number, got {text!r}") from None
        if not np.isfinite(value) or (positive and value <= 0):
            raise argparse.ArgumentTypeError(f"expected {kind} finite number, got {text}")
        if low is not None and not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a number in {low:g}..{high:g}, got {text}")
        return value
    return parse


_positive, _finite = _number(positive=True), _number()


def _float_in(low, high):
    return _number(low, high, positive=True)


def add_generate_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``generate`` options to ``parser`` (an argparse (sub)parser); returns it."""
    parser.add_argument("--model", choices=("mlp", "pairwise", "joint"), default="pairwise",
                        help="per-atom MLP (the hello-world, DDPM), the periodic pairwise model (VE on the "
                             "torus), or the joint lattice + species model with conditions (notebook 09); "
                             "default pairwise")
    parser.add_argument("--n-atoms", type=_int_in(1, MAX_ATOMS), default=4, metavar="N",
                        help=f"atoms per structure, 1..{MAX_ATOMS} (trained on 1, 2, 4 and 8); default 4")
    parser.add_argument("--n-samples", type=_int_in(1, MAX_SAMPLES), default=10, metavar="K",
                        help="structures to sample (in batches; a job that would need more than 1 GiB is "
                             "refused with the estimate); default 10")
    parser.add_argument("--seed", type=_int_in(0, SEED_MAX), default=0, metavar="S",
                        help="seed of the weights, training and sampling: the same command and seed write the "
                             "same files (apart from summary.json's \"timings\"); default 0")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output folder; must be new or empty (or an earlier run with --overwrite). The run "
                             "is built beside it and moved into place only when complete")
    parser.add_argument("--no-uniqueness", action="store_true",
                        help="skip the uniqueness check (StructureMatcher on pairs of samples); a job whose scoring "
                             "would take longer than metrics.SCORING_BUDGET_SECONDS is refused without it")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace --out if it holds an earlier finished run (the whole folder, at the end)")
    parser.add_argument("--weights", default=None, metavar="FILE",
                        help="load this .npz instead of training ('pretrained' = the shipped pairwise weights)")
    parser.add_argument("--train-steps", type=_int_in(1, 1_000_000), default=None, metavar="N",
                        help=f"training budget in Adam steps, reproducible (default: {PAIRWISE_STEPS} for pairwise, "
                             f"about 25 s on 2 cores, more on a busy machine; {MLP_STEPS} for mlp, one step per epoch)")
    parser.add_argument("--train-seconds", type=_positive, default=None, metavar="X",
                        help="also stop training after X seconds of wall time. NOT reproducible: how many steps "
                             "fit depends on the machine's load (with it alone the pairwise learning rate decays "
                             "over the time)")
    parser.add_argument("--lattice-a", type=_float_in(*LATTICE_A), default=5.0, metavar="A",
                        help=f"edge of the cubic cell in Å, {LATTICE_A[0]:g}..{LATTICE_A[1]:g}; default 5.0")
    parser.add_argument("--temperature", type=_float_in(*TEMPERATURE), default=0.5, metavar="TAU",
                        help="pairwise and joint sampling temperature tau (score multiplier 1/tau), "
                             f"{TEMPERATURE[0]:g}..{TEMPERATURE[1]:g}; default 0.5")
    parser.add_argument("--symprec", type=_float_in(*SYMPREC), default=None, metavar="TOL",
                        help="spglib tolerance in Å; default 0.25 (joint: 0.1)")
    parser.add_argument("--density", type=_positive, default=None, metavar="D",
                        help="joint model: target density in g/cm^3, within the range the model was trained on "
                             "(default: no density condition)")
    parser.add_argument("--elements", default=None, metavar="A,B",
                        help="joint model: chemical system, e.g. Na,Cl (default: any)")
    parser.add_argument("--guidance", type=_finite, default=None, metavar="W",
                        help="joint model only: classifier-free guidance weight w >= 0 (0 = unconditional, "
                             "1 = conditional, > 1 = pushed harder); default 1")
    return parser


def _fail(message: str):
    raise UsageError(message)


def _load_weights_arg(loader, path: Path, missing: str):
    """``loader(path)``; a missing file is a UsageError, an unreadable one a ValueError naming the file."""
    if not path.is_file():
        _fail(f"--weights: {missing} at {path}")
    try:
        return loader(path)
    except ValueError as exc:
        raise ValueError(f"--weights: {exc}") from None


def check_scoring(args, reference_atoms) -> float:
    """Refuse (UsageError) a job whose uniqueness scoring would exceed ``metrics.SCORING_BUDGET_SECONDS``.

    ``metrics.scoring_cost`` estimates the StructureMatcher work before any sampling (about 1.7 s
    per compared pair of 64-atom cells here); ``--no-uniqueness`` skips the uniqueness check instead.
    ``reference_atoms`` are the atom counts of the novelty reference: only references at least as
    large as a sample cost a full comparison (a smaller one can match only a sample that reduces to a
    smaller primitive cell, which is cheap to compare). Returns the estimate in seconds.
    """
    from ..metrics import SCORING_BUDGET_SECONDS, scoring_cost
    n_reference = sum(int(n) >= int(args.n_atoms) for n in reference_atoms)
    cost = scoring_cost(int(args.n_samples), int(args.n_atoms), n_reference=n_reference)
    if cost > SCORING_BUDGET_SECONDS and not getattr(args, "no_uniqueness", False):
        _fail(f"--n-samples {args.n_samples} with --n-atoms {args.n_atoms}: scoring uniqueness and novelty could "
              f"take up to {cost / 60:.0f} min of StructureMatcher work (metrics.scoring_cost), above the budget of "
              f"{SCORING_BUDGET_SECONDS / 60:.0f} min; ask for fewer samples or atoms, or pass --no-uniqueness")
    return cost


def _check_args(args):
    """Every check of ``generate``'s options that needs no work; raises UsageError naming the option."""
    model = getattr(args, "model", None)
    if model not in ("mlp", "pairwise", "joint"):
        _fail(f"--model must be 'mlp', 'pairwise' or 'joint', got {model!r}")
    for flag in ("density", "elements", "guidance"):
        if model != "joint" and getattr(args, flag, None) is not None:
            _fail(f"--{flag} needs --model joint (the {model} model has no conditions), got --{flag} "
                  f"{getattr(args, flag)}")
    steps, seconds = getattr(args, "train_steps", None), getattr(args, "train_seconds", None)
    try:  # the package's own checks, with the option's name: one wording for the API and the command line
        for flag, low, high in (("n_atoms", 1, MAX_ATOMS), ("n_samples", 1, MAX_SAMPLES), ("seed", 0, SEED_MAX)):
            check_int(f"--{flag.replace('_', '-')}", getattr(args, flag, None), low, high)
        for name, (low, high) in {"lattice_a": LATTICE_A, "temperature": TEMPERATURE, "symprec": SYMPREC}.items():
            if not (name == "symprec" and getattr(args, name, None) is None):
                check_number(f"--{name.replace('_', '-')}", getattr(args, name, None), low, high)
        if steps is not None:
            check_int("--train-steps", steps, 1)
        if seconds is not None:
            check_positive("--train-seconds", seconds)
    except (TypeError, ValueError) as exc:
        _fail(str(exc))
    if args.weights is not None and (steps is not None or seconds is not None):
        _fail("give either --weights (load) or --train-steps/--train-seconds (train), not both")
    if str(getattr(args, "out", "")).strip() == "":
        _fail(f"--out must name a folder, got {getattr(args, 'out', None)!r}")
    if model != "joint":
        check_memory(model, int(args.n_atoms), int(args.n_samples))
        from ..crystals import demo_dataset
        check_scoring(args, [c.n_atoms for c in demo_dataset()])  # novelty against the demo structures


def _train_pairwise(args, dataset, folder: Path, log):
    from ..checkpoint import save
    from ..torus import TorusConfig, train_torus
    steps, seconds = args.train_steps, args.train_seconds
    if steps is None and seconds is not None:  # a time budget alone: the learning rate decays over it
        config = TorusConfig(seed=args.seed, max_steps=1_000_000, max_seconds=seconds, lr_decay="time", progress=False)
    else:
        config = TorusConfig(seed=args.seed, max_steps=steps or PAIRWISE_STEPS, max_seconds=seconds or 1e9,
                             lr_decay="steps", progress=False)
    model = config.build_model()
    log(f"training {model!r} for {config.max_steps if config.lr_decay == 'steps' else config.max_seconds:g} "
        f"{'steps' if config.lr_decay == 'steps' else 's'} ...")
    history = train_torus(model, dataset, config)
    save(folder / "model.npz", model, config)
    log(f"{history.n_steps} Adam steps in {history.train_seconds:.1f} s, final loss "
        f"{np.mean(history.losses[-50:]):.3f}")
    return model, {"weights": "model.npz", "train_steps": history.n_steps, "stopped_by": history.stopped_by}, \
        history.train_seconds


def _train_mlp(args, dataset, folder: Path, log):
    from ..checkpoint import save
    from ..training import TrainConfig, build_model, train
    steps, seconds = args.train_steps, args.train_seconds
    config = TrainConfig(epochs=steps or (1_000_000 if seconds is not None else MLP_STEPS), seed=args.seed,
                         progress=False)
    model = build_model(config)
    log(f"training {model!r} for {config.epochs} steps" + ("" if seconds is None else f" or {seconds:g} s") + " ...")
    start = time.perf_counter()
    deadline = None if seconds is None else start + seconds  # wall time of the whole training, callbacks included
    history = train(model, dataset, config,
                    callback=None if deadline is None else (lambda step, h: time.perf_counter() >= deadline))
    train_seconds = time.perf_counter() - start
    n, planned = len(history.epoch_losses), config.epochs
    config = TrainConfig(**{**config.__dict__, "epochs": n})  # the saved config says what was done
    save(folder / "model.npz", model, config)
    log(f"{n} Adam steps in {train_seconds:.1f} s, final loss {history.final_loss:.3f}")
    return model, config, {"weights": "model.npz", "train_steps": n,
                           "stopped_by": "time" if n < planned else "steps"}, train_seconds


def run_generate(args, log=print) -> int:
    """Carry out ``generate`` for parsed ``args`` (see :func:`add_generate_arguments`); returns 0.

    Every option is checked before any work (UsageError, a ValueError naming the option); ``--out``
    too (``runs.RunFolder``). The run is built in a temporary folder beside ``--out`` and moved into
    place when complete, with a ``run.json`` manifest; an exception or Ctrl-C leaves ``--out`` as it
    was. The same command and seed write byte-identical files, apart from summary.json's ``"timings"``.
    """
    _check_args(args)
    if args.model == "joint":
        if args.train_steps is not None or args.train_seconds is not None:
            _fail(f"--train-{'steps' if args.train_steps is not None else 'seconds'}: the joint model is not "
                  "trained here; it loads weights (see benchmarks/make_pretrained_joint.py to train them)")
        return run_generate_joint(args, log)
    from ..cif import write_cif
    from ..crystals import Crystal, demo_dataset
    from ..metrics import evaluate_samples
    symprec = 0.25 if args.symprec is None else float(args.symprec)
    run = RunFolder(args.out, "generate", overwrite=getattr(args, "overwrite", False))
    loaded = None
    if args.weights is not None:  # a bad file fails here, before the run folder exists
        if args.model == "pairwise":
            from ..torus import PRETRAINED, load_model
            path = PRETRAINED if args.weights == "pretrained" else Path(args.weights)
            loaded = (_load_weights_arg(load_model, path, "no file")[0], None, {"weights": str(args.weights)})
        else:
            from ..training import load
            if args.weights == "pretrained":
                _fail("--weights: there are no pretrained per-atom MLP weights (train one with --model mlp first)")
            path = Path(args.weights)
            model, config = _load_weights_arg(load, path, "no per-atom MLP weights file (train one with --model mlp first)")  # noqa: E501
            loaded = (model, config, {"weights": str(args.weights)})
        log(f"loaded {loaded[0]!r} from {path}")
    dataset = demo_dataset()
    lattice = np.eye(3) * float(args.lattice_a)
    rng = np.random.default_rng(args.seed)
    timings = {}
    with run:
        tic = time.perf_counter()
        batch = sample_batch_size(args.model, args.n_atoms)
        if args.model == "pairwise":
            from ..torus import sample_torus

            if loaded is None:
                model, info, timings["train_seconds"] = _train_pairwise(args, dataset, run.tmp, log)
            else:
                model, _, info = loaded
            tic = time.perf_counter()
            samples = sample_in_batches(
                lambda k: sample_torus(
                    model, args.n_atoms, k, rng, temperature=float(args.temperature), lattice=lattice
                ),
                args.n_samples,
                batch,
                log,
            )
            info.update(
                sampler="reverse diffusion, 200 noise levels, 4 Langevin corrector steps each",
                temperature=float(args.temperature),
            )
        else:
            from ..sampling import sample_ddpm

            if loaded is None:
                model, config, info, timings["train_seconds"] = _train_mlp(args, dataset, run.tmp, log)
            else:
                model, config, info = loaded
            tic = time.perf_counter()
            schedule = config.make_schedule()
            samples = sample_in_batches(
                lambda k: sample_ddpm(model, schedule, args.n_atoms, lattice, k, rng), args.n_samples, batch, log
            )
            info.update(sampler="ancestral DDPM on centred coordinates")
        timings["sample_seconds"] = time.perf_counter() - tic
        for k, crystal in enumerate(samples):
            write_cif(crystal, run.tmp / f"sample_{k:03d}.cif")
        tic = time.perf_counter()
        reference = [Crystal(lattice, c.frac_coords, c.numbers) for c in dataset]  # the training set, in this cell
        report = evaluate_samples(
            samples, reference=reference, symprec=symprec, uniqueness=not getattr(args, "no_uniqueness", False)
        )
        timings["evaluate_seconds"] = time.perf_counter() - tic
        summary = report.to_dict()
        summary["generate"] = dict(
            model=args.model,
            n_atoms=args.n_atoms,
            n_samples=args.n_samples,
            seed=args.seed,
            lattice_a=float(args.lattice_a),
            sample_batch=batch,
            **info,
        )
        summary["timings"] = timings  # wall-clock seconds: the only part that differs between identical runs
        atomic_write_text(run.tmp / "summary.json", json.dumps(summary, indent=2) + "\n")
    rates = ", ".join(f"{k} {v:.0%}" for k, v in summary["prototype_rates"].items())
    log(
        f"wrote {len(samples)} CIF files and summary.json to {run.out}/: prototypes ({rates}), "
        f"d_min >= {report.min_distance:g} Å in {summary['distance_valid_rate']:.0%}; {report.summary_line()}"
    )
    return 0


def run_generate_joint(args, log=print) -> int:
    """``generate --model joint``: sample crystals with their own lattices and species; returns 0.

    ``args`` (an argparse Namespace) needs ``n_atoms``, ``n_samples``, ``seed``, ``out`` and may carry
    ``density`` (g/cm^3 or None; within :func:`trained_density_range`), ``elements`` ("Na,Cl" or None),
    ``guidance`` (w >= 0, default 1), ``weights`` (a ``checkpoint.save`` file; None or "pretrained" = the
    shipped weights), ``temperature`` (default 0.5), ``symprec`` (Å, default 0.1) and ``overwrite``.
    Writes ``out/sample_000.cif`` ..., ``out/summary.json`` (``metrics.evaluate_samples(...).to_dict()``,
    novelty against ``training_set()``, plus the condition, guidance and the species-aware prototype match rate
    under ``"generate"``,
    wall-clock times under ``"timings"``) and ``out/run.json``, all at once when complete
    (``runs.RunFolder``). Bad values raise ``runs.UsageError`` naming the option; an unreadable
    weights file a ValueError naming the file.
    """
    from ..cif import write_cif
    from ..files import atomic_write_text
    from ..joint_diffusion import PRETRAINED_JOINT, condition_vector, load_joint, trained_density_range, training_set
    from ..joint_sampling import sample_joint
    from ..metrics import evaluate_samples
    from ..nn import blas_threads
    from ..physics import species_match

    n_atoms, n_samples = getattr(args, "n_atoms", None), getattr(args, "n_samples", None)
    for flag, value, low, high in (("--n-atoms", n_atoms, 2, 12), ("--n-samples", n_samples, 1, 10_000)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
            raise UsageError(
                f"{flag} must be an integer in {low}..{high} (the shipped model is trained on 2, 4 "
                f"and 8 atoms), got {value!r}"
            )
    density = getattr(args, "density", None)
    guidance = getattr(args, "guidance", None)
    guidance = 1.0 if guidance is None else guidance
    temperature = getattr(args, "temperature", 0.5)
    symprec = getattr(args, "symprec", None)
    symprec = 0.1 if symprec is None else symprec
    for flag, value, allow_zero in (
        ("--density", density, False),
        ("--guidance", guidance, True),
        ("--temperature", temperature, False),
        ("--symprec", symprec, False),
    ):
        if value is None and flag == "--density":
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not np.isfinite(value)
            or value < 0
            or (value == 0 and not allow_zero)
        ):
            raise UsageError(f"{flag} must be a {'non-negative' if allow_zero else 'positive'} number, got {value!r}")
    check_memory("joint", int(n_atoms), int(n_samples))
    check_scoring(args, [c.n_atoms for c in training_set()])
    run = RunFolder(getattr(args, "out", None), "generate", overwrite=getattr(args, "overwrite", False))
    weights = getattr(args, "weights", None)
    path = PRETRAINED_JOINT if weights in (None, "pretrained") else Path(weights)
    if not path.is_file():
        raise UsageError(f"--weights: no file at {path}")
    try:
        model, config = load_joint(path)
    except ValueError as exc:
        raise ValueError(f"--weights: {exc}") from None
    if density is not None:
        low, high = trained_density_range(config)
        if not low <= density <= high:
            raise UsageError(
                f"--density {density:g} g/cm^3 lies outside the range the model was trained on, "
                f"{low:.2f}..{high:.2f} g/cm^3; its samples would not follow the condition"
            )
    elements = getattr(args, "elements", None)
    try:
        condition_vector(model, density, elements)
    except ValueError as exc:
        raise UsageError(f"--elements: {exc}" if "elements" in str(exc) else f"--density: {exc}") from None
    batch = sample_batch_size("joint", int(n_atoms))
    rng = np.random.default_rng(args.seed)
    with run:
        tic = time.perf_counter()
        with blas_threads(1):
            samples = sample_in_batches(
                lambda k: sample_joint(
                    model,
                    int(n_atoms),
                    k,
                    rng,
                    density=density,
                    elements=elements,
                    guidance=float(guidance),
                    temperature=float(temperature),
                ),
                int(n_samples),
                batch,
                log,
            )
        sample_seconds = time.perf_counter() - tic
        for k, crystal in enumerate(samples):
            write_cif(crystal, run.tmp / f"sample_{k:03d}.cif")
        tic = time.perf_counter()
        report = evaluate_samples(
            samples,
            reference=training_set(),
            symprec=float(symprec),
            uniqueness=not getattr(args, "no_uniqueness", False),
        )
        matched = species_match(samples, training_set(), float(symprec))
        summary = report.to_dict()
        summary["generate"] = dict(
            model="joint",
            n_atoms=int(n_atoms),
            n_samples=int(n_samples),
            seed=args.seed,
            weights="pretrained" if weights in (None, "pretrained") else str(weights),
            condition={"density_g_cm3": density, "elements": elements},
            guidance=float(guidance),
            temperature=float(temperature),
            species_prototype_match_rate=float(matched.mean()),
            formulas=[c.formula for c in samples],
            sample_batch=batch,
        )
        summary["timings"] = {"sample_seconds": sample_seconds, "evaluate_seconds": time.perf_counter() - tic}
        atomic_write_text(run.tmp / "summary.json", json.dumps(summary, indent=2) + "\n")
    log(
        f"wrote {len(samples)} CIF files and summary.json to {run.out}/: valid {report.validity_rate:.0%}, "
        f"training-prototype match (with species) {matched.mean():.0%}, median density "
        f"{np.median(report.density):.2f} g/cm^3; {report.summary_line()}"
    )
    return 0
