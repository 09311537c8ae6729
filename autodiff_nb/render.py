"""Find a Graphviz program and run it: DOT text in, SVG/PNG/PDF bytes out.

Which program draws, first match wins:

1. ``set_program("/path/to/dot")`` (or a name looked up on PATH), for this process;
2. the environment variable ``AUTODIFF_NB_DOT`` (a path or a name, e.g. ``dot``);
3. ``graphviz-pure``, a pinned pip dependency of autodiff_nb: a self-contained
   program with dot's command line, on PATH or next to the running Python.

A system Graphviz (apt, brew, conda) is never picked on its own, even when
``dot`` is on PATH: each Graphviz build lays the same graph out at slightly
different sizes, so stored lesson outputs made with one would not match
another. The pinned ``graphviz-pure`` gives the same bytes on every platform,
so ``pip install autodiff_nb`` alone draws, and draws the same everywhere.
Ask for ``dot`` when you want it (it also writes PDF). When no program can
be found, or the program fails or takes too long, the one error is a
``RenderError`` whose message says what happened and how to get a program;
never a bare ``FileNotFoundError`` about an executable. Building DOT text
(``Graph.source``) needs no program at all.

The program is run with ``subprocess`` directly (``-T<format>``, DOT on
stdin), with a timeout: ``set_timeout(seconds)``, 30 s by default.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ENVIRONMENT_VARIABLE = "AUTODIFF_NB_DOT"
DEFAULT_TIMEOUT = 30.0

HOW_TO_GET_ONE = (
    "To draw, autodiff_nb needs a Graphviz program. Either:\n"
    "  * pip install graphviz-pure   (self-contained, installs the 'graphviz-pure' program;\n"
    "    the one autodiff_nb picks on its own), or\n"
    "  * install Graphviz itself (apt install graphviz / brew install graphviz / "
    "conda install graphviz / https://graphviz.org/download/)\n"
    f"    and ask for it: set the environment variable {ENVIRONMENT_VARIABLE}="
    "dot or call autodiff_nb.render.set_program('dot').\n"
    "(Graph.source, the DOT text, works without any program.)")


class RenderError(RuntimeError):
    """No Graphviz program, or it failed or timed out; the message says what to do."""


_settings = {"program": None, "timeout": DEFAULT_TIMEOUT}


def set_program(program=None):
    """Draw with ``program`` (a path or a name on PATH) from now on; ``None`` goes back to automatic."""
    _settings["program"] = None if program is None else str(program)


def set_timeout(seconds=DEFAULT_TIMEOUT):
    """Give up on one rendering after ``seconds`` (30 by default)."""
    if not seconds or seconds <= 0:
        raise ValueError(f"set_timeout: expected a positive number of seconds, got {seconds!r}")
    _settings["timeout"] = float(seconds)


def _locate(program):
    """An executable path for a path, or for a name on PATH or next to the running Python."""
    if os.sep in program or (os.altsep and os.altsep in program):
        path = Path(program).expanduser()
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    found = shutil.which(program)
    if found is None:   # a venv's bin folder, when the venv is used without being activated
        found = shutil.which(program, path=str(Path(sys.executable).parent))
    return found


def find_program() -> str:
    """The path of the program that will draw (see the module docstring for the order)."""
    for chosen, source in ((_settings["program"], "set_program()"),
                           (os.environ.get(ENVIRONMENT_VARIABLE) or None, ENVIRONMENT_VARIABLE)):
        if chosen is not None:
            found = _locate(chosen)
            if found is None:
                raise RenderError(f"{source} names the Graphviz program {chosen!r}, but there is "
                                  f"no executable file by that name.\n{HOW_TO_GET_ONE}")
            return found
    found = _locate("graphviz-pure")
    if found is None:
        raise RenderError("No Graphviz program found: 'graphviz-pure' is not on PATH or next "
                          f"to {sys.executable}.\n{HOW_TO_GET_ONE}")
    return found


def render(source: str, format: str = "svg", *, program=None, timeout=None) -> bytes:
    """Run the program on DOT ``source`` and return its output in ``format`` (svg, png, pdf...)."""
    path = _locate(program) if program is not None else find_program()
    if path is None:
        raise RenderError(f"The Graphviz program {program!r} was not found.\n{HOW_TO_GET_ONE}")
    timeout = _settings["timeout"] if timeout is None else timeout
    try:
        done = subprocess.run([path, f"-T{format}"], input=source.encode("utf-8"),
                              capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RenderError(
            f"Graphviz ({path}) took longer than {timeout:g} s to draw this graph. Draw less "
            f"(collapse=True, max_nodes=..., only_ancestors_of=...) or allow more time with "
            f"autodiff_nb.render.set_timeout(seconds).") from None
    except OSError as exc:
        raise RenderError(f"Could not run the Graphviz program {path}: "
                          f"{exc.strerror or exc}.\n{HOW_TO_GET_ONE}") from None
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
        hint = ""
        if "format" in message.lower() and format != "svg":
            hint = (f"\nThis program cannot write {format!r}; system Graphviz can "
                    f"(set {ENVIRONMENT_VARIABLE} to its 'dot'), or save as .svg or .png.")
        raise RenderError(f"Graphviz ({path}) failed to draw -T{format}:\n"
                          f"{_first_lines(message)}{hint}")
    return done.stdout


def _first_lines(message, count=8):
    lines = message.splitlines()
    return "\n".join(lines[:count] + (["..."] if len(lines) > count else []))


__all__ = ["RenderError", "find_program", "render", "set_program", "set_timeout",
           "ENVIRONMENT_VARIABLE", "DEFAULT_TIMEOUT"]
