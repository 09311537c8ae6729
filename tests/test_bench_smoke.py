"""Smoke test of bench/bench_engine.py: it still runs, agrees on losses and prints its table.

It checks no timing (the numbers are the script's job, not a test's); it only
keeps the script from rotting as the engine changes.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "bench_engine.py"


def test_bench_engine_quick_smoke():
    for module in ("sklearn", "threadpoolctl", "psutil"):
        pytest.importorskip(module)
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--steps", "50"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "| Benchmark | NumPy (hand-written) | autodiff_nb |" in result.stdout
    assert "Loss curves agree with hand-written NumPy at batch 32" in result.stdout
    assert "Loss curves agree with hand-written NumPy at batch 512" in result.stdout


def test_bench_conv_quick_smoke():
    pytest.importorskip("threadpoolctl")
    script = SCRIPT.parent / "bench_conv.py"
    result = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "| Workload (batch 32, forward + backward) | NumPy (hand-written) | autodiff_nb |" \
        in result.stdout
    assert "agree with" in result.stdout
