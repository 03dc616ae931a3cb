"""Jupyter notebooks as submissions: read them safely, make the starter, extract graded code, report.

Cells carry their role in their tags (cell metadata "tags", set in Jupyter with View > Cell Toolbar > Tags):
- `graded`: a code cell whose code is graded; the grader runs only these cells, joined into one module.
- `hidden`: a cell dropped from the starter notebook (so is a code cell made only of a HIDDEN block).
- `question`: a markdown cell asking a question graded by hand; metadata cs330.question (id), cs330.points.
- `answer`: the student's answer to a question (metadata cs330.question names it).
- `plot`: a code cell whose image outputs go into the manual-grading report.
Code cells of the reference use the markers of markers.py; experiment cells are never run by the grader.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from pathlib import Path
from typing import Any

import nbformat

from autograder.markers import solution_lines, strip_markers

MAX_NOTEBOOK_BYTES = 5 << 20
GRADED, HIDDEN, QUESTION, ANSWER, PLOT = "graded", "hidden", "question", "answer", "plot"
ANSWER_PLACEHOLDER = "*Write your answer here.*"
MAGIC = re.compile(r"^\s*[%!]")
FUTURE = re.compile(r"^from __future__ import [\w, ]+$", re.MULTILINE)
KEPT_NOTEBOOK_METADATA = ("kernelspec", "language_info")


class NotebookError(ValueError):
    """A notebook that cannot be read or graded; the message tells the student what to do."""


def read_notebook(data: bytes | str, name: str = "the notebook") -> nbformat.NotebookNode:
    """Parse notebook bytes into an nbformat v4 notebook, with clear errors for broken files."""
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise NotebookError(f"{name} is larger than {MAX_NOTEBOOK_BYTES >> 20} MB: clear large outputs "
                            "(Kernel > Restart & Clear Output) and submit it again")
    try:
        raw = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise NotebookError(f"{name} is not a text file (not UTF-8): submit the .ipynb file Jupyter "
                            "saves, not an export") from None
    except json.JSONDecodeError as exc:
        raise NotebookError(f"{name} is not a valid notebook: its JSON is broken at line {exc.lineno}, "
                            f"column {exc.colno} ({exc.msg}). Open it in Jupyter (or restore the starter "
                            "notebook), save it, and submit it again") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise NotebookError(f"{name} is JSON but not a Jupyter notebook (no list of cells): submit the "
                            ".ipynb file Jupyter saves")
    try:
        notebook = nbformat.reads(json.dumps(raw), as_version=4)
    except Exception as exc:  # nbformat raises many kinds of errors for malformed notebooks
        raise NotebookError(f"{name} is not a notebook nbformat can read ({type(exc).__name__}: {exc}): "
                            "open it in Jupyter, save it, and submit it again") from None
    for index, cell in enumerate(notebook.cells):
        if not isinstance(cell, dict) or not isinstance(cell.get("source"), str) \
                or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise NotebookError(f"cell {index + 1} of {name} is malformed (no cell_type or source): open "
                                "the notebook in Jupyter, save it, and submit it again")
    return notebook


def tags(cell: dict) -> set[str]:
    """The cell's tags."""
    found = cell.get("metadata", {}).get("tags", [])
    return {str(t) for t in found} if isinstance(found, list) else set()


def cell_info(cell: dict) -> dict:
    """The cell's cs330 metadata (question id, points, title), empty when absent."""
    info = cell.get("metadata", {}).get("cs330", {})
    return dict(info) if isinstance(info, dict) else {}


def graded_source(notebook: nbformat.NotebookNode, name: str = "the notebook") -> str:
    """The code of the cells tagged `graded`, joined into one module (magics commented out)."""
    parts = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or GRADED not in tags(cell):
            continue
        lines = [f"# (notebook magic skipped by the grader) {line}" if MAGIC.match(line) else line
                 for line in cell.source.splitlines()]
        parts.append(f"# --- graded cell {index + 1} (id {cell.get('id', '?')}) ---\n" + "\n".join(lines))
    if not parts:
        raise NotebookError(f"{name} has no code cell tagged '{GRADED}', so nothing can be graded: the graded "
                            "cells of the starter notebook carry that tag (View > Cell Toolbar > Tags); "
                            "write your functions in those cells, keeping their tag")
    module = "\n\n\n".join(parts) + "\n"
    future = sorted(set(FUTURE.findall(module)))  # must open the module, wherever a cell had them
    return "".join(f"{line}\n" for line in future) + FUTURE.sub(r"# (moved to the top) \g<0>", module)


