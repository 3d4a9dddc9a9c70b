"""Course tooling for instructors and CI: exercise checks, the student edition, the static site.

``exercises`` (``check`` and the hint for cells run out of order), ``teaching`` (the student edition,
the answer key, the Colab cell), ``site`` (head-less execution that cannot stall, and the website).
"""
