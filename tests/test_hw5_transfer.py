"""hw5_transfer: the release check, notebook submissions in the engine, and the notebook itself."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.assignment import REPO_ROOT, load_assignment
from autograder.check import leaked_lines, run_check
from autograder.grading import grade
from autograder.notebook import (ANSWER_PLACEHOLDER, NotebookError, graded_source, questions, read_notebook,
                                 render_report, starter_notebook, submitted_modules)
from autograder.omniglot import default_data_dir
from conftest import by_nodeid

HW = "hw5_transfer"
needs_data = pytest.mark.skipif(not (default_data_dir() / "images_evaluation.npz").is_file(),
                                reason="Omniglot is not in the shared data folder")
# Tiny experiment settings for executing the notebooks in a test (seconds instead of a minute).
TINY = {"steps": 2, "block_sizes": [28, 1], "alphas": [0.0, 0.5, 1.0], "soup_lrs": [1e-3, 3e-3],
        "widths": [4, 8], "lengths": [2, 4]}
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode()


@pytest.fixture(scope="module")
def hw5():
    """hw5_transfer as configured in this repository."""
    return load_assignment(HW, REPO_ROOT)


def toy_notebook() -> nbformat.NotebookNode:
    """A reference-style notebook with every kind of cell the engine handles."""
    cells = [
        new_markdown_cell("# Title", id="title"),
        new_code_cell("import torch", id="imports", metadata={"tags": ["graded"]}),
        new_code_cell('def double(x):\n    """Return 2 x."""\n    # BEGIN SOLUTION\n    return 2 * x  # the secret line here\n'
                      "    # END SOLUTION", id="double", metadata={"tags": ["graded"]}),
        new_code_cell("%matplotlib inline\nprint(double(2))", id="experiment", execution_count=3,
                      outputs=[new_output("stream", name="stdout", text="4\n")],
                      metadata={"tags": ["plot"], "cs330": {"title": "A plot"}}),
        new_code_cell("# BEGIN HIDDEN\nprint('instructor only')\n# END HIDDEN", id="only-hidden"),
        new_code_cell("print('tagged hidden')", id="tagged-hidden", metadata={"tags": ["hidden"]}),
        new_markdown_cell("**Question 1.** Why?", id="q1", metadata={"tags": ["question"],
                                                                     "cs330": {"question": "q1", "points": 2}}),
        new_markdown_cell("Because <script>alert(1)</script>.", id="a1",
                          metadata={"tags": ["answer"], "cs330": {"question": "q1"}}),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})


def test_starter_notebook_strips_solutions_and_keeps_ids():
    """The student notebook: TODOs for solution blocks, no outputs, no hidden cells, same cell ids."""
    data = (nbformat.writes(toy_notebook()) + "\n").encode()
    starter_bytes = starter_notebook(data, "toy.ipynb")
    assert starter_bytes == starter_notebook(data, "toy.ipynb")  # deterministic
    starter = nbformat.reads(starter_bytes.decode(), as_version=4)
    nbformat.validate(starter)
    assert [c.id for c in starter.cells] == ["title", "imports", "double", "experiment", "q1", "a1"]
    double = starter.cells[2].source
    assert "NotImplementedError" in double and "secret" not in double and '"""Return 2 x."""' in double
    assert starter.cells[3].outputs == [] and starter.cells[3].execution_count is None
    assert starter.cells[5].source == ANSWER_PLACEHOLDER
    assert starter.cells[3].metadata["tags"] == ["plot"]


def test_graded_source_takes_only_graded_cells():
    """The module the grader imports: graded cells in order, nothing else."""
    source = graded_source(toy_notebook())
    assert "import torch" in source and "def double" in source and "print(double(2))" not in source
    namespace: dict = {}
    exec(compile(source, "toy.py", "exec"), namespace)
    assert namespace["double"](3) == 6


def test_graded_source_moves_future_imports_to_the_top():
    """A `from __future__` line in a later graded cell still compiles once the cells are joined."""
    notebook = toy_notebook()
    notebook.cells[2].source = "from __future__ import annotations\n" + notebook.cells[2].source
    source = graded_source(notebook)
    assert source.startswith("from __future__ import annotations\n")
    compile(source, "toy.py", "exec")


@pytest.mark.parametrize("data, message", [
    (b'{"cells": [', "not a valid notebook: its JSON is broken"),
    (b"[1, 2]", "not a Jupyter notebook"),
    (b"\xff\xfe", "not a text file"),
])
def test_unreadable_notebooks_are_explained(data, message):
    """Broken files get a message that says what is wrong and what to do."""
    with pytest.raises(NotebookError, match=message):
        read_notebook(data, "transfer.ipynb")


def test_notebook_without_graded_cells_is_explained():
    """A notebook whose graded tags were lost says which tag is missing."""
    notebook = toy_notebook()
    for cell in notebook.cells:
        cell.metadata.pop("tags", None)
    with pytest.raises(NotebookError, match="no code cell tagged 'graded'"):
        graded_source(notebook, "transfer.ipynb")


def test_report_shows_answers_and_plots_without_scripts():
    """report.html: escaped answers under their questions, inline PNGs, no active content."""
    notebook = toy_notebook()
    notebook.cells[3].outputs.append(new_output("display_data", data={"image/png": PNG, "text/plain": "fig"}))
    notebook.cells[3].outputs.append(new_output("display_data", data={"image/png": "bm90IGEgcG5n"}))  # not a PNG
    data = (nbformat.writes(notebook) + "\n").encode()
    page = render_report(read_notebook(data), questions(data), "toy <report>", "score 1/2")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("data:image/png;base64,") == 1 and "Content-Security-Policy" in page
    assert "Question q1 (2 points)" in page and "toy &lt;report&gt;" in page
    empty = render_report(read_notebook(starter_notebook(data)), questions(data), "toy")
    assert "No answer" in empty and "No image output" in empty


def test_leak_check_reads_notebooks(hw5, tmp_path):
    """Solution lines inside a notebook's cells are found in a zip (the reference itself leaks)."""
    archive = tmp_path / "leak.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(hw5.solution_dir / "transfer.ipynb", "hw5_transfer/transfer.ipynb")
        zf.write(hw5.starter_dir / "transfer.ipynb", "hw5_transfer/starter.ipynb")
    leaks = leaked_lines(hw5, archive)
    assert leaks and all(leak.startswith("hw5_transfer/transfer.ipynb") for leak in leaks)


