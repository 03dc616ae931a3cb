"""Omniglot data: load the characters as tensors, split them by class, pool them, download the zips.

The data folder (see `default_data_dir`) holds any of three forms of each subset, all giving the same
tensors: `<subset>.npz` (bool arrays, True = paper), an unpacked `<subset>/` folder in the official
layout `<Alphabet>/characterNN/XXXX_YY.png`, or the official `<subset>.zip` with that folder inside.
XXXX is the 1-based global character index (1..1623) and YY the drawer (01..20).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import torch
import torch.nn.functional as F

log = logging.getLogger(__name__)

OFFICIAL_BASE_URL = "https://raw.githubusercontent.com/brendenlake/omniglot/master/python"
OFFICIAL_CHECKSUMS = {
    "images_background.zip": "md5:68d2efa1b9178cc56df9314c21c6e718",
    "images_evaluation.zip": "md5:6b91aef0f799c5bb55b94e3f2daec811",
}

_N_CHARACTERS = 1623
_N_DRAWERS = 20
_RAW_SIZE = 105
_NPZ_FIRST_ID = {"images_background": 1, "images_evaluation": 965}
_SOURCES = ("auto", "npz", "zip", "folder")
_CHUNK_CHARACTERS = 100  # characters resized at a time: 2,000 float images of 105x105, about 88 MB
_DOWNLOAD_BLOCK = 1 << 16
_PNG_NAME = re.compile(r"^(\d{4})_(\d{2})\.png$")
_COURSE_SIZES = {"train": 1100, "val": 100, "test": 423}
_PAPER_TRAIN_VAL = 1200


@dataclass
class OmniglotCharacters:
    """Omniglot characters as tensors: ink = 1.0, paper = 0.0, one row per character."""

    images: torch.Tensor  # float32 (C, 20, S, S)
    character_ids: torch.Tensor  # int64 (C,), 1-based global character index
    alphabets: list[str] | None  # alphabet name per character, None when the source lacks names


def default_data_dir() -> Path:
    """Return $CS330_DATA_DIR if set, else <repo root>/../shared/data/omniglot."""
    env = os.environ.get("CS330_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "omniglot"


def _missing_data_message(data_dir: Path, detail: str) -> str:
    """Return the error text for missing Omniglot files, saying what to do next."""
    return (
        f"Omniglot data not found in {data_dir}: {detail}. Pass --data-dir (or set CS330_DATA_DIR) "
        f"to the folder that holds images_background / images_evaluation as .npz, .zip or unpacked "
        f"folders, or run `cs330 data omniglot` to download the official zips there."
    )


def _resize_ink(paper: np.ndarray, image_size: int) -> torch.Tensor:
    """Turn bool (n, 20, 105, 105) paper masks into float32 ink images (n, 20, S, S) by area pooling."""
    ink = torch.from_numpy(np.ascontiguousarray(paper)).logical_not().to(torch.float32)
    n, drawers, height, width = ink.shape
    if image_size == height == width:
        return ink
    flat = ink.reshape(n * drawers, 1, height, width)
    return F.adaptive_avg_pool2d(flat, image_size).reshape(n, drawers, image_size, image_size)


def _resize_in_chunks(paper: np.ndarray, image_size: int) -> torch.Tensor:
    """Resize a (C, 20, 105, 105) paper array _CHUNK_CHARACTERS characters at a time."""
    out = torch.empty(len(paper), _N_DRAWERS, image_size, image_size, dtype=torch.float32)
    for start in range(0, len(paper), _CHUNK_CHARACTERS):
        stop = start + _CHUNK_CHARACTERS
        out[start:stop] = _resize_ink(paper[start:stop], image_size)
    return out


def _load_npz(path: Path, subset: str, image_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one full subset from its .npz: (images, character_ids)."""
    with np.load(path, allow_pickle=False) as arrays:
        paper = arrays["images"]
    if paper.dtype != np.bool_ or paper.ndim != 4 or paper.shape[1:] != (_N_DRAWERS, _RAW_SIZE, _RAW_SIZE):
        raise ValueError(f"{path}: expected bool images (C, 20, 105, 105), got {paper.dtype} {paper.shape}")
    first = _NPZ_FIRST_ID[subset]
    ids = torch.arange(first, first + len(paper), dtype=torch.int64)
    return _resize_in_chunks(paper, image_size), ids


