"""Run transfer.ipynb end to end without opening Jupyter (provided): `cs330 train hw5_transfer [PATH] -- ...`.

Executes the notebook beside this file in a scratch copy (Jupyter's nbclient and ipykernel must be
installed), then writes into --out: transfer.executed.ipynb (with outputs), report.html (your answers and
plots as the staff will see them) and figures.json when the notebook records one. Your notebook itself
is not changed. Options: --full (QUICK = False), --config JSON (overrides of the notebook's CFG).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

import transfer_lab

log = logging.getLogger("train")
HERE = Path(__file__).resolve().parent
NOTEBOOK = "transfer.ipynb"
COPIED = (NOTEBOOK, "transfer_lab.py", transfer_lab.PRETRAINED_FILE)


def prepare(notebook, full: bool, config: dict) -> None:
    """Set QUICK and apply the CFG overrides in the notebook's set-up cell (in memory)."""
    for cell in notebook.cells:
        if cell.cell_type == "code" and "QUICK = True" in cell.source:
            cell.source = cell.source.replace("QUICK = True", f"QUICK = {not full}")
            if config:
                cell.source += f"\nCFG.update({config!r})"
            return
    if full or config:
        raise SystemExit(f"{NOTEBOOK} has no set-up cell with `QUICK = True`: restore it from the starter")


def run(folder: Path, out: Path, full: bool = False, config: dict | None = None, timeout_s: int = 1800) -> int:
    """Execute folder/transfer.ipynb; write the executed notebook, report and figures into out."""
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
    except ImportError:
        print("train.py needs Jupyter's nbclient and ipykernel: pip install nbclient ipykernel "
              "(or run the notebook in Jupyter)", file=sys.stderr)
        return 1
    transfer_lab._omniglot()  # puts the course package on sys.path when run from a checkout
    from autograder.notebook import load_questions, questions, write_report

    out.mkdir(parents=True, exist_ok=True)
    status = 0
    with tempfile.TemporaryDirectory(prefix="hw5-notebook-") as tmp:
        work = Path(tmp)
        for name in COPIED:
            if not (folder / name).is_file():
                print(f"{folder / name} is missing: keep it beside {NOTEBOOK}", file=sys.stderr)
                return 1
            shutil.copy(folder / name, work / name)
        notebook = nbformat.read(work / NOTEBOOK, as_version=4)
        prepare(notebook, full, config or {})
        started = time.monotonic()
        try:
            NotebookClient(notebook, timeout=timeout_s, kernel_name="python3",
                           resources={"metadata": {"path": str(work)}}).execute()
        except CellExecutionError as exc:
            print(f"a cell of {NOTEBOOK} failed; the notebook ran up to it:\n{str(exc)[-1500:]}", file=sys.stderr)
            status = 1
        log.info("ran %s in %.1f s", NOTEBOOK, time.monotonic() - started)
        figures = work / "runs" / "figures.json"
        if figures.is_file():
            shutil.copy(figures, out / "figures.json")
    nbformat.write(notebook, out / "transfer.executed.ipynb")
    executed = (out / "transfer.executed.ipynb").read_bytes()
    listed = HERE.parent.parent / "assignments" / "hw5_transfer" / "golden" / "questions.json"
    write_report(executed, NOTEBOOK, load_questions(listed) if listed.is_file() else questions(executed),
                 "hw5_transfer: your notebook", out / "report.html")
    print(f"wrote {out / 'transfer.executed.ipynb'} and {out / 'report.html'}", file=sys.stderr)
    return status


def main(argv: list[str] | None = None) -> int:
    """Parse the options and run the notebook."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    parser = argparse.ArgumentParser(description="Run transfer.ipynb end to end and write its outputs.")
    parser.add_argument("--full", action="store_true", help="QUICK = False: the instructor's full run")
    parser.add_argument("--config", default="{}", help='JSON overrides of CFG, e.g. \'{"steps": 5}\'')
    parser.add_argument("--out", default="runs/hw5_transfer", help="folder for the outputs")
    parser.add_argument("--timeout-s", type=int, default=1800, help="time limit of one cell")
    args = parser.parse_args(argv)
    status = run(HERE, Path(args.out), args.full, json.loads(args.config), args.timeout_s)
    if status:
        raise SystemExit(status)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
