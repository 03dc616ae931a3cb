"""Grades never waver: the same submission gives byte-identical results.json apart from timing fields."""

from __future__ import annotations

import json

from autograder.check import without_timing
from autograder.grading import grade
from conftest import grade_source


def canonical(results: dict) -> str:
    """results.json text without timing fields, as written (sorted keys)."""
    return json.dumps(without_timing(results), indent=2, sort_keys=True)


def test_reference_five_times_identical(hw4, tmp_path):
    """Five gradings of the reference give the same bytes once timing fields are removed."""
    texts = {canonical(grade(hw4, hw4.solution_dir, tmp_path / f"r{i}.json")) for i in range(5)}
    assert len(texts) == 1


def test_random_student_code_is_seeded_per_call(hw4_fast, reference_source, tmp_path):
    """Code that uses torch's, numpy's and Python's global RNGs gets the same values on every run."""
    noisy = reference_source.replace(
        "    return one_hot.t() @ support_features / counts",
        "    import random\n    import numpy as np\n"
        "    noise = torch.rand(1).item() + np.random.rand() + random.random()\n"
        "    return one_hot.t() @ support_features / counts + noise * 1e-3")
    assert noisy != reference_source
    outputs = []
    for i in range(3):
        results = grade_source(hw4_fast, tmp_path / str(i), noisy, scope="public")
        outputs.append(canonical(results))
        assert results["tests"][0]["status"] == "failed"  # the noise is caught...
    assert len(set(outputs)) == 1  # ...the same way every time, down to the reported values