def _index_png_paths(paths: list[str], where: str) -> dict[int, tuple[str, dict[int, str]]]:
    """Group `<Alphabet>/characterNN/XXXX_YY.png` paths by global id: {id: (alphabet, {drawer: path})}."""
    index: dict[int, tuple[str, dict[int, str]]] = {}
    for path in paths:
        parts = PurePosixPath(path).parts
        match = _PNG_NAME.match(parts[-1]) if len(parts) == 3 else None
        if match is None:
            continue
        char_id, drawer = int(match.group(1)), int(match.group(2))
        alphabet, drawings = index.setdefault(char_id, (parts[0], {}))
        if alphabet != parts[0] or drawer in drawings:
            raise ValueError(f"{where}: character {char_id:04d} drawer {drawer:02d} appears twice ({path})")
        drawings[drawer] = path
    for char_id, (_, drawings) in index.items():
        if sorted(drawings) != list(range(1, _N_DRAWERS + 1)):
            found = sorted(drawings)
            raise ValueError(f"{where}: character {char_id:04d} has drawers {found}, expected 1..20")
    return index


def _decode_png(data: bytes, where: str) -> np.ndarray:
    """Decode one Omniglot PNG into a bool (105, 105) paper mask (True = white paper)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        mask = np.asarray(image) if image.mode == "1" else np.asarray(image.convert("L")) >= 128
    if mask.shape != (_RAW_SIZE, _RAW_SIZE):
        raise ValueError(f"{where}: expected a 105x105 image, got {mask.shape}")
    return mask


def _load_pngs(
    index: dict[int, tuple[str, dict[int, str]]], read: Callable[[str], bytes], where: str, image_size: int
) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Decode and resize indexed PNGs chunk by chunk; `read(path)` returns a file's bytes."""
    ids = sorted(index)
    images = torch.empty(len(ids), _N_DRAWERS, image_size, image_size, dtype=torch.float32)
    for start in range(0, len(ids), _CHUNK_CHARACTERS):
        chunk = ids[start : start + _CHUNK_CHARACTERS]
        paper = np.empty((len(chunk), _N_DRAWERS, _RAW_SIZE, _RAW_SIZE), dtype=np.bool_)
        for row, char_id in enumerate(chunk):
            for drawer, path in index[char_id][1].items():
                paper[row, drawer - 1] = _decode_png(read(path), f"{where}:{path}")
        images[start : start + len(chunk)] = _resize_ink(paper, image_size)
    return images, torch.tensor(ids, dtype=torch.int64), [index[i][0] for i in ids]


