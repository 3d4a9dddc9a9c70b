"""Course tooling for instructors and CI: exercise checks, nbgrader, the trial hub, the static site.

``exercises`` (``check`` and the hint for cells run out of order), ``teaching`` (the exercises' tagged
cells, the answer key, the Colab cell), ``grading`` (nbgrader: course folder, release = the student
edition, autograde, feedback), ``hub`` (the trial JupyterHub from a script), ``site`` (head-less
execution that cannot stall, and the website).
"""
