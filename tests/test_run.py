"""``autodiff-nb run``: execute lessons in place and store their outputs, the same bytes every time.

Run through the CLI in a subprocess (the real entry point; nbclient's event
loop stays out of this process).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

DATA = Path(__file__).parent / "data"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "autodiff_nb.cli", "run", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_run_stores_outputs_deterministically(tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    shutil.copy(DATA / "stepper_lesson.ipynb", lessons / "01_stepper.ipynb")
    # print() in a loop with sleeps arrives as several stream messages; cwd is the notebook's folder.
    (lessons / "data.txt").write_text("next to the lesson")
    nbformat.write(new_notebook(cells=[
        new_markdown_cell("# Streams"),
        new_code_cell("import time\nfor k in range(3):\n    print(k, flush=True)\n    time.sleep(0.05)"),
        new_code_cell("print(open('data.txt').read())"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}),
        lessons / "00_streams.ipynb")

    first = run_cli(lessons)
    assert first.returncode == 0, first.stderr
    assert "ran and saved 2 notebooks" in first.stdout
    assert "without encryption" not in first.stderr   # the kernel is ours, on this machine
    saved = {p.name: p.read_bytes() for p in lessons.glob("*.ipynb")}
    second = run_cli(lessons / "00_streams.ipynb", lessons / "01_stepper.ipynb")
    assert second.returncode == 0, second.stderr
    assert {p.name: p.read_bytes() for p in lessons.glob("*.ipynb")} == saved  # byte-identical

    streams = nbformat.read(lessons / "00_streams.ipynb", as_version=4)
    assert [[(o.output_type, o.text) for o in cell.outputs] for cell in streams.cells[1:]] == [
        [("stream", "0\n1\n2\n")], [("stream", "next to the lesson\n")]]
    assert all("execution" not in cell.metadata for cell in streams.cells)

    stepper = json.loads(saved["01_stepper.ipynb"])
    state = stepper["metadata"]["widgets"][WIDGET_STATE]["state"]
    views = [out["data"][WIDGET_VIEW]["model_id"] for cell in stepper["cells"]
             for out in cell.get("outputs", []) if WIDGET_VIEW in out.get("data", {})]
    assert len(views) == 2 and all(view in state for view in views)  # what Lab needs to show them


def test_failing_lesson_stops_run_and_is_left_as_it_was(tmp_path):
    shutil.copytree(DATA / "failing", tmp_path / "failing")
    broken = tmp_path / "failing" / "01_broken.ipynb"
    before = broken.read_bytes()

    result = run_cli(tmp_path / "failing")

    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == ("autodiff-nb run: error: 01_broken.ipynb, cell 3: "
                         "ValueError: broken on purpose")
    assert broken.read_bytes() == before
    assert [p.name for p in broken.parent.iterdir()] == ["01_broken.ipynb"]  # no temporary file


def test_run_refuses_what_is_not_a_notebook(tmp_path):
    (tmp_path / "notes.txt").write_text("not a lesson")
    result = run_cli(tmp_path / "notes.txt")
    assert result.returncode == 1
    assert "not a notebook" in result.stderr


def test_run_is_a_reference_run(tmp_path):
    """The stored outputs are the reference run: the kernel gets ADNB_SHOW_ANSWERS=1 (lesson 09)."""
    lesson = tmp_path / "00_env.ipynb"
    nbformat.write(new_notebook(cells=[
        new_code_cell("import os\nprint(os.environ.get('ADNB_SHOW_ANSWERS'))"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}),
        lesson)
    learner = {k: v for k, v in os.environ.items() if k != "ADNB_SHOW_ANSWERS"}
    done = subprocess.run([sys.executable, "-m", "autodiff_nb.cli", "run", str(lesson)],
                          capture_output=True, text=True, timeout=300, env=learner)
    assert done.returncode == 0, done.stderr
    cell = nbformat.read(lesson, as_version=4).cells[0]
    assert [o.text for o in cell.outputs] == ["1\n"]



def write_lesson(path: Path, *sources) -> None:
    nbformat.write(new_notebook(cells=[new_markdown_cell("# A lesson"), *map(new_code_cell, sources)]), path)


def test_a_cells_error_reaches_the_user_whole(tmp_path):
    lesson = tmp_path / "03_shapes.ipynb"
    write_lesson(lesson, "import numpy as np\nimport autodiff_nb as ad",
                 "W = ad.Tensor(np.ones((1, 2)))\nx = ad.Tensor(np.ones(3))\ny = W @ x")
    before = lesson.read_bytes()

    result = run_cli(lesson)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("autodiff-nb run: error: 03_shapes.ipynb, cell 3: ShapeError: "
                                    "matmul: shapes (1, 2) and (3,) do not fit")
    assert lesson.read_bytes() == before


def test_an_invalid_notebook_gives_one_line_naming_it(tmp_path):
    broken = tmp_path / "02_broken.ipynb"
    broken.write_text('{"cells": [')

    result = run_cli(broken)

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"autodiff-nb run: error: {broken}: not a valid notebook")
    assert broken.read_text() == '{"cells": ['


def test_a_missing_path_says_so(tmp_path):
    result = run_cli(tmp_path / "lessons")
    assert result.returncode == 1
    assert result.stderr == f"autodiff-nb run: error: {tmp_path / 'lessons'}: no such file or folder\n"