def notebook_to_module(data: bytes, name: str) -> str:
    """Read a submitted notebook and return the module its graded cells make."""
    return graded_source(read_notebook(data, name), name)


def _starter_cell(cell: nbformat.NotebookNode, filename: str) -> nbformat.NotebookNode | None:
    """The starter version of one reference cell (None: dropped)."""
    cell_tags = tags(cell)
    if HIDDEN in cell_tags:
        return None
    cell = nbformat.from_dict(json.loads(json.dumps(cell)))
    if cell.cell_type == "code":
        stripped = strip_markers(cell.source, f"{filename} cell {cell.get('id', '?')}")
        if not stripped.strip() and cell.source.strip():
            return None  # a cell made only of a HIDDEN block
        cell.source = stripped.rstrip("\n")
        cell.outputs = []
        cell.execution_count = None
    elif ANSWER in cell_tags:
        cell.source = ANSWER_PLACEHOLDER
    if "attachments" in cell:
        del cell["attachments"]
    return cell


def starter_notebook(data: bytes, filename: str = "notebook.ipynb") -> bytes:
    """The student notebook made from a reference notebook: TODOs, no outputs, no hidden cells."""
    notebook = read_notebook(data, filename)
    cells = [c for c in (_starter_cell(cell, filename) for cell in notebook.cells) if c is not None]
    metadata = {k: notebook.metadata[k] for k in KEPT_NOTEBOOK_METADATA if k in notebook.metadata}
    starter = nbformat.v4.new_notebook(cells=cells, metadata=metadata)
    starter.nbformat, starter.nbformat_minor = 4, max(5, int(notebook.get("nbformat_minor", 5)))
    nbformat.validate(starter)
    return (nbformat.writes(starter) + "\n").encode()


def notebook_solution_lines(data: bytes, filename: str = "notebook.ipynb") -> list[str]:
    """Solution-block lines of every code cell (for leak checks)."""
    notebook = read_notebook(data, filename)
    return [line for cell in notebook.cells if cell.cell_type == "code" for line in solution_lines(cell.source)]


def notebook_text(data: bytes) -> str:
    """Every cell's source of a notebook, as plain text (empty when it cannot be read)."""
    try:
        return "\n".join(cell.source for cell in read_notebook(data).cells)
    except NotebookError:
        return ""


def questions(data: bytes, filename: str = "notebook.ipynb") -> list[dict]:
    """The manually graded questions of a notebook: id, points, cell id and text, in order."""
    found = []
    for cell in read_notebook(data, filename).cells:
        if cell.cell_type == "markdown" and QUESTION in tags(cell):
            info = cell_info(cell)
            found.append({"id": str(info.get("question", cell.get("id"))), "points": info.get("points", 0),
                          "cell_id": cell.get("id"), "text": cell.source})
    return found


def _answers(notebook: nbformat.NotebookNode) -> dict[str, list[str]]:
    """Answer texts keyed by question id; an answer without an id belongs to the question above it."""
    answers: dict[str, list[str]] = {}
    current = None
    for cell in notebook.cells:
        cell_tags = tags(cell)
        if QUESTION in cell_tags:
            current = str(cell_info(cell).get("question", cell.get("id")))
        if ANSWER in cell_tags:
            key = str(cell_info(cell).get("question", current))
            answers.setdefault(key, []).append(cell.source)
    return answers


def _images(cell: dict) -> list[str]:
    """Base64 PNG images among a code cell's outputs (invalid data is skipped)."""
    images = []
    for output in cell.get("outputs", []):
        png = output.get("data", {}).get("image/png") if isinstance(output, dict) else None
        if isinstance(png, list):
            png = "".join(png)
        if not isinstance(png, str):
            continue
        try:
            raw = base64.b64decode(png.encode(), validate=False)
        except (binascii.Error, ValueError):
            continue
        if raw.startswith(b"\x89PNG\r\n\x1a\n"):
            images.append(base64.b64encode(raw).decode())
    return images


STYLE = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
         "pre{white-space:pre-wrap;background:#f6f6f6;padding:.6em;border-left:3px solid #ccc}"
         ".missing{color:#a00}img{max-width:100%;border:1px solid #ddd}")


