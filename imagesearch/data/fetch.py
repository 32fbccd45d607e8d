"""Getting the raw dataset into ``data/raw`` by one of several routes, verified by checksum.

Routes (``data.source`` in params): a folder holding the unpacked dataset, a local copy of the
public ``.zip`` (whose top folder is ``to_upload/``), the public URL, or an ``s3://bucket/prefix``
holding the unpacked dataset (:mod:`imagesearch.data.object_store`). ``auto`` tries them in the
order of :func:`candidate_sources`. Whatever the route, every file is checked against the
sha256 list frozen in git (``data/dataset.sha256``) and only listed files are copied, so the
result is byte-identical on every machine; a team that has the data in its DVC remote skips this
with ``dvc pull``.

A route that is there but holds other files than the frozen list fails the stage with one line
naming them: it never falls back to another dataset. Only an absent or unreachable route lets
``auto`` try the next. A new dataset's list is frozen with
``python -m imagesearch.data.fetch freeze <folder>`` (:func:`freeze_checksums`).
The location is a DVC param and nothing else: an environment variable is invisible to DVC, so
``IMAGESEARCH_DATASET`` is refused with a message saying what to set instead.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from tqdm import tqdm

from imagesearch.atomic import atomic_path
from imagesearch.cluster import chunk_slices, map_chunks
from imagesearch.data import object_store
from imagesearch.errors import InputError
from imagesearch.hashing import hash_file

log = logging.getLogger(__name__)

SHARED_COPY = Path("../shared/datasets/dsplus_integrated_project_4")
LOCAL_ZIP = Path("data/dsplus_integrated_project_4.zip")
ZIP_TOP_FOLDER = "to_upload"


class DatasetError(InputError):
    """The dataset could not be obtained or does not match its frozen checksums."""


class DatasetMismatch(DatasetError):
    """A route holds the dataset, but its files differ from the frozen list: never fall back."""


RETIRED_VARIABLE = "IMAGESEARCH_DATASET"


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
    if os.environ.get(RETIRED_VARIABLE):
        raise DatasetError(f"{RETIRED_VARIABLE} is set, but DVC cannot see environment variables (the stage "
                           f"would not re-run when it changes): unset it and set the param instead, e.g. "
                           f"dvc exp run -S data.source={os.environ[RETIRED_VARIABLE]}")
    if source != "auto":
        return [source]
    candidates = [str(SHARED_COPY), str(LOCAL_ZIP), url]
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
        except DatasetMismatch as err:
            raise DatasetMismatch(f"{candidate}: {err}") from None
        except (DatasetError, OSError, zipfile.BadZipFile) as err:
            log.warning("route %s failed: %s", candidate, err)
            errors.append(f"{candidate}: {err}")
    raise DatasetError("no route gave the dataset:\n  " + "\n  ".join(errors or ["no candidate"]))


def _copy_verified(source: str, destination: Path, expected: list[Checksum]) -> None:
    if object_store.is_object_store(source):
        _download_listed(source, destination, expected)
    elif source.startswith(("http://", "https://")):
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
    _copy_listed(expected, destination, lambda name: (source / name).is_file(),
                 lambda name: open(source / name, "rb"), "holds none of the dataset's files", "copy dataset")


def _extract_zip(archive: Path, destination: Path, expected: list[Checksum]) -> None:
    with zipfile.ZipFile(archive) as bundle:
        names = set(bundle.namelist())
        _copy_listed(expected, destination, lambda name: f"{ZIP_TOP_FOLDER}/{name}" in names,
                     lambda name: bundle.open(f"{ZIP_TOP_FOLDER}/{name}"),
                     f"{archive} holds none of the dataset's files under {ZIP_TOP_FOLDER}/", "unpack dataset")


def _download_listed(source: str, destination: Path, expected: list[Checksum]) -> None:
    """The listed objects under ``source``, downloaded in chunks (as cluster tasks where a scheduler
    is set), then checked like any other route."""
    options = object_store.storage_options()
    there = object_store.list_objects(source, options)
    names = [entry.relative_path for entry in expected if entry.relative_path in there]
    if not names:
        raise DatasetError(f"{source} holds none of the dataset's files")
    chunks = [names[part] for part in chunk_slices(len(names), object_store.FILES_PER_TASK)]
    parts = map_chunks(object_store.download, chunks, "download dataset (S3)",
                       describe=lambda chunk: f"{len(chunk)} objects from {source}/{chunk[0]}",
                       shared={"source": source, "destination": str(destination.resolve()), "options": options})
    got = dict(zip(names, (digest for part in parts for digest in part)))
    _verify(expected, got)


def _verify(expected: list[Checksum], got: dict[str, str]) -> None:
    """One line naming the listed files missing from ``got`` (name -> sha256) and those whose
    sha256 differs from the list."""
    missing = [entry.relative_path for entry in expected if entry.relative_path not in got]
    differ = [entry.relative_path for entry in expected
              if entry.relative_path in got and got[entry.relative_path] != entry.sha256]
    if missing or differ:
        parts = [f"{len(names)} {what} ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})"
                 for names, what in ((differ, "files differ from data/dataset.sha256"), (missing, "missing"))
                 if names]
        raise DatasetMismatch("; ".join(parts) + ". If this is a new dataset, freeze its list: "
                              "python -m imagesearch.data.fetch freeze <folder>")


def _copy_listed(expected: list[Checksum], destination: Path, present: Callable[[str], bool],
                 open_source: Callable[[str], BinaryIO], none_there: str, desc: str) -> None:
    """Copy every listed file the source has, then fail with one line naming the missing files
    and those whose sha256 differs from the list. A source with none of them is no dataset at all
    (``auto`` may try the next route); one with some is this dataset, changed (never fall back)."""
    missing = [entry.relative_path for entry in expected if not present(entry.relative_path)]
    if len(missing) == len(expected):
        raise DatasetError(none_there)
    got = {}
    for entry in tqdm(expected, desc=desc, unit="file"):
        if not present(entry.relative_path):
            continue
        dst = destination / entry.relative_path
        dst.parent.mkdir(parents=True, exist_ok=True)
        with open_source(entry.relative_path) as src, open(dst, "wb") as out:
            shutil.copyfileobj(src, out)
        got[entry.relative_path] = hash_file(dst)
    _verify(expected, got)


#: Checksum listings a dataset may ship about itself: never part of the dataset's frozen list
#: (the listing would have to contain its own hash).
CHECKSUM_LISTINGS = ("SHA256SUMS", "SHA512SUMS", "SHA1SUMS", "MD5SUMS", "*.sha256", "*.sha512", "*.md5")


def freeze_checksums(folder: str | Path, out: str | Path, exclude: tuple[str, ...] = ()) -> int:
    """Write ``out`` as a sha256sum listing (``<hex>  ./path``, sorted) of every file under
    ``folder`` except checksum listings (:data:`CHECKSUM_LISTINGS`, ``out`` itself among them) and
    those whose relative path matches an ``exclude`` glob: the frozen list a new dataset is
    checked against. Returns the file count."""
    folder = Path(folder)
    out_path = Path(out).resolve()
    left_out = (*CHECKSUM_LISTINGS, *exclude)
    files = sorted((p for p in folder.rglob("*") if p.is_file() and p.resolve() != out_path
                    and not any(PurePosixPath(p.relative_to(folder).as_posix()).match(g) for g in left_out)),
                   key=lambda p: p.relative_to(folder).as_posix())  # as `sha256sum` lists sort
    if not files:
        raise DatasetError(f"{folder}: no files to freeze")
    lines = [f"{hash_file(p)}  ./{p.relative_to(folder).as_posix()}" for p in tqdm(files, desc="sha256", unit="file")]
    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return len(files)


def main(argv: list[str] | None = None) -> int:
    """``python -m imagesearch.data.fetch freeze <folder> [--out data/dataset.sha256]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m imagesearch.data.fetch")
    commands = parser.add_subparsers(dest="command", required=True)
    freeze = commands.add_parser("freeze", help="write the frozen sha256 list of a dataset folder")
    freeze.add_argument("folder", type=Path)
    freeze.add_argument("--out", type=Path, default=Path("data/dataset.sha256"))
    freeze.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                        help="leave out files matching this glob (repeatable), e.g. README.md")
    args = parser.parse_args(argv)
    count = freeze_checksums(args.folder, args.out, tuple(args.exclude))
    print(f"wrote {args.out}: {count} files of {args.folder} (checksum listings such as SHA256SUMS left "
          "out); commit it, then set data.source to the folder")
    return 0


def _download(url: str, destination: Path) -> None:
    log.info("downloading %s", url)
    with urllib.request.urlopen(url, timeout=60) as response, open(destination, "wb") as out:
        total = int(response.headers.get("Content-Length", 0)) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc="download") as bar:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
                bar.update(len(block))


if __name__ == "__main__":
    raise SystemExit(main())
