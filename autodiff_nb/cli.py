"""The ``autodiff-nb`` command line (also ``python -m autodiff_nb.cli``)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autodiff-nb", description="Tools for the autodiff_nb lessons.")
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser(
        "export",
        help="build the offline HTML lecture site",
        description="Run every *.ipynb in NOTEBOOKS (sorted by name) and write an offline "
        "HTML site: index.html plus one page per lesson. DIR is replaced only once "
        "the whole site is built, and only if it is new, empty, or a site export made "
        "holding nothing else (its .autodiff-nb-site.json lists the files); otherwise "
        "export refuses and deletes nothing.",
    )
    export.add_argument("notebooks", type=Path, metavar="NOTEBOOKS", help="folder with the lesson notebooks")
    export.add_argument("--out", type=Path, default=Path("site"), metavar="DIR",
                        help="where to write the site (default: ./site)")
    export.add_argument("--no-execute", dest="execute", action="store_false",
                        help="convert the stored outputs instead of running the notebooks")
    export.add_argument("--timeout", type=int, default=300, metavar="SECONDS",
                        help="time limit for each cell (default: 300)")
    export.add_argument("--title", default="Lessons", help="heading of index.html")
    export.add_argument("--student", action="store_true",
                        help="the edition for learners: run the lessons as a learner's kernel "
                             "does, so exercises show no reference answers or their ticks")

    run = commands.add_parser(
        "run",
        help="execute lessons in place and store their outputs",
        description="Run each notebook top to bottom in a fresh kernel (in the notebook's "
        "folder) and save it with its outputs, the same bytes on every run of unchanged "
        "code: no timestamps, merged print output, stable widget ids, widget state kept. "
        "A folder means its *.ipynb, sorted by name. Stops at the first failing lesson, "
        "which is left as it was.",
    )
    run.add_argument("targets", type=Path, nargs="+", metavar="NOTEBOOK_OR_DIR",
                     help="lesson notebook(s) or folder(s) of them")
    run.add_argument("--timeout", type=int, default=300, metavar="SECONDS",
                     help="time limit for each cell (default: 300)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Progress lines from our own modules only; nbclient and nbconvert stay quiet.
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("autodiff_nb").setLevel(logging.INFO)
    if args.command == "run":
        from autodiff_nb.lessons import LessonError, run_lessons

        try:
            done = run_lessons(args.targets, timeout=args.timeout)
        except LessonError as exc:
            print(f"autodiff-nb run: error: {exc}", file=sys.stderr)
            return 1
        print(f"ran and saved {len(done)} notebook{'s' * (len(done) != 1)}")
        return 0

    from autodiff_nb.export import ExportError, export_site

    try:
        pages = export_site(args.notebooks, args.out, execute=args.execute,
                            timeout=args.timeout, title=args.title, student=args.student)
    except ExportError as exc:
        print(f"autodiff-nb export: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(pages)} pages to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
