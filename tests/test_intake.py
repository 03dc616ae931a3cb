"""autograder.intake: taking only the wanted files from a submission folder or zip, safely."""

from __future__ import annotations

import os
import stat
import uuid
import zipfile
from pathlib import Path

import pytest

from autograder.intake import MAX_FILE_BYTES, take_in

WANTED = ("protonet.py", "model.py")


def make_tree(root: Path, files: dict[str, bytes | str]) -> Path:
    """Create files (relative path -> content) under root."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return root


def make_zip(path: Path, members: dict[str, bytes | str], compression=zipfile.ZIP_DEFLATED) -> Path:
    """Create a zip with the given member names (used verbatim, '..' and '/' included)."""
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, content in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            zf.writestr(info, content)
    return path


def listing(folder: Path) -> set[str]:
    """Every path under folder, relative, including directories."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_flat_folder(tmp_path):
    """Wanted files are copied from a folder; nothing else is, and no problems are reported."""
    sub = make_tree(tmp_path / "sub", {"protonet.py": "A = 1\n", "model.py": b"B = 2\n",
                                       "notes.txt": "x", "data/big.npy": "y"})
    dest = tmp_path / "dest"
    intake = take_in(sub, WANTED, dest)
    assert intake.problems == []
    assert intake.found == {"protonet.py": dest / "protonet.py", "model.py": dest / "model.py"}
    assert (dest / "protonet.py").read_text() == "A = 1\n"
    assert (dest / "model.py").read_bytes() == b"B = 2\n"
    assert listing(dest) == {"protonet.py", "model.py"}


def test_nested_folder_files_found_at_any_depth(tmp_path):
    """Files nested in sub-folders are found by name and written flat."""
    sub = make_tree(tmp_path / "sub", {"hw4/code/protonet.py": "P\n", "a/b/c/d/model.py": "M\n"})
    dest = tmp_path / "dest"
    intake = take_in(sub, WANTED, dest)
    assert intake.problems == []
    assert (dest / "protonet.py").read_text() == "P\n" and (dest / "model.py").read_text() == "M\n"
    assert listing(dest) == {"protonet.py", "model.py"}


def test_nested_folder_shallowest_wins_and_duplicates_reported(tmp_path):
    """With several files of one name, the shallowest is graded and a problem names it."""
    sub = make_tree(tmp_path / "sub", {"hw/old/protonet.py": "deep\n", "hw/protonet.py": "shallow\n",
                                       "zzz/protonet.py": "other\n", "model.py": "M\n"})
    dest = tmp_path / "dest"
    intake = take_in(sub, WANTED, dest)
    assert (dest / "protonet.py").read_text() == "shallow\n"
    assert len(intake.problems) == 1
    problem = intake.problems[0]
    assert "several files" in problem and "protonet.py" in problem and "hw/protonet.py" in problem
    assert "model.py" in intake.found


def test_editor_and_os_junk_folders_are_ignored(tmp_path):
    """Copies under __pycache__, .ipynb_checkpoints or __MACOSX are not graded nor counted."""
    sub = make_tree(tmp_path / "sub", {
        ".ipynb_checkpoints/protonet.py": "checkpoint\n", "__MACOSX/protonet.py": "junk\n",
        "__pycache__/model.py": "cache\n", "work/protonet.py": "real\n",
    })
    dest = tmp_path / "dest"
    intake = take_in(sub, WANTED, dest)
    assert (dest / "protonet.py").read_text() == "real\n"
    assert intake.problems == ["model.py is missing from the submission"]
    assert "model.py" not in intake.found and not (dest / "model.py").exists()


def test_zip_flat(tmp_path):
    """A zip holding the files at its root is taken in."""
    archive = make_zip(tmp_path / "s.zip", {"protonet.py": "P\n", "model.py": "M\n", "README": "r"})
    dest = tmp_path / "dest"
    intake = take_in(archive, WANTED, dest)
    assert intake.problems == []
    assert (dest / "protonet.py").read_text() == "P\n" and (dest / "model.py").read_text() == "M\n"
    assert listing(dest) == {"protonet.py", "model.py"}


