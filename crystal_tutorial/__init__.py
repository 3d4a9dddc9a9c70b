"""Crystal diffusion from scratch: the helper package of the tutorial notebooks.

Modules, in story order: crystals, pbc (01), diffusion (02), nn (03), models, training (04),
sampling (05), physics (06), complexity (07), viz and widgets (all chapters).
"""
__version__ = "0.1.0"
