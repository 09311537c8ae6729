"""Smoke test of bench/bench_rnn.py: it still runs, its gradients agree, and it prints its table.

No timing is checked (the numbers are the script's job); this keeps the script from rotting.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "bench_rnn.py"


def test_bench_rnn_quick_smoke():
    pytest.importorskip("threadpoolctl")
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "| implementation | time (ms) | × hand-written NumPy |" in result.stdout
    assert "| autodiff_nb |" in result.stdout
    assert "gradients agree to 1e-9" in result.stdout
