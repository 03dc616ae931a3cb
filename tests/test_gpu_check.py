"""tests/gpu_check.py: its machinery on the CPU here, the real check wherever CUDA exists."""

from __future__ import annotations

import pytest
import torch

import gpu_check
from autograder.assignment import load_assignment


def test_reference_on_cpu_in_process_matches_golden():
    """In-process on the CPU, every golden comparison of hw4 is recorded and within tolerance."""
    code, rows = gpu_check.run_assignment("hw4_protonet", "cpu")
    assert code == 0, "a golden comparison failed in-process on the CPU"
    golden = load_assignment("hw4_protonet").golden_dir
    keys = sum(len(torch.load(p, weights_only=True)) for p in golden.glob("*.pt"))
    assert len(rows) == keys
    assert all(0.0 <= row["max_abs_dev"] < float("inf") for row in rows)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU here: grading runs on the CPU")
def test_reference_on_cuda_matches_cpu_golden():
    """On CUDA the reference agrees with the CPU golden data within the tests' tolerances."""
    code, rows = gpu_check.run_assignment("hw4_protonet", "cuda")
    assert code == 0 and rows


def test_script_skips_cleanly_without_the_device(capsys):
    """Where the device is missing the script says so and exits 0."""
    if torch.cuda.is_available():
        pytest.skip("a GPU exists here")
    assert gpu_check.main(["--device", "cuda"]) == 0
    assert "skipped" in capsys.readouterr().out
