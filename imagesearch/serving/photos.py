"""Where the catalog photos are on this machine.

The index lists each photo by the path it had in the project that built it (``data/raw/...``).
Inside that project the paths resolve against the project folder; an index fetched on its own
(``dvc get`` / ``dvc artifacts get``) carries no photos, so search and serve take ``--images DIR``:
the folder that holds the photo files, found there by file name.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path


class PhotoFolderError(FileNotFoundError):
    """``--images`` names a folder that is not there."""


def project_root(index: Path) -> Path:
    """The folder of the project the index belongs to (the nearest one above holding dvc.yaml),
    or the working directory for an index fetched elsewhere (``dvc get``)."""
    for parent in index.resolve().parents:
        if (parent / "dvc.yaml").is_file():
            return parent
    return Path.cwd().resolve()


def photo_folder(images: str | Path) -> Path:
    """``--images`` as an absolute folder; PhotoFolderError names it where it is not one."""
    folder = Path(images).expanduser()
    if not folder.is_dir():
        raise PhotoFolderError(f"--images {images}: no such folder (it should hold the catalog's photo files)")
    return folder.resolve()


def photo_paths(catalog: Mapping[str, Sequence[str]], index: Path, images: str | Path | None = None) -> list[str]:
    """The absolute file of every catalog row: ``images / <file name>`` when a photo folder is
    given, else the index's own path resolved against its project (or the working directory)."""
    if images is not None:
        folder = photo_folder(images)
        return [str(folder / Path(path).name) for path in catalog["path"]]
    root = project_root(index)
    return [str(path if Path(path).is_absolute() else root / path) for path in catalog["path"]]


def missing_photos_line(paths: list[str]) -> str | None:
    """One line saying how many photo files are missing and what to do; None when all are there."""
    missing = [path for path in paths if not Path(path).is_file()]
    if not missing:
        return None
    return (f"{len(missing)} of {len(paths)} catalog photos are not on this machine (e.g. {missing[0]}): "
            "pass --images DIR, the folder that holds the photo files")
