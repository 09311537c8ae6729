"""The parts of ``autodiff_nb.draw``: what to draw (``scene``), how it looks (``dot``),
how numbers read (``formatting``) and the resulting ``Graph``. Use ``autodiff_nb.draw``."""
