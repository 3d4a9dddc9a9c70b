"""Crystal diffusion from scratch: the helper package of the tutorial notebooks.

The package map, in story order. A module imports only modules listed above it, or the shared
utilities; ``tests/test_package_map.py`` reads this list and enforces both, and that every module
of the package is listed here and in the README.

The science, one idea per module, flat, in the order the notebooks build it, with the two shared
utilities (``files``, ``checks``: any module may import them) where they first fit:

- ``pbc`` (01): wrapping, minimum image (rounding and exact), pairwise distances.
- ``crystals`` (01): the Crystal, the four cubic prototypes, the demo data set, real crystals.
- ``checks``: argument checks (one wording for one mistake) and batching shared by every module; a shared
  utility.
- ``files``: atomic writes (a temporary file, then a rename); a shared utility.
- ``neighbours`` (07): cell-list neighbour search (listed early: ``cif`` finds atoms on one site with it).
- ``cif`` (01): CIF files through ASE.
- ``diffusion`` (02): schedules, the closed-form forward process, the posterior, noise on the torus.
- ``nn`` (03): layers with hand-written backward, time embeddings, gradient checks.
- ``optim`` (03): Adam, SGD, gradient clipping.
- ``checkpoint`` (03): weights on disk: one format, one ``save``/``load`` pair for every model.
- ``models`` (04): the hello-world per-atom MLP.
- ``training`` (04): ``fit``, the training loop of every model, and the MLP's DDPM step.
- ``sampling`` (05): ancestral DDPM and DDIM.
- ``physics`` (06): validity, repulsion correction, density, symmetry, prototype matching (with species too).
- ``metrics`` (06): sample reports (valid, unique, novel) with pymatgen's StructureMatcher.
- ``complexity`` (07): timing harness, power-law fits, the guarded brute force.
- ``pairwise`` (08): the periodic pairwise denoiser.
- ``torus`` (08): variance-exploding training on the torus; ``pc_step``/``pc_sample``, the
  predictor-corrector sampler of the pairwise, joint and CSP models.
- ``datasets`` (09, 10): real binary crystals; perov-5 and carbon-24.
- ``joint`` (09): the joint denoiser of lattice, atom types and coordinates.
- ``joint_diffusion`` (09): its configuration, training data, conditions and training step.
- ``joint_sampling`` (09): classifier-free guidance and the reverse process (``sample_joint``).
- ``csp`` (10): crystal structure prediction (composition given) on perov-5 / carbon-24.
- ``parallel`` (10): worker processes that cannot hang (signals, a dead worker, a dead parent).
- ``benchmark`` (10): scoring as the papers do, baselines that learn nothing, the per-structure record.

The notebooks' panels and figures (``viz``):

- ``viz.figures``: plotly 3D crystals and matplotlib figures.
- ``viz.widgets``: the shared ipywidgets panel helpers.
- ``viz.diffusion`` (02), ``viz.nn`` (03), ``viz.sampling`` (05), ``viz.physics`` (06),
  ``viz.complexity`` (07), ``viz.pairwise`` (08), ``viz.joint`` (09), ``viz.benchmark`` (10):
  the pure render functions behind each notebook's sliders.

The command line and the course tooling (``cli``, ``course``):

- ``cli.runs``: run folders that appear only when complete (``run.json``), the memory rule.
- ``course.exercises``: ``check`` for the exercises and the hint for cells run out of order.
- ``course.teaching``: the exercises' tagged cells, the answer key, the Colab cell.
- ``course.site``: head-less execution that cannot stall (nbclient), the static website.
- ``course.grading``: nbgrader: the exercises' metadata, the course folder, release (the student edition),
  submissions, autograde and feedback.
- ``course.hub``: the trial JupyterHub driven from a script: users, servers, notebooks run in them.
- ``cli.generate``: ``python -m crystal_tutorial generate``.
- ``cli.benchmark``: ``python -m crystal_tutorial benchmark``.
- ``cli.main``: ``demo``, the parser and exit codes of every subcommand (``python -m crystal_tutorial``).
"""
__version__ = "0.1.0"
