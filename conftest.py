"""Environment for every test run, `pytest notebooks/` included (kernels started by nbval inherit it)."""
import os

# On 2-core machines, OpenBLAS threads fight the notebook kernels and each other
# (digits training went from 0.75 s to 18 s under load). Set before NumPy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# The stored lessons are a reference run: lesson 09's checks grade the reference answers in
# place of unwritten stubs only with this set, as `autodiff-nb run` sets it.
from autodiff_nb.lessons import REFERENCE_RUN  # noqa: E402  (after the line above: NumPy loads here)

for name, value in REFERENCE_RUN.items():
    os.environ.setdefault(name, value)
