"""Build artifacts of an assignment: files a provided module makes (e.g. pretrained weights), committed.

assignment.toml may name a provided module of solutions/<hw>/ under `[build] artifacts = "pretrain.py"`.
That module defines `build_artifacts(folder: Path) -> list[Path]` (make the files in folder current,
reusing a cache, and return them) and `stale_artifacts(folder: Path) -> list[str]` (the names that are
missing or made by another recipe; empty when current). Both run in a child process, in the solution
folder, so the module's imports (`from model import ...`) and thread settings stay out of this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from autograder.assignment import Assignment

_RUNNER = """
import json, sys
from pathlib import Path
module = __import__(sys.argv[1])
folder = Path(sys.argv[3])
if sys.argv[2] == "build":
    result = [str(p) for p in module.build_artifacts(folder)]
else:
    result = list(module.stale_artifacts(folder))
print("CS330-ARTIFACTS " + json.dumps(result))
"""


class ArtifactError(RuntimeError):
    """The artifact module failed, or gave an answer that is not what the protocol expects."""


def artifact_module(assignment: Assignment) -> str | None:
    """The provided module named by `[build] artifacts` (e.g. "pretrain.py"), or None."""
    name = assignment.extra.get("build", {}).get("artifacts")
    if name is None:
        return None
    if not isinstance(name, str) or not name.endswith(".py") or "/" in name:
        raise ArtifactError(f"[build] artifacts must name a .py file of solutions/{assignment.id}/, got {name!r}")
    return name


def _run(assignment: Assignment, action: str, module: str) -> list[str]:
    """Run build_artifacts or stale_artifacts of the module on the solution folder; return its answer."""
    folder = assignment.solution_dir
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(folder), str(assignment.root), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", _RUNNER, module[:-3], action, str(folder)],
                          cwd=folder, env=env, stdout=subprocess.PIPE, stderr=None if action == "build"
                          else subprocess.PIPE, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("CS330-ARTIFACTS ")]
    if proc.returncode != 0 or not lines:
        detail = (proc.stderr or "")[-2000:]
        raise ArtifactError(f"{folder / module}: {action} failed (exit {proc.returncode}); see the log above. "
                            f"{detail}")
    return json.loads(lines[-1][len("CS330-ARTIFACTS "):])


def build_artifacts(assignment: Assignment) -> list[Path]:
    """Make the assignment's artifacts current in solutions/<hw>/ (no-op without `[build] artifacts`)."""
    module = artifact_module(assignment)
    return [Path(p) for p in _run(assignment, "build", module)] if module else []


def stale_artifacts(assignment: Assignment) -> list[str]:
    """Names of artifacts in solutions/<hw>/ that are missing or made by an older recipe (empty: current)."""
    module = artifact_module(assignment)
    return _run(assignment, "stale", module) if module else []