def test_release_check(hw5):
    """cs330 check hw5_transfer: in sync, reference 37/37, starter 0, deterministic, no leaks."""
    results = run_check(hw5)
    assert all(r.ok for r in results), [(r.name, r.detail) for r in results if not r.ok]


def test_questions_list_is_built(hw5):
    """cs330 build writes the manual questions (golden/questions.json) from the reference notebook."""
    listed = json.loads((hw5.golden_dir / "questions.json").read_text())
    assert [q["id"] for q in listed["questions"]] == ["q1", "q2", "q3", "q4", "q5"]
    assert listed["total_points"] == 10


@pytest.mark.parametrize("content, message, in_report", [
    ('{"cells": [', "its JSON is broken", "its JSON is broken"),
    ('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "no code cell tagged 'graded'",
     "No answer"),
])
def test_bad_notebook_fails_every_test_clearly(hw5, tmp_path, content, message, in_report):
    """Invalid or graded-cell-free notebooks: each test fails with the reason, no grader error."""
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "transfer.ipynb").write_text(content)
    results = grade(hw5, folder, tmp_path / "out" / "results.json", scope="public")
    tests = by_nodeid(results)
    assert tests and all(t["score"] == 0 and message in t["output"] for t in tests.values())
    assert not results["extra_data"].get("grader_errors")
    assert in_report in (tmp_path / "out" / "report.html").read_text()