def _load_zip(path: Path, subset: str, image_size: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Load one subset from its official zip (`<subset>/<Alphabet>/characterNN/XXXX_YY.png`)."""
    with zipfile.ZipFile(path) as archive:
        prefix = f"{subset}/"
        inner = [n[len(prefix) :] for n in archive.namelist() if n.startswith(prefix) and n.endswith(".png")]
        index = _index_png_paths(inner, str(path))
        if not index:
            raise ValueError(f"{path}: no {subset}/<Alphabet>/characterNN/XXXX_YY.png entries inside")
        return _load_pngs(index, lambda name: archive.read(prefix + name), str(path), image_size)


def _load_folder(root: Path, subset: str, image_size: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Load one subset from an unpacked folder `<root>/<Alphabet>/characterNN/XXXX_YY.png`."""
    inner = [p.relative_to(root).as_posix() for p in root.glob("*/*/*.png")]
    index = _index_png_paths(inner, str(root))
    if not index:
        raise ValueError(f"{root}: no <Alphabet>/characterNN/XXXX_YY.png files inside")
    return _load_pngs(index, lambda name: (root / name).read_bytes(), str(root), image_size)


def _pick_source(data_dir: Path, subset: str, source: str) -> str:
    """Choose npz, folder or zip for one subset (auto: the first that exists, in that order)."""
    exists = {
        "npz": subset in _NPZ_FIRST_ID and (data_dir / f"{subset}.npz").is_file(),
        "folder": (data_dir / subset).is_dir(),
        "zip": (data_dir / f"{subset}.zip").is_file(),
    }
    wanted = {"npz": f"{subset}.npz", "folder": f"{subset}/", "zip": f"{subset}.zip"}
    if source == "auto":
        for name in ("npz", "folder", "zip"):
            if exists[name]:
                return name
        detail = f"none of {', '.join(wanted.values())} is there"
        raise FileNotFoundError(_missing_data_message(data_dir, detail))
    if not exists[source]:
        if source == "npz" and subset not in _NPZ_FIRST_ID:
            known = sorted(_NPZ_FIRST_ID)
            raise ValueError(f".npz files exist only for {known}; use source='zip' or 'folder' for {subset}")
        raise FileNotFoundError(_missing_data_message(data_dir, f"{wanted[source]} is not there"))
    return source


def load_characters(
    data_dir: str | os.PathLike[str] | None = None,
    image_size: int = 28,
    source: str = "auto",
    subsets: tuple[str, ...] = ("images_background", "images_evaluation"),
) -> OmniglotCharacters:
    """Load Omniglot subsets as ink = 1 float images resized to image_size, rows sorted by character id."""
    if source not in _SOURCES:
        raise ValueError(f"source must be one of {_SOURCES}, got {source!r}")
    image_size = int(image_size)
    if not 1 <= image_size <= _RAW_SIZE:
        raise ValueError(f"image_size must be in 1..{_RAW_SIZE}, got {image_size}")
    if isinstance(subsets, str):
        subsets = (subsets,)
    if not subsets:
        raise ValueError("subsets must name at least one subset, e.g. ('images_background',)")
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    if not root.is_dir():
        raise FileNotFoundError(_missing_data_message(root, "the folder does not exist"))
    parts: list[tuple[torch.Tensor, torch.Tensor, list[str] | None]] = []
    for subset in subsets:
        chosen = _pick_source(root, subset, source)
        started = time.perf_counter()
        if chosen == "npz":
            images, ids = _load_npz(root / f"{subset}.npz", subset, image_size)
            parts.append((images, ids, None))
        elif chosen == "zip":
            parts.append(_load_zip(root / f"{subset}.zip", subset, image_size))
        else:
            parts.append(_load_folder(root / subset, subset, image_size))
        log.info("omniglot: %s from %s: %d characters in %.1f s", subset, chosen, len(parts[-1][1]),
                 time.perf_counter() - started)
    return _merge_parts(parts)


def _merge_parts(parts: list[tuple[torch.Tensor, torch.Tensor, list[str] | None]]) -> OmniglotCharacters:
    """Concatenate per-subset parts, sort rows by character id and keep the first copy of each id."""
    ids = torch.cat([p[1] for p in parts])
    named = all(p[2] is not None for p in parts)
    names = [n for p in parts for n in (p[2] or [])] if named else None
    order = torch.sort(ids, stable=True).indices
    keep = torch.ones(len(ids), dtype=torch.bool)
    keep[1:] = ids[order][1:] != ids[order][:-1]
    rows = order[keep]
    if len(rows) < len(ids):
        log.info("omniglot: dropped %d characters repeated across subsets", len(ids) - len(rows))
    images = parts[0][0] if len(parts) == 1 else torch.cat([p[0] for p in parts])
    if not torch.equal(rows, torch.arange(len(ids))):  # only copy again when rows move or repeat
        images = images[rows]
    alphabets = [names[i] for i in rows.tolist()] if names is not None else None
    return OmniglotCharacters(images=images, character_ids=ids[rows], alphabets=alphabets)


def _split_sizes(n_characters: int, protocol: str) -> tuple[int, int, int]:
    """Return (train, val, test) sizes: exact for 1,623 characters, proportional otherwise."""
    if n_characters < 3:
        raise ValueError(f"need at least 3 characters to split, got {n_characters}")
    if protocol == "course":
        test = max(1, round(n_characters * _COURSE_SIZES["test"] / _N_CHARACTERS))
        val = max(1, round(n_characters * _COURSE_SIZES["val"] / _N_CHARACTERS))
    elif protocol == "paper":
        train_val = min(n_characters - 1, max(2, round(n_characters * _PAPER_TRAIN_VAL / _N_CHARACTERS)))
        test = n_characters - train_val
        val = max(1, round(train_val * _COURSE_SIZES["val"] / _PAPER_TRAIN_VAL))
    else:
        raise ValueError(f"protocol must be 'course' or 'paper', got {protocol!r}")
    train = n_characters - val - test
    if train < 1:
        raise ValueError(f"{n_characters} characters are too few for a {protocol} split")
    return train, val, test


def split_characters(n_characters: int, protocol: str = "course", seed: int = 0) -> dict[str, torch.Tensor]:
    """Split row indices 0..n-1 into class-disjoint sorted train/val/test sets with a seeded permutation.

    course: 1100 / 100 / 423 characters. paper (MAML, ProtoNets): 1200 meta-training characters and
    423 test characters; the 1200 are given as train (1100) + val (100), so train + val is the paper's
    1200. Other sizes scale proportionally. With the same seed both protocols share one permutation.
    """
    train, val, test = _split_sizes(n_characters, protocol)
    generator = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n_characters, generator=generator)
    bounds = {"train": (0, train), "val": (train, train + val), "test": (train + val, n_characters)}
    return {name: torch.sort(perm[a:b]).values for name, (a, b) in bounds.items()}