def render_report(notebook: nbformat.NotebookNode | None, question_list: list[dict], title: str,
                  summary: str = "", problem: str | None = None) -> str:
    """HTML for manual grading: each question with the student's answer, then the marked plots."""
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
           'style-src \'unsafe-inline\'">', f"<title>{e(title)}</title><style>{STYLE}</style></head><body>",
           f"<h1>{e(title)}</h1>"]
    if summary:
        out.append(f"<p>{e(summary)}</p>")
    if problem or notebook is None:
        out.append(f'<p class="missing">{e(problem or "No notebook was submitted.")}</p></body></html>')
        return "\n".join(out) + "\n"
    answers = _answers(notebook)
    out.append("<h2>Written answers</h2>")
    for q in question_list:
        out.append(f"<h3>Question {e(str(q['id']))} ({e(str(q.get('points', 0)))} points)</h3>")
        out.append(f"<pre>{e(q.get('text', ''))}</pre>")
        texts = [t for t in answers.get(str(q["id"]), []) if t.strip() and t.strip() != ANSWER_PLACEHOLDER]
        out += [f"<h4>Answer</h4><pre>{e(t)}</pre>" for t in texts] or \
               ['<p class="missing">No answer (the answer cell is empty or missing).</p>']
    out.append("<h2>Plots</h2>")
    plots = [c for c in notebook.cells if c.cell_type == "code" and PLOT in tags(c)]
    if not plots:
        out.append('<p class="missing">No cell tagged plot.</p>')
    for cell in plots:
        name = cell_info(cell).get("title") or f"cell {cell.get('id', '?')}"
        out.append(f"<h3>{e(str(name))}</h3>")
        images = _images(cell)
        out += [f'<img alt="{e(str(name))}" src="data:image/png;base64,{b64}">' for b64 in images] or \
               ['<p class="missing">No image output: run the cell and save the notebook before submitting.</p>']
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_report(submitted: bytes | None, name: str, question_list: list[dict], title: str, dest: Path,
                 summary: str = "") -> Path:
    """Write dest (report.html) from a submitted notebook's bytes (None or unreadable: say so)."""
    notebook, problem = None, None
    if submitted is None:
        problem = f"{name} was not submitted."
    else:
        try:
            notebook = read_notebook(submitted, name)
        except NotebookError as exc:
            problem = str(exc)
    dest.write_text(render_report(notebook, question_list, title, summary, problem))
    return dest


def write_grading_report(assignment: Any, submitted: dict[str, bytes], score: float, possible: float,
                         folder: Path) -> Path | None:
    """After grading: report.html in folder for the manual part of a notebook assignment (else None)."""
    notebooks = [n for n in assignment.files if n.endswith(".ipynb")]
    if not notebooks:
        return None
    question_list = load_questions(assignment.golden_dir / "questions.json")
    manual = sum(float(q.get("points", 0)) for q in question_list)
    summary = (f"Autograded score: {score:g} / {possible:g}. The {len(question_list)} written questions "
               f"({manual:g} points) and the plots below are graded by hand.")
    folder.mkdir(parents=True, exist_ok=True)
    return write_report(submitted.get(notebooks[0]), notebooks[0], question_list,
                        f"{assignment.id}: {assignment.title}", folder / "report.html", summary)


def load_questions(path: Path) -> list[dict]:
    """The questions list written by `cs330 build` (empty when absent)."""
    return json.loads(path.read_text())["questions"] if path.is_file() else []


def questions_json(question_list: list[dict], assignment_id: str) -> str:
    """The questions list as written into golden/questions.json."""
    total = sum(float(q.get("points", 0)) for q in question_list)
    return json.dumps({"assignment": assignment_id, "total_points": total, "questions": question_list},
                      indent=2) + "\n"


def submitted_modules(submitted: dict[str, Path], wanted: tuple[str, ...],
                      folder: Path) -> tuple[dict[str, Path], dict[str, str]]:
    """Submitted files as the sandbox imports them: a notebook becomes <stem>.py (its graded cells,
    written in folder); returns (file name -> path, module file -> why it cannot be graded)."""
    modules, problems = {}, {}
    for name in wanted:
        if name.endswith(".ipynb") and name not in submitted:
            problems[module_file(name)] = (f"{name} is missing from your submission: submit your notebook "
                                           f"as a file named exactly {name}")
    for name, path in submitted.items():
        if not name.endswith(".ipynb"):
            modules[name] = path
            continue
        module = module_file(name)
        try:
            source = notebook_to_module(path.read_bytes(), name)
        except NotebookError as exc:
            problems[module] = str(exc)
            continue
        (folder / module).write_text(source)
        modules[module] = folder / module
    return modules, problems


def module_file(name: str) -> str:
    """The module file the grader imports for a submitted file (transfer.ipynb -> transfer.py)."""
    return f"{Path(name).stem}.py" if name.endswith(".ipynb") else name
