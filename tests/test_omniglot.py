"""Tests for autograder.omniglot on the real data in ../shared/data/omniglot (skipped when it is absent)."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder import omniglot
from autograder.omniglot import (
    OmniglotCharacters,
    class_pool,
    download_omniglot,
    load_characters,
    split_characters,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "omniglot"
SHA256 = {  # from ../shared/data/omniglot/README.md
    "images_background.zip": "7a4cae547f16207901bd3acaabd866c1dbbef4d559dff26d797dbc6423a64a1e",
    "images_evaluation.zip": "d84af890b3ea334eca90f1cb04c6111603a1b620d66b82f86414b8707fbd0e8d",
}
SMALL1_ALPHABETS = {"Balinese", "Early_Aramaic", "Greek", "Korean", "Latin"}
SMALL2_ALPHABETS = {"Greek", "Japanese_(katakana)", "Latin", "Sanskrit", "Tagalog"}

needs_data = pytest.mark.skipif(
    not DATA_DIR.is_dir(), reason=f"Omniglot data not found at {DATA_DIR} (the shared data folder)"
)


def zip_ids(name: str) -> set[int]:
    """Global character ids found in one shared zip, read straight from its file names."""
    with zipfile.ZipFile(DATA_DIR / name) as archive:
        return {int(Path(n).name[:4]) for n in archive.namelist() if n.endswith(".png")}


@pytest.fixture(scope="module")
def eval_npz() -> OmniglotCharacters:
    return load_characters(DATA_DIR, source="npz", subsets=("images_evaluation",))


@pytest.fixture(scope="module")
def eval_zip() -> OmniglotCharacters:
    return load_characters(DATA_DIR, source="zip", subsets=("images_evaluation",))


@needs_data
def test_npz_and_zip_give_identical_characters(
    eval_npz: OmniglotCharacters, eval_zip: OmniglotCharacters
) -> None:
    for chars in (eval_npz, eval_zip):
        assert chars.images.shape == (659, 20, 28, 28)
        assert chars.images.dtype == torch.float32
        assert chars.character_ids.dtype == torch.int64
        assert torch.equal(chars.character_ids, torch.arange(965, 1624))
        assert chars.images.min() >= 0.0 and chars.images.max() <= 1.0
        assert chars.images.max() == 1.0  # some 28x28 pixels are fully covered by ink
        assert 0.02 < chars.images.mean() < 0.2  # ink = 1 on mostly-paper (= 0) images
    assert torch.equal(eval_npz.images, eval_zip.images)  # bitwise
    assert eval_npz.alphabets is None
    assert eval_zip.alphabets is not None and len(eval_zip.alphabets) == 659
    assert len(set(eval_zip.alphabets)) == 20


@needs_data
def test_sample_matches_its_png(eval_zip: OmniglotCharacters) -> None:
    with zipfile.ZipFile(DATA_DIR / "images_evaluation.zip") as archive:
        name = next(n for n in archive.namelist() if n.endswith("/1000_07.png"))
        from PIL import Image

        paper = np.asarray(Image.open(io.BytesIO(archive.read(name))))
    ink = torch.from_numpy(~paper).float()[None, None]
    expected = F.adaptive_avg_pool2d(ink, 28)[0, 0]
    row = int((eval_zip.character_ids == 1000).nonzero())
    assert torch.equal(eval_zip.images[row, 6], expected)  # drawer 07 is column 6
    assert eval_zip.alphabets is not None and eval_zip.alphabets[row] == name.split("/")[1]


@needs_data
def test_full_dataset_from_npz() -> None:
    chars = load_characters(DATA_DIR)  # auto: npz for both subsets
    assert chars.images.shape == (1623, 20, 28, 28)
    assert torch.equal(chars.character_ids, torch.arange(1, 1624))
    splits = split_characters(len(chars.character_ids))
    assert sum(len(s) for s in splits.values()) == 1623


@needs_data
def test_small_subsets_merge_without_duplicates() -> None:
    ids1, ids2 = zip_ids("images_background_small1.zip"), zip_ids("images_background_small2.zip")
    assert (len(ids1), len(ids2)) == (136, 156) and ids1 & ids2  # Greek and Latin overlap
    merged = load_characters(DATA_DIR, subsets=("images_background_small1", "images_background_small2"))
    assert len(merged.character_ids) == 136 + 156 - len(ids1 & ids2) == len(ids1 | ids2)
    assert merged.character_ids.tolist() == sorted(ids1 | ids2)
    assert merged.alphabets is not None and set(merged.alphabets) == SMALL1_ALPHABETS | SMALL2_ALPHABETS
    small1 = load_characters(DATA_DIR, source="zip", subsets=("images_background_small1",))
    rows = torch.isin(merged.character_ids, small1.character_ids)
    assert torch.equal(merged.images[rows], small1.images)


@needs_data
def test_unpacked_folder_matches_zip(tmp_path: Path) -> None:
    with zipfile.ZipFile(DATA_DIR / "images_background_small2.zip") as archive:
        archive.extractall(tmp_path)
    folder = load_characters(tmp_path, image_size=20, subsets=("images_background_small2",))  # auto: folder
    from_zip = load_characters(DATA_DIR, image_size=20, source="zip", subsets=("images_background_small2",))
    assert folder.images.shape == (156, 20, 20, 20)
    assert torch.equal(folder.images, from_zip.images)
    assert torch.equal(folder.character_ids, from_zip.character_ids)
    assert folder.alphabets == from_zip.alphabets


@needs_data
def test_bad_source_requests() -> None:
    with pytest.raises(ValueError, match="source"):
        load_characters(DATA_DIR, source="hdf5")
    with pytest.raises(ValueError, match="use source='zip'"):
        load_characters(DATA_DIR, source="npz", subsets=("images_background_small1",))
    with pytest.raises(FileNotFoundError, match="images_background_small1/"):
        load_characters(DATA_DIR, source="folder", subsets=("images_background_small1",))


def test_missing_data_dir_says_what_to_do(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as info:
        load_characters(missing)
    message = str(info.value)
    assert "cs330 data omniglot" in message and "--data-dir" in message and str(missing) in message
    with pytest.raises(FileNotFoundError, match="cs330 data omniglot") as info:
        load_characters(tmp_path)  # exists but empty
    assert "images_background.npz" in str(info.value) and str(tmp_path) in str(info.value)


def test_default_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CS330_DATA_DIR", raising=False)
    assert omniglot.default_data_dir() == DATA_DIR
    monkeypatch.setenv("CS330_DATA_DIR", str(tmp_path))
    assert omniglot.default_data_dir() == tmp_path


def test_course_split() -> None:
    splits = split_characters(1623)
    assert {k: len(v) for k, v in splits.items()} == {"train": 1100, "val": 100, "test": 423}
    joined = torch.cat(list(splits.values()))
    assert torch.equal(torch.sort(joined).values, torch.arange(1623))  # disjoint and covering
    for rows in splits.values():
        assert rows.dtype == torch.int64 and torch.equal(rows, torch.sort(rows).values)
    again = split_characters(1623, seed=0)
    assert all(torch.equal(splits[k], again[k]) for k in splits)
    other = split_characters(1623, seed=1)
    assert not torch.equal(splits["test"], other["test"])


def test_paper_and_proportional_splits() -> None:
    paper = split_characters(1623, protocol="paper", seed=3)
    assert {k: len(v) for k, v in paper.items()} == {"train": 1100, "val": 100, "test": 423}
    assert len(torch.cat([paper["train"], paper["val"]]).unique()) == 1200
    small = split_characters(292, protocol="course")
    assert sum(len(v) for v in small.values()) == 292 and all(len(v) > 0 for v in small.values())
    assert len(torch.cat(list(small.values())).unique()) == 292
    assert len(split_characters(292, protocol="paper")["test"]) == 292 - round(292 * 1200 / 1623)
    with pytest.raises(ValueError, match="protocol"):
        split_characters(1623, protocol="vinyals")


@needs_data
def test_class_pool(eval_npz: OmniglotCharacters) -> None:
    rows = torch.tensor([3, 10, 42])
    images, class_ids = class_pool(eval_npz, rows)
    assert images.shape == (60, 1, 28, 28) and images.dtype == torch.float32
    assert torch.equal(class_ids, torch.arange(3).repeat_interleave(20))
    assert torch.equal(images[20 + 5, 0], eval_npz.images[10, 5])

    images, class_ids = class_pool(eval_npz, rows, rotations=True)
    assert images.shape == (240, 1, 28, 28)
    assert torch.equal(class_ids, torch.arange(12).repeat_interleave(20))
    for i, row in enumerate(rows.tolist()):
        for k in range(4):
            chosen = images[class_ids == 4 * i + k, 0]
            assert torch.equal(chosen, torch.rot90(eval_npz.images[row], k, dims=(-2, -1)))
    assert not torch.equal(images[20, 0], images[0, 0])  # a rotated class differs from the upright one


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, format: str, *args: object) -> None:
        QuietHandler.requests.append(self.path)


@pytest.fixture
def server():
    QuietHandler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(DATA_DIR)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@needs_data
def test_download_verifies_and_skips(server: str, tmp_path: Path) -> None:
    checksums = {name: f"sha256:{digest}" for name, digest in SHA256.items()}
    paths = download_omniglot(tmp_path, base_url=server, checksums=checksums)
    assert paths == [tmp_path / name for name in SHA256]
    assert all(sha256(tmp_path / name) == digest for name, digest in SHA256.items())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(SHA256)  # no .part left
    seen = len(QuietHandler.requests)
    assert seen == 2
    assert download_omniglot(tmp_path, base_url=server, checksums=checksums, progress=False) == paths
    assert len(QuietHandler.requests) == seen  # already present and valid: nothing fetched


@needs_data
def test_download_md5_and_bad_checksum(server: str, tmp_path: Path) -> None:
    name = "images_background_small1.zip"
    md5 = hashlib.md5((DATA_DIR / name).read_bytes()).hexdigest()
    download_omniglot(tmp_path, base_url=server, checksums={name: f"md5:{md5}"}, progress=False)
    assert sha256(tmp_path / name) == sha256(DATA_DIR / name)

    other = "images_background_small2.zip"
    with pytest.raises(ValueError, match="checksum mismatch"):
        download_omniglot(tmp_path, base_url=server, checksums={other: "sha256:" + "0" * 64}, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # neither the file nor its .part
    (tmp_path / name).write_bytes(b"corrupt")
    download_omniglot(tmp_path, base_url=server, checksums={name: f"md5:{md5}"}, progress=False)
    assert sha256(tmp_path / name) == sha256(DATA_DIR / name)  # an invalid file is fetched again


@needs_data
def test_download_missing_file(server: str, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="could not download"):
        download_omniglot(tmp_path, base_url=server, checksums={"absent.zip": "md5:" + "0" * 32},
                          progress=False)
    assert list(tmp_path.iterdir()) == []


@needs_data
def test_cs330_data_omniglot_downloads_from_a_mirror(server: str, tmp_path: Path) -> None:
    """`cs330 data omniglot` fetches and verifies the zips; a wrong checksum exits 2 with a message."""
    import subprocess
    import sys

    names = ("images_background.zip", "images_evaluation.zip")
    args = [sys.executable, "-m", "autograder.cli", "data", "omniglot", "--dest", str(tmp_path),
            "--base-url", server]
    good = subprocess.run(args + [f"--checksum={n}=sha256:{SHA256[n]}" for n in names],
                          capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stderr
    assert all(sha256(tmp_path / n) == SHA256[n] for n in names)
    bad = subprocess.run(args[:-2] + ["--dest", str(tmp_path / "bad"), "--base-url", server,
                                      "--checksum=images_background.zip=sha256:" + "0" * 64],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "checksum mismatch" in bad.stderr
    assert not (tmp_path / "bad" / "images_background.zip").exists()
