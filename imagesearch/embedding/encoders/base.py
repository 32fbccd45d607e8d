"""The encoder interface and the name -> backend registries.

Every encoder maps items to an ``(n, d)`` float32 array whose rows have unit L2 norm, so a dot
product is a cosine similarity. Encoders are built from their params section
(``{"encoder": name, "batch_size": int, "options": {...}}``) and load their model lazily, on the
first ``encode``: building one is cheap, which lets a stage compute the cache key and skip the model
entirely when every vector is already cached. Rows are normalised by
:func:`imagesearch.embedding.vectors.l2_normalise`; files are hashed by :mod:`imagesearch.hashing`.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

E = TypeVar("E", bound="Encoder")


class Encoder:
    """Common part of image and text encoders.

    Subclasses set ``name`` (via the registry), implement ``dim`` and the batch encoding, and may
    extend :meth:`identity` with anything else that changes the vectors (a weights file's hash,
    fitted state).
    """

    name: str = ""
    #: Bump when a backend's preprocessing changes, so cached vectors are not reused.
    #: 2: float64 compute and the output grid of ``stable_unit_rows`` (same bytes on any CPU).
    version: int = 2

    def __init__(self, options: Mapping[str, Any] | None = None, batch_size: int = 32) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.options: dict[str, Any] = dict(options or {})
        self.batch_size = int(batch_size)

    @property
    def dim(self) -> int:
        raise NotImplementedError

    def identity(self) -> dict[str, Any]:
        """Everything that determines the vectors (not the batch size or thread counts)."""
        return {"name": self.name, "version": self.version, "options": self.options}

    def fingerprint(self) -> str:
        """A stable hash of :meth:`identity`: the cache key part that names the encoder."""
        payload = json.dumps(self.identity(), sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()

    def describe(self) -> dict[str, Any]:
        """What gets stored next to the vectors (``VectorSet.encoder``)."""
        return {
            "name": self.name,
            "dim": self.dim,
            "options": self.options,
            "fingerprint": self.fingerprint(),
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, options={self.options!r})"


class Registry(Generic[E]):
    """Backends by name. ``@registry.register("name")`` on a class; ``registry.build(params)``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._backends: dict[str, type[E]] = {}

    def register(self, name: str) -> Callable[[type[E]], type[E]]:
        def decorator(cls: type[E]) -> type[E]:
            if name in self._backends:
                raise ValueError(f"{self.kind} encoder {name!r} registered twice")
            cls.name = name
            self._backends[name] = cls
            return cls

        return decorator

    def __contains__(self, name: object) -> bool:
        return name in self._backends

    def __iter__(self):
        return iter(sorted(self._backends))

    def __len__(self) -> int:
        return len(self._backends)

    def get(self, name: str) -> type[E]:
        try:
            return self._backends[name]
        except KeyError:
            raise ValueError(
                f"unknown {self.kind} encoder {name!r}; known: {', '.join(sorted(self._backends))}"
            ) from None

    def build(self, params: Mapping[str, Any]) -> E:
        """Build from a params section: ``encoder`` (required), ``batch_size``, ``options``."""
        if not isinstance(params, Mapping) or "encoder" not in params:
            raise ValueError(f"{self.kind} encoder params need an 'encoder' key, got {params!r}")
        unknown = set(params) - {"encoder", "batch_size", "options"}
        if unknown:
            raise ValueError(f"unknown {self.kind} encoder params: {sorted(unknown)}")
        cls = self.get(params["encoder"])
        options = params.get("options") or {}
        if not isinstance(options, Mapping):
            raise ValueError(f"'options' must be a mapping, got {type(options).__name__}")
        return cls(options=options, batch_size=int(params.get("batch_size", 32)))
