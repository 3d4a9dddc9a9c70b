"""Crystal diffusion from scratch: the helper package of the tutorial notebooks.

Modules, in story order (each imports only modules above it):

- ``crystals``, ``pbc`` (01): the Crystal, prototypes, data sets, CIF I/O; wrapping, minimum image.
- ``diffusion`` (02): schedules, the closed-form forward process, the posterior, noise on the torus.
- ``nn``, ``optim``, ``checkpoint`` (03): layers with hand-written backward, gradient checks; Adam and SGD;
  weights on disk (one format, ``save``/``load``, for every model).
- ``models``, ``training`` (04): the hello-world per-atom MLP; ``fit``, the training loop of every model.
- ``sampling`` (05): ancestral DDPM and DDIM.
- ``checks``, ``physics``, ``metrics`` (06): argument checks and batching shared by the two; validity,
  correction, symmetry; sample reports (valid, unique, novel) with pymatgen's StructureMatcher.
- ``complexity`` (07): timing harness, power-law fits, cell lists.
- ``pairwise``, ``torus`` (08): the periodic pairwise denoiser; VE training on the torus and the
  predictor-corrector sampler (``pc_step``, ``pc_sample``) of the pairwise, joint and CSP models.
- ``joint``, ``joint_diffusion`` (09): lattice, atom types and conditions.
- ``csp``, ``benchmark`` (10): crystal structure prediction on perov-5 / carbon-24; scoring as the papers, baselines.
- ``viz``, ``widgets`` and ``viz_*`` (all): figures, and the pure render functions behind the sliders.
- ``exercises``, ``teaching`` (all): ``check`` for the exercises and the hint for cells run out of
  order; the student edition (``python -m crystal_tutorial student-edition``), answer key, Colab cell.
- ``generate``, ``runs``, ``__main__``: ``python -m crystal_tutorial demo`` and ``... generate``; run folders
  that appear only when complete, the memory rule (``runs`` is used by ``joint_diffusion``'s command too).
- ``site``: reliable head-less execution (nbclient) with per-section times and kernel memory, and
  ``python -m crystal_tutorial site OUT``, the static website (nbconvert).
"""
__version__ = "0.1.0"
