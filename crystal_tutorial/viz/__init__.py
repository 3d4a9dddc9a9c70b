"""The notebooks' figures and panels: pure render functions behind each notebook's sliders, thin widgets.

``figures`` (plotly 3D crystals, matplotlib figures) and ``widgets`` (the shared panel helpers) serve
every notebook; ``diffusion`` (02), ``nn`` (03), ``sampling`` (05), ``physics`` (06), ``complexity`` (07),
``pairwise`` (08), ``joint`` (09) and ``benchmark`` (10) hold one notebook's render functions each.
"""
