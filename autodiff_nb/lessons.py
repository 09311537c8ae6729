"""Run lesson notebooks top to bottom and store their outputs, the same bytes every time.

The lessons are kept in the repository *with* their outputs: that is what a
learner sees on opening one, what nbval compares, and what the exported site
shows. So running a lesson must not churn the file: no per-cell timestamps,
stream outputs merged (how print() output is split into messages depends on
timing), and widget model ids, which the kernel draws at random, renumbered
in order of appearance. Running an unchanged lesson twice writes the same
bytes.

Widget state is stored (nbclient's default). Without it, JupyterLab shows
"Error displaying widget: model not found" where a lesson displays a widget
until the learner runs the cell; with it, the widget appears as it was left
(the stepper's buttons and current frame). The export drops it again: see
``export.py``.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import uuid
from pathlib import Path

import nbformat

__all__ = ["LessonError", "execute", "lesson_paths", "read_notebook", "run_lessons"]

log = logging.getLogger(__name__)

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# The stored outputs are the reference run: exercise checks grade the reference answers in
# place of unwritten stubs (lesson 09), which a learner's own kernel does not do.
REFERENCE_RUN = {"ADNB_SHOW_ANSWERS": "1"}
# The kernel runs on this machine, reached over loopback TCP only, so its warning that TCP
# is not encrypted says nothing a lesson's author can act on; its other log lines below
# ERROR go too (a cell's errors reach us as messages, not as kernel log lines).
QUIET_KERNEL = ["--IPKernelApp.log_level=ERROR"]
# Stable widget ids: uuid5 of "<notebook file name>/<n>" in this namespace.
WIDGET_ID_NAMESPACE = uuid.UUID("5e1f2a6c-8d3b-4f7e-9a10-a0d1ff0a0001")


class LessonError(RuntimeError):
    """A lesson could not be run; the message names the notebook and the cell."""


def execute(nb, path: Path, timeout: int = 300, reference: bool = True) -> None:
    """Run ``nb`` (read from ``path``) in place in a fresh ``python3`` kernel.

    The kernel starts in the notebook's folder, so lessons can read files next
    to them, with ``REFERENCE_RUN`` added to its environment when ``reference``
    (else it runs as in a learner's kernel); ``timeout`` limits each cell. Afterwards the outputs are
    normalised (merged streams, no execution timestamps). On failure raises
    LessonError naming the file and the 1-based cell number.
    """
    # Imported here: starting kernels is only needed when executing.
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    path = Path(path)
    running = []  # index of the cell being executed, set by nbclient's hook
    nb.metadata.pop("widgets", None)  # state of an earlier run; nbclient adds the new one
    client = NotebookClient(
        nb,
        kernel_name="python3",  # jupyter_client runs it with this sys.executable
        timeout=timeout,
        record_timing=False,
        extra_arguments=QUIET_KERNEL,
        resources={"metadata": {"path": str(path.resolve().parent)}},
        on_cell_execute=lambda cell, cell_index: running.append(cell_index),
    )
    try:
        env = {k: v for k, v in os.environ.items() if k not in REFERENCE_RUN}
        client.execute(env={**env, **REFERENCE_RUN} if reference else env)
    except Exception as exc:
        if isinstance(exc, CellExecutionError):
            # The whole message: the library's errors are written for learners and
            # often say what to do on their first line, not their last.
            reason = f"{exc.ename}: {(exc.evalue or '').strip()}".rstrip(": ")
        elif isinstance(exc, CellTimeoutError):
            reason = f"timed out after {timeout} s"
        else:
            reason = f"{type(exc).__name__}: {str(exc).strip()}".rstrip(": ")
        where = f"cell {running[-1] + 1}" if running else "kernel start"
        raise LessonError(f"{path.name}, {where}: {reason}") from exc
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = _merge_streams(cell.outputs)
            cell.metadata.pop("execution", None)


def _merge_streams(outputs):
    """Join consecutive stdout (or stderr) outputs into one."""
    merged = []
    for out in outputs:
        if (out.output_type == "stream" and merged and merged[-1].output_type == "stream"
                and merged[-1].name == out.name):
            merged[-1].text += out.text
        else:
            merged.append(out)
    return merged


def lesson_paths(targets) -> list[Path]:
    """Notebook files and folders -> the notebooks, each folder's ``*.ipynb`` sorted by name."""
    paths = []
    for target in map(Path, targets):
        if not target.exists():
            raise LessonError(f"{target}: no such file or folder")
        if target.is_dir():
            found = sorted(target.glob("*.ipynb"))
            if not found:
                raise LessonError(f"no *.ipynb notebooks in {target}")
            paths.extend(found)
        elif target.suffix == ".ipynb" and target.is_file():
            paths.append(target)
        else:
            raise LessonError(f"{target}: not a notebook (.ipynb) or a folder of notebooks")
    return paths


def read_notebook(path: Path):
    """The notebook at ``path``, or a LessonError saying in one line why it cannot be read."""
    try:
        return nbformat.read(path, as_version=4)
    except OSError as exc:
        raise LessonError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except Exception as exc:   # nbformat's NotJSONError, ValidationError, ...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise LessonError(f"{path}: not a valid notebook ({first[:200]})") from exc


def run_lessons(targets, timeout: int = 300) -> list[Path]:
    """Execute each notebook in ``targets`` in place and store its outputs.

    Stops at the first lesson that fails (LessonError); that notebook is left
    as it was, and the ones before it are already written. Each file is
    replaced in one step, never left half-written.
    """
    done = []
    for path in lesson_paths(targets):
        nb = read_notebook(path)
        started = time.perf_counter()
        execute(nb, path, timeout)
        log.info("ran %s in %.1f s", path.name, time.perf_counter() - started)
        try:
            _write(path, nbformat.writes(_stable_widget_ids(nb, path.name)))
        except OSError as exc:
            raise LessonError(f"cannot save {path}: {exc.strerror or exc}") from exc
        done.append(path)
    return done


def _stable_widget_ids(nb, name: str):
    """``nb`` with the kernel's random widget model ids replaced by ids that depend only on order.

    The ids are replaced in the notebook's JSON text (they appear as state
    keys, in outputs and as "IPY_MODEL_<id>" references); the result is parsed
    again so that writing it sorts the state by the new ids.
    """
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    ids = list(state)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            model_id = out.get("data", {}).get(WIDGET_VIEW, {}).get("model_id")
            if model_id and model_id not in ids:
                ids.append(model_id)
    if not ids:
        return nb
    text = nbformat.writes(nb)
    for n, old in enumerate(ids):
        text = text.replace(old, uuid.uuid5(WIDGET_ID_NAMESPACE, f"{name}/{n}").hex)
    return nbformat.reads(text, as_version=4)


def _write(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` atomically, keeping its permissions."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text if text.endswith("\n") else text + "\n")
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
