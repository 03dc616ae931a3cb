"""hw2_finetune: release check, build artifacts (pretrained weights), support files, a tiny experiment."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
import zipfile

import pytest
import torch

from autograder.artifacts import ArtifactError, build_artifacts, stale_artifacts
from autograder.assignment import REPO_ROOT, load_assignment
from autograder.build import autograder_members, build, starter_in_sync, starter_members, write_starter
from autograder.check import run_check
from autograder.omniglot import default_data_dir

needs_data = pytest.mark.skipif(not (default_data_dir() / "images_background.npz").is_file(),
                                reason="Omniglot arrays not found (set CS330_DATA_DIR)")

ARTIFACT_MODULE = '''
import hashlib
from pathlib import Path

RECIPE = "v1"


def recipe_hash():
    """The recipe's hash."""
    return hashlib.sha256(RECIPE.encode()).hexdigest()


def stale_artifacts(folder):
    """Names missing or made by another recipe."""
    path = Path(folder) / "weights.pt"
    return [] if path.is_file() and path.read_text() == recipe_hash() else ["weights.pt"]


def build_artifacts(folder):
    """Write weights.pt (its content is the recipe hash)."""
    path = Path(folder) / "weights.pt"
    if stale_artifacts(folder):
        path.write_text(recipe_hash())
    return [path]
'''


@pytest.fixture(scope="module")
def hw2():
    """hw2_finetune as configured in this repository."""
    return load_assignment("hw2_finetune", REPO_ROOT)


@pytest.fixture
def toy(tmp_path):
    """A made-up assignment whose provided module make.py builds weights.pt."""
    (tmp_path / "assignments/toyart/tests").mkdir(parents=True)
    (tmp_path / "solutions/toyart").mkdir(parents=True)
    (tmp_path / "assignments/toyart/assignment.toml").write_text(textwrap.dedent('''
        id = "toyart"
        title = "Toy with a build artifact"
        files = ["net.py"]
        [build]
        artifacts = "make.py"
    '''))
    (tmp_path / "assignments/toyart/tests/fixture.pt").write_bytes(b"fixture")
    (tmp_path / "solutions/toyart/net.py").write_text("def f():\n    return 1\n")
    (tmp_path / "solutions/toyart/make.py").write_text(ARTIFACT_MODULE)
    return load_assignment("toyart", tmp_path)


def test_release_check_passes(hw2):
    """`cs330 check hw2_finetune`: every requirement holds."""
    failed = [(c.name, c.detail) for c in run_check(hw2) if not c.ok]
    assert not failed, failed


def test_artifacts_built_then_current(toy):
    """build_artifacts writes the artifact; afterwards it is current and reaches starter, zip and sandbox."""
    assert stale_artifacts(toy) == ["weights.pt"]
    paths = build_artifacts(toy)
    assert [p.name for p in paths] == ["weights.pt"] and stale_artifacts(toy) == []
    write_starter(toy)
    assert starter_in_sync(toy) == []
    assert "weights.pt" in toy.support_files() and "net.py" not in toy.support_files()
    assert "starter_code/toyart/weights.pt" in autograder_members(toy)
    assert "toyart/tests/fixture.pt" in starter_members(toy)


def test_changed_recipe_is_reported_not_rebuilt(toy):
    """A changed recipe makes the starter out of sync (by recipe), without rebuilding the artifact."""
    build_artifacts(toy)
    write_starter(toy)
    module = toy.solution_dir / "make.py"
    module.write_text(module.read_text().replace('RECIPE = "v1"', 'RECIPE = "v2"'))
    stale = starter_in_sync(toy)
    assert "weights.pt (recipe changed)" in stale
    assert (toy.solution_dir / "weights.pt").read_text() != __import__("hashlib").sha256(b"v2").hexdigest()


def test_failing_artifact_module_is_an_error(toy):
    """A module whose build fails stops the build with the module named."""
    (toy.solution_dir / "make.py").write_text("def build_artifacts(folder):\n    raise FileNotFoundError('no data')\n")
    with pytest.raises(ArtifactError, match="make.py"):
        build_artifacts(toy)


def test_assignment_without_artifacts(tmp_path):
    """Assignments without [build] artifacts have none (hw4)."""
    hw4 = load_assignment("hw4_protonet", REPO_ROOT)
    assert stale_artifacts(hw4) == [] and build_artifacts(hw4) == []


def test_committed_weights_are_current_and_load(hw2):
    """The committed pretrained encoder matches the recipe, loads with weights_only, and is in both folders."""
    assert stale_artifacts(hw2) == []
    sys.path.insert(0, str(hw2.solution_dir))
    try:
        import pretrain
        encoder = pretrain.load_pretrained_encoder()
    finally:
        sys.path.remove(str(hw2.solution_dir))
        for name in ("pretrain", "classifier", "model"):
            sys.modules.pop(name, None)  # hw4 has its own model.py
    assert sum(p.numel() for p in encoder.parameters()) == 111_936
    meta = json.loads((hw2.solution_dir / "pretrained_encoder.json").read_text())
    assert set(meta) >= {"recipe", "source_accuracy", "torch"} and meta["source_accuracy"] > 0.3
    for name in ("pretrained_encoder.pt", "pretrained_head.pt"):
        assert (hw2.starter_dir / name).read_bytes() == (hw2.solution_dir / name).read_bytes()
        assert name in hw2.support_files()
    state = torch.load(hw2.starter_dir / "pretrained_encoder.pt", weights_only=True)
    assert "blocks.0.0.weight" in state


@needs_data
def test_short_experiment(tmp_path):
    """`cs330 train hw2_finetune solutions/hw2_finetune` at a tiny size writes its table, CSV, PNG and JSON."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "autograder.cli", "train", "hw2_finetune", "solutions/hw2_finetune", "--",
           "--seeds", "2", "--n-way", "3", "--shots", "1", "--shift-shots", "1", "--epochs", "1",
           "--methods", "scratch,lp_ft", "--out", str(out), "--no-progress"]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(out / "results.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["target"], r["method"]) for r in rows} == {
        (t, m) for t in ("new-alphabets", "shift-invert") for m in ("scratch", "lp_ft")
    } | {("shift-invert", "source_model")}
    assert all(r["n_seeds"] == "2" and 0 <= float(r["mean_acc"]) <= 1 for r in rows)
    assert (out / "accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| lp_ft |" in (out / "table.md").read_text() and "| lp_ft |" in proc.stdout
    assert json.loads((out / "results.json").read_text())["settings"]["n_way"] == 3


def test_zips_carry_weights_and_fixture(hw2, tmp_path):
    """The autograder zip has the weights for the sandbox; the starter zip has the public tests' fixture."""
    zips = build(hw2, tmp_path, golden=False)
    auto = set(zipfile.ZipFile(zips["autograder"]).namelist())
    starter = set(zipfile.ZipFile(zips["starter"]).namelist())
    assert "starter_code/hw2_finetune/pretrained_encoder.pt" in auto
    assert "assignments/hw2_finetune/tests/target_episode.pt" in auto
    assert "hw2_finetune/tests/target_episode.pt" in starter and "hw2_finetune/pretrained_encoder.pt" in starter
    assert not any("hidden" in n for n in starter)