def test_notebook_becomes_the_module_the_sandbox_imports(tmp_path):
    """submitted_modules: a notebook becomes transfer.py; a missing or broken one becomes a problem."""
    good = tmp_path / "good.ipynb"
    good.write_text(nbformat.writes(toy_notebook()))
    files, problems = submitted_modules({"transfer.ipynb": good}, ("transfer.ipynb",), tmp_path)
    assert list(files) == ["transfer.py"] and not problems and "def double" in files["transfer.py"].read_text()
    files, problems = submitted_modules({}, ("transfer.ipynb",), tmp_path)
    assert not files and "transfer.ipynb is missing from your submission" in problems["transfer.py"]
    (tmp_path / "bad.ipynb").write_text("{")
    files, problems = submitted_modules({"transfer.ipynb": tmp_path / "bad.ipynb"}, ("transfer.ipynb",), tmp_path)
    assert not files and "JSON is broken" in problems["transfer.py"]


def test_pretrained_encoder_is_hw2s(hw5):
    """pretrained_encoder.pt beside the notebook is exactly hw2's pretrained encoder."""
    candidates = [REPO_ROOT / "starter_code/hw2_finetune/pretrained_encoder.pt",
                  REPO_ROOT / "solutions/hw2_finetune/pretrained_encoder.pt"]
    hw2 = next((p for p in candidates if p.is_file()), None)
    if hw2 is None:
        pytest.skip("hw2_finetune's pretrained_encoder.pt is not built")
    assert (hw5.solution_dir / "pretrained_encoder.pt").read_bytes() == hw2.read_bytes()
    assert (hw5.starter_dir / "pretrained_encoder.pt").read_bytes() == hw2.read_bytes()


def execute(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    """Execute folder's transfer.ipynb with the TINY settings in a scratch copy; return it executed."""
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the kernel inherits it: one torch thread
    work = tmp_path / "work"
    work.mkdir()
    for name in ("transfer.ipynb", "transfer_lab.py", "pretrained_encoder.pt"):
        shutil.copy(folder / name, work / name)
    notebook = nbformat.read(work / "transfer.ipynb", as_version=4)
    setup = next(c for c in notebook.cells if c.get("id") == "setup")
    setup.source += f"\nCFG.update({TINY!r})"
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(work)}}).execute()
    return notebook


def errors(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """Cell id -> exception name of the cells whose execution failed."""
    return {c.id: o["ename"] for c in notebook.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"}


@needs_data
def test_untouched_starter_runs_its_non_todo_cells(hw5, tmp_path, monkeypatch):
    """The student notebook runs in Jupyter: only the cells that call TODO functions fail, with
    NotImplementedError; set-up, graded definitions and training cells run."""
    notebook = execute(hw5.starter_dir, tmp_path, monkeypatch)
    failed = errors(notebook)
    assert set(failed.values()) == {"NotImplementedError"}, failed
    assert set(failed) == {"exp-blocks", "exp-barriers", "exp-soups", "exp-criticality", "exp-powerlaw"}


@needs_data
def test_cs330_train_runs_the_reference_notebook(hw5, tmp_path):
    """`cs330 train hw5_transfer solutions/hw5_transfer -- --config TINY`: the reference notebook runs end
    to end; the executed notebook has an image in every plot cell; report.html and figures.json exist."""
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    out = tmp_path / "out"
    cmd = [str(Path(sys.executable).with_name("cs330")), "train", HW, str(hw5.solution_dir), "--",
           "--config", json.dumps(TINY), "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    notebook = nbformat.read(out / "transfer.executed.ipynb", as_version=4)
    assert errors(notebook) == {}
    plots = [c for c in notebook.cells if "plot" in c.metadata.get("tags", [])]
    assert len(plots) == 5
    assert all(any("image/png" in o.get("data", {}) for o in c.outputs) for c in plots)
    figures = json.loads((out / "figures.json").read_text())
    assert set(figures) >= {"block_shuffling", "barriers", "soups", "criticality", "power_law"}
    assert figures["quick"] is True and set(figures["block_shuffling"]) == {"28", "1"}
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 5 and page.count("<h4>Answer</h4>") == 5