def test_zip_with_top_folder_and_macosx_junk(tmp_path):
    """A zip of the enclosing folder, with macOS resource forks, gives the real files only."""
    archive = make_zip(tmp_path / "s.zip", {
        "my_hw/": "", "my_hw/protonet.py": "P\n", "my_hw/model.py": "M\n",
        "__MACOSX/my_hw/._protonet.py": "\x00\x05junk", "__MACOSX/protonet.py": "junk\n",
        "__MACOSX/my_hw/model.py": "junk\n",
    })
    dest = tmp_path / "dest"
    intake = take_in(archive, WANTED, dest)
    assert intake.problems == []
    assert (dest / "protonet.py").read_text() == "P\n" and (dest / "model.py").read_text() == "M\n"
    assert listing(dest) == {"protonet.py", "model.py"}


def test_zip_shallowest_wins(tmp_path):
    """In a zip too, the shallowest copy is graded and the duplicate is reported."""
    archive = make_zip(tmp_path / "s.zip", {"a/b/protonet.py": "deep\n", "a/protonet.py": "top\n",
                                            "model.py": "M\n"})
    intake = take_in(archive, WANTED, tmp_path / "dest")
    assert (tmp_path / "dest" / "protonet.py").read_text() == "top\n"
    assert any("several files" in p and "a/protonet.py" in p for p in intake.problems)


def test_zip_path_traversal_and_absolute_members_write_nothing_outside(tmp_path):
    """`../` and absolute member names never write outside dest; only wanted names are written."""
    outside = Path("/tmp") / f"cs330-intake-{uuid.uuid4().hex}"
    archive = make_zip(tmp_path / "evil.zip", {
        "../evil.py": "evil\n",
        "../../../../../../tmp/escaped.py": "evil\n",
        f"{outside}/protonet.py": "absolute\n",
        "../model.py": "dotdot\n",
        "/etc/cron.d/evil": "* * * * * root rm -rf /\n",
    })
    assert "../evil.py" in zipfile.ZipFile(archive).namelist()
    box = tmp_path / "box"
    dest = box / "dest"
    dest.mkdir(parents=True)
    before_tmp = set(os.listdir("/tmp"))
    intake = take_in(archive, WANTED, dest)
    assert listing(box) == {"dest", "dest/protonet.py", "dest/model.py"}
    assert (dest / "protonet.py").read_text() == "absolute\n"  # taken by name, written flat
    assert (dest / "model.py").read_text() == "dotdot\n"
    assert set(intake.found) == {"protonet.py", "model.py"}
    assert not outside.exists()
    assert not (tmp_path / "evil.py").exists() and not (tmp_path.parent / "evil.py").exists()
    assert not Path("/etc/cron.d/evil").exists()
    assert not (set(os.listdir("/tmp")) - before_tmp) & {"escaped.py", "evil.py"}


def test_zip_symlink_member_is_not_followed(tmp_path):
    """A zip member stored as a symlink to /etc/passwd yields the link text, never the target."""
    info = zipfile.ZipInfo("protonet.py")
    info.create_system = 3  # unix
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(tmp_path / "link.zip", "w") as zf:
        zf.writestr(info, "/etc/passwd")
    dest = tmp_path / "dest"
    take_in(tmp_path / "link.zip", ("protonet.py",), dest)
    target = dest / "protonet.py"
    assert not target.is_symlink()
    assert "root:" not in target.read_text()


def test_missing_file_is_a_problem_naming_it(tmp_path):
    """A wanted file that is absent is reported by name; the others are still taken."""
    sub = make_tree(tmp_path / "sub", {"model.py": "M\n", "protonet_v2.py": "close but no\n"})
    dest = tmp_path / "dest"
    intake = take_in(sub, WANTED, dest)
    assert intake.problems == ["protonet.py is missing from the submission"]
    assert list(intake.found) == ["model.py"]
    assert listing(dest) == {"model.py"}


def test_empty_zip_reports_every_file_missing(tmp_path):
    """A zip without the files reports each one as missing."""
    archive = make_zip(tmp_path / "s.zip", {"other.txt": "x"})
    intake = take_in(archive, WANTED, tmp_path / "dest")
    assert intake.found == {}
    assert sorted(intake.problems) == ["model.py is missing from the submission",
                                       "protonet.py is missing from the submission"]


