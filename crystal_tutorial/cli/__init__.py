"""The command line, ``python -m crystal_tutorial CMD``, and its run folders.

``runs`` (run folders that appear only when complete, the memory rule), ``generate`` (``generate``),
``benchmark`` (``benchmark``), ``main`` (``demo``, the parser, exit codes; every subcommand).
"""
