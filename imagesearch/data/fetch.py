"""Getting the raw dataset into ``data/raw`` by one of several routes, verified by checksum.

Routes (``data.source`` in params): a folder holding the unpacked dataset, a local copy of the
public ``.zip`` (whose top folder is ``to_upload/``), or the public URL. ``auto`` tries them in the
order of :func:`candidate_sources`. Whatever the route, every file is checked against the
sha256 list frozen in git (``data/dataset.sha256``) and only listed files are copied, so the
result is byte-identical on every machine; a team that has the data in its DVC remote skips this
with ``dvc pull``.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from imagesearch.atomic import atomic_path
from imagesearch.hashing import hash_file

log = logging.getLogger(__name__)

SHARED_COPY = Path("../shared/datasets/dsplus_integrated_project_4")
LOCAL_ZIP = Path("data/dsplus_integrated_project_4.zip")
ZIP_TOP_FOLDER = "to_upload"


class DatasetError(RuntimeError):
    """The dataset could not be obtained or does not match its frozen checksums."""


@dataclass(frozen=True)
class Checksum:
    relative_path: str
    sha256: str


def read_checksums(path: str | Path) -> list[Checksum]:
    """Parse a ``sha256sum`` listing (``<hex>  ./relative/path``)."""
    entries = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip():
            continue
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            raise DatasetError(f"{path}:{number}: not a sha256sum line: {line!r}")
        entries.append(Checksum(str(PurePosixPath(name.removeprefix("./"))), digest))
    return entries


def candidate_sources(source: str, url: str) -> list[str]:
    """The routes to try, in order, for a ``data.source`` value."""
    if source != "auto":
        return [source]
    candidates = [os.environ.get("IMAGESEARCH_DATASET", ""), str(SHARED_COPY), str(LOCAL_ZIP), url]
    return [c for c in candidates if c and (c.startswith(("http://", "https://")) or Path(c).exists())]


def fetch_dataset(target: str | Path, source: str, url: str, checksums: str | Path) -> str:
    """Fill ``target`` with the verified dataset; return the route that worked."""
    expected = read_checksums(checksums)
    errors = []
    for candidate in candidate_sources(source, url):
        try:
            with atomic_path(target) as tmp:
                _copy_verified(candidate, tmp, expected)
            log.info("dataset from %s verified (%d files)", candidate, len(expected))
            return candidate
        except (DatasetError, OSError, zipfile.BadZipFile) as err:
            log.warning("route %s failed: %s", candidate, err)
            errors.append(f"{candidate}: {err}")
    raise DatasetError("no route gave the dataset:\n  " + "\n  ".join(errors or ["no candidate"]))


def _copy_verified(source: str, destination: Path, expected: list[Checksum]) -> None:
    if source.startswith(("http://", "https://")):
        with tempfile.TemporaryDirectory() as scratch:
            archive = Path(scratch) / "dataset.zip"
            _download(source, archive)
            _extract_zip(archive, destination, expected)
    elif Path(source).is_dir():
        _copy_folder(Path(source), destination, expected)
    elif zipfile.is_zipfile(source):
        _extract_zip(Path(source), destination, expected)
    else:
        raise DatasetError("neither a folder, a zip archive nor a URL")


def _copy_folder(source: Path, destination: Path, expected: list[Checksum]) -> None:
    for entry in tqdm(expected, desc="copy dataset", unit="file"):
        src = source / entry.relative_path
        if not src.is_file():
            raise DatasetError(f"missing file {entry.relative_path}")
        dst = destination / entry.relative_path
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        _verify(dst, entry)


def _extract_zip(archive: Path, destination: Path, expected: list[Checksum]) -> None:
    with zipfile.ZipFile(archive) as bundle:
        names = set(bundle.namelist())
        for entry in tqdm(expected, desc="unpack dataset", unit="file"):
            member = f"{ZIP_TOP_FOLDER}/{entry.relative_path}"
            if member not in names:
                raise DatasetError(f"{archive} has no member {member}")
            dst = destination / entry.relative_path
            dst.parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(member) as src, open(dst, "wb") as out:
                shutil.copyfileobj(src, out)
            _verify(dst, entry)


def _verify(path: Path, entry: Checksum) -> None:
    actual = hash_file(path)
    if actual != entry.sha256:
        raise DatasetError(f"{entry.relative_path}: sha256 {actual} != frozen {entry.sha256}")


def _download(url: str, destination: Path) -> None:
    log.info("downloading %s", url)
    with urllib.request.urlopen(url, timeout=60) as response, open(destination, "wb") as out:
        total = int(response.headers.get("Content-Length", 0)) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc="download") as bar:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
                bar.update(len(block))