def test_oversize_file_in_folder_is_a_problem_and_not_written(tmp_path):
    """A file over MAX_FILE_BYTES is reported and not copied; one at the limit is fine."""
    sub = make_tree(tmp_path / "sub", {"protonet.py": b"#" * (MAX_FILE_BYTES + 1),
                                       "model.py": b"#" * MAX_FILE_BYTES})
    dest = tmp_path / "dest"
    intake = take_in(sub, WANTED, dest)
    assert len(intake.problems) == 1 and "protonet.py" in intake.problems[0]
    assert "larger" in intake.problems[0]
    assert not (dest / "protonet.py").exists() and "protonet.py" not in intake.found
    assert (dest / "model.py").stat().st_size == MAX_FILE_BYTES


def test_oversize_compressed_member_is_a_problem(tmp_path):
    """A small zip member that inflates past MAX_FILE_BYTES (a zip bomb) is refused."""
    archive = make_zip(tmp_path / "bomb.zip", {"protonet.py": b"\0" * (4 * MAX_FILE_BYTES), "model.py": "M\n"})
    assert archive.stat().st_size < MAX_FILE_BYTES // 10
    dest = tmp_path / "dest"
    intake = take_in(archive, WANTED, dest)
    assert any("protonet.py" in p and "larger" in p for p in intake.problems)
    assert not (dest / "protonet.py").exists()
    assert (dest / "model.py").read_text() == "M\n"


def test_symlink_to_system_file_in_folder_is_not_followed(tmp_path):
    """A symlink named like a wanted file (to /etc/passwd) is ignored: reported missing, not copied."""
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "protonet.py").symlink_to("/etc/passwd")
    (sub / "etc").symlink_to("/etc", target_is_directory=True)
    make_tree(sub, {"model.py": "M\n"})
    dest = tmp_path / "dest"
    intake = take_in(sub, ("protonet.py", "model.py", "passwd"), dest)
    assert "protonet.py is missing from the submission" in intake.problems
    assert "passwd is missing from the submission" in intake.problems  # not found through etc -> /etc
    assert listing(dest) == {"model.py"}


def test_single_wanted_file_submitted_directly(tmp_path):
    """Submitting the wanted file itself (not in a folder or zip) works."""
    file = make_tree(tmp_path / "up", {"protonet.py": "P\n"}) / "protonet.py"
    intake = take_in(file, WANTED, tmp_path / "dest")
    assert intake.found == {"protonet.py": tmp_path / "dest" / "protonet.py"}
    assert intake.problems == ["model.py is missing from the submission"]


@pytest.mark.parametrize("kind", ["missing", "text-file", "fake-zip"])
def test_neither_folder_nor_zip_is_a_problem(tmp_path, kind):
    """A path that is not a folder, a zip or a wanted file gives one problem and takes nothing."""
    path = tmp_path / {"missing": "nothing-here", "text-file": "answers.txt", "fake-zip": "sub.zip"}[kind]
    if kind != "missing":
        path.write_text("def f(): pass\n")
    dest = tmp_path / "dest"
    intake = take_in(path, WANTED, dest)
    assert intake.found == {}
    assert intake.problems == [f"{path} is neither a folder nor a zip file"]
    assert listing(dest) == set()


ZIP_BUG = ("BUG intake.take_in: a damaged or encrypted zip member raises out of take_in "
           "(zipfile.BadZipFile / RuntimeError), so grade() crashes and no results.json is written")


def test_corrupted_zip_member_is_a_problem(tmp_path):
    """A member whose data fails its CRC check is reported as a problem, not an exception."""
    archive = make_zip(tmp_path / "s.zip", {"protonet.py": "x = 1\n" * 20, "model.py": "M\n"},
                       compression=zipfile.ZIP_STORED)
    data = bytearray(archive.read_bytes())
    data[data.find(b"x = 1")] = ord("y")
    archive.write_bytes(bytes(data))
    intake = take_in(archive, WANTED, tmp_path / "dest")
    assert any("protonet.py" in p for p in intake.problems)
    assert (tmp_path / "dest" / "model.py").read_text() == "M\n"


def test_encrypted_zip_member_is_a_problem(tmp_path):
    """A password-protected member is reported as a problem, not an exception."""
    archive = make_zip(tmp_path / "s.zip", {"protonet.py": "x = 1\n", "model.py": "M\n"},
                       compression=zipfile.ZIP_STORED)
    data = bytearray(archive.read_bytes())
    local, central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    data[local + 6] |= 1  # general purpose flag bit 0: encrypted
    data[central + 8] |= 1
    archive.write_bytes(bytes(data))
    intake = take_in(archive, WANTED, tmp_path / "dest")
    assert any("protonet.py" in p for p in intake.problems)
