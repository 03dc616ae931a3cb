"""Take in a submission (a folder or a zip) safely: only the files the assignment asks for.

Files are found by name anywhere in the folder or zip (students often zip the enclosing folder),
read with a size cap, and written flat into the grader's scratch folder. Nothing else from the
submission is extracted, so zip tricks (absolute paths, `..`, links, bombs) have no effect.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILE_BYTES = 5 << 20
IGNORED_PARTS = ("__MACOSX", ".ipynb_checkpoints", "__pycache__")


@dataclass
class Intake:
    """The files taken from a submission and what was wrong with it."""

    found: dict[str, Path] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _candidates(names: list[str], wanted: str) -> list[str]:
    """Member names whose file name is wanted, shallowest first."""
    hits = [n for n in names if n.rsplit("/", 1)[-1] == wanted
            and not any(part in n.split("/") for part in IGNORED_PARTS)]
    return sorted(hits, key=lambda n: (n.count("/"), n))


def take_in(submission: Path, wanted: tuple[str, ...], dest: Path) -> Intake:
    """Copy each wanted file from the submission folder or zip into dest."""
    dest.mkdir(parents=True, exist_ok=True)
    intake = Intake()
    if submission.is_dir():
        members = {str(p.relative_to(submission)): p for p in submission.rglob("*")
                   if p.is_file() and not p.is_symlink()}
        read = lambda name: _read_capped(members[name].open("rb"))  # noqa: E731
        names = sorted(members)
    elif zipfile.is_zipfile(submission):
        try:
            archive = zipfile.ZipFile(submission)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            intake.problems.append(f"{submission.name} is not a readable zip file ({exc})")
            return intake
        infos = {i.filename: i for i in archive.infolist() if not i.is_dir()}
        read = lambda name: _read_capped(archive.open(infos[name]))  # noqa: E731
        names = sorted(infos)
    elif submission.is_file() and submission.name in wanted:
        members = {submission.name: submission}
        read = lambda name: _read_capped(members[name].open("rb"))  # noqa: E731
        names = [submission.name]
    else:
        intake.problems.append(f"{submission} is neither a folder nor a zip file")
        return intake
    for wanted_name in wanted:
        hits = _candidates(names, wanted_name)
        if not hits:
            intake.problems.append(f"{wanted_name} is missing from the submission")
            continue
        if len(hits) > 1:
            intake.problems.append(f"several files are named {wanted_name}; graded {hits[0]}")
        try:
            data = read(hits[0])
        except (zipfile.BadZipFile, RuntimeError, OSError, EOFError, ValueError) as exc:
            intake.problems.append(f"could not read {hits[0]} from the submission "
                                   f"(damaged or encrypted?): {exc}")
            continue
        if data is None:
            intake.problems.append(f"{wanted_name} is larger than {MAX_FILE_BYTES >> 20} MB; not graded")
            continue
        (dest / wanted_name).write_bytes(data)
        intake.found[wanted_name] = dest / wanted_name
    return intake


def _read_capped(handle) -> bytes | None:
    """Read at most MAX_FILE_BYTES; None when the file is larger."""
    with handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    return None if len(data) > MAX_FILE_BYTES else data
