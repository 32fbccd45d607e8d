"""The serve lock (requirements-serve.txt) read without a network: its pins, the distributions
pyproject's core and ``serve`` extra resolve to (from the installed distributions' metadata, which
requirements.txt pins to the same versions), and a process that sees only what it installs."""
from __future__ import annotations

import importlib.abc
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
SERVE_LOCK = REPO / "requirements-serve.txt"
FULL_LOCK = REPO / "requirements.txt"
# in every virtualenv python -m venv makes, whatever a lock says
VENV_SEEDED = {"pip", "setuptools"}


def pins(lock: Path) -> dict[str, str]:
    """``{canonical name: version}`` of a requirements file's ``name==version`` lines."""
    found = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", lock.read_text(), re.M)
    return {canonicalize_name(name): version for name, version in found}


def unhashed(lock: Path) -> list[str]:
    """The pinned requirements of ``lock`` that carry no ``--hash``."""
    entries = re.split(r"\n(?=[A-Za-z0-9])", lock.read_text())
    return [entry.split("==")[0] for entry in entries if "==" in entry and "--hash=sha256:" not in entry]


def resolve(requirements: list[str]) -> set[str]:
    """Canonical names of ``requirements`` and everything they require, markers evaluated here
    (Python 3.11 on x86_64 Linux, the lock's target), extras followed."""
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [Requirement(text) for text in requirements]
    while todo:
        requirement = todo.pop()
        name, extras = canonicalize_name(requirement.name), frozenset(requirement.extras)
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        for text in metadata.requires(name) or []:
            dependency = Requirement(text)
            if dependency.marker is None or any(dependency.marker.evaluate({"extra": extra})
                                                for extra in extras | {""}):
                todo.append(dependency)
    return {name for name, _ in seen}


def serve_profile() -> set[str]:
    """What pyproject's core dependencies and its ``serve`` extra resolve to."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return resolve([*project["dependencies"], *project["optional-dependencies"]["serve"]])


def in_serve_install() -> set[str]:
    """Canonical names of the distributions in a serve install's virtualenv."""
    return set(pins(SERVE_LOCK)) | VENV_SEEDED | {"imagesearch"}


def modules_outside_serve_lock() -> set[str]:
    """Top-level modules installed here that come only from distributions a serve install lacks."""
    kept = in_serve_install()
    return {module for module, dists in metadata.packages_distributions().items()
            if module not in sys.stdlib_module_names and not {canonicalize_name(d) for d in dists} & kept}


class _Absent(importlib.abc.MetaPathFinder):
    def __init__(self, modules: set[str]) -> None:
        self.modules = modules

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.split(".")[0] in self.modules:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def as_in_serve_install() -> None:
    """From now on this process imports only what a serve install has, and lists only its
    distributions (whose entry points plugins are found by: pymorphy3 loads every dictionary
    package installed)."""
    kept = in_serve_install()
    sys.meta_path.insert(0, _Absent(modules_outside_serve_lock()))
    listed = metadata.distributions
    metadata.distributions = lambda **params: (  # type: ignore[assignment]
        dist for dist in listed(**params) if canonicalize_name(dist.metadata["Name"] or "") in kept)