def class_pool(
    chars: OmniglotCharacters, rows: torch.Tensor, rotations: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Flatten chosen characters into images (M, 1, S, S) and contiguous class ids (M,).

    With rotations, character rows[i] rotated by k * 90 degrees (torch.rot90, k = 0..3) is class 4 * i + k.
    """
    rows = torch.as_tensor(rows, dtype=torch.int64).reshape(-1)
    chosen = chars.images[rows]  # (K, 20, S, S)
    if rotations:
        chosen = torch.stack([torch.rot90(chosen, k, dims=(-2, -1)) for k in range(4)], dim=1)
    n_classes = chosen.shape[0] * (4 if rotations else 1)
    size = chars.images.shape[-1]
    images = chosen.reshape(n_classes * _N_DRAWERS, 1, size, size)
    class_ids = torch.arange(n_classes, dtype=torch.int64).repeat_interleave(_N_DRAWERS)
    return images, class_ids


def _file_digest(path: Path, algorithm: str) -> str:
    """Return the hex digest of a file with the given hashlib algorithm."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_DOWNLOAD_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def _parse_checksum(checksum: str) -> tuple[str, str]:
    """Split "md5:HEX" or "sha256:HEX" into (algorithm, lowercase hex)."""
    algorithm, _, expected = checksum.partition(":")
    if algorithm not in ("md5", "sha256") or not expected:
        raise ValueError(f"checksum must look like 'md5:HEX' or 'sha256:HEX', got {checksum!r}")
    return algorithm, expected.lower()


def _fetch(url: str, part: Path, progress: bool) -> None:
    """Stream url into part with a tqdm progress bar on stderr."""
    from tqdm import tqdm

    with urllib.request.urlopen(url, timeout=60) as response, open(part, "wb") as handle:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=part.name[: -len(".part")], file=sys.stderr,
                  disable=not progress) as bar:
            for block in iter(lambda: response.read(_DOWNLOAD_BLOCK), b""):
                handle.write(block)
                bar.update(len(block))


def download_omniglot(
    dest: Path,
    base_url: str = OFFICIAL_BASE_URL,
    checksums: dict[str, str] | None = None,
    progress: bool = True,
) -> list[Path]:
    """Download each zip named in checksums from base_url into dest, verified; skip valid files."""
    checksums = dict(OFFICIAL_CHECKSUMS if checksums is None else checksums)
    dest = Path(dest).expanduser()
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, checksum in checksums.items():
        algorithm, expected = _parse_checksum(checksum)
        path = dest / name
        if path.is_file() and _file_digest(path, algorithm) == expected:
            log.info("omniglot: %s already present and valid, skipping", path)
            paths.append(path)
            continue
        url = f"{base_url.rstrip('/')}/{name}"
        part = dest / f"{name}.part"
        log.info("omniglot: downloading %s to %s", url, path)
        try:
            _fetch(url, part, progress)
        except (urllib.error.URLError, OSError) as error:
            part.unlink(missing_ok=True)
            raise RuntimeError(
                f"could not download {url}: {error}. Check the connection, or fetch it by hand into {dest}"
            ) from error
        actual = _file_digest(part, algorithm)
        if actual != expected:
            part.unlink(missing_ok=True)
            raise ValueError(
                f"checksum mismatch for {url}: expected {algorithm}:{expected}, got {algorithm}:{actual}; "
                f"the file was deleted. Retry, or check base_url and checksums."
            )
        os.replace(part, path)
        paths.append(path)
    return paths
