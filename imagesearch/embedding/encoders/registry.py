"""The name -> backend tables, :data:`IMAGE_ENCODERS` and :data:`TEXT_ENCODERS`.

A leaf: it imports no backend and nothing heavy. A backend module imports its table and registers
its class with ``@IMAGE_ENCODERS.register("name")`` (the name must be listed in
:mod:`~imagesearch.embedding.encoders.names`); the catalogs
:mod:`~imagesearch.embedding.encoders.image` and :mod:`~imagesearch.embedding.encoders.text`
import every backend of their side, so build encoders through them.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from imagesearch.embedding.encoders.base import Encoder
from imagesearch.embedding.encoders.names import ENCODER_NAMES, unknown_encoder

E = TypeVar("E", bound=Encoder)


class Registry(Generic[E]):
    """Backends of one kind by name. ``@registry.register("name")`` on a class; ``registry.build(params)``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.names = ENCODER_NAMES[kind]
        self._backends: dict[str, type[E]] = {}

    def register(self, name: str) -> Callable[[type[E]], type[E]]:
        if name not in self.names:
            raise ValueError(f"{self.kind} encoder {name!r} is not listed in encoders/names.py "
                             f"(listed: {', '.join(self.names)}); add it there first")

        def decorator(cls: type[E]) -> type[E]:
            if name in self._backends:
                raise ValueError(f"{self.kind} encoder {name!r} registered twice")
            cls.name = name
            self._backends[name] = cls
            return cls

        return decorator

    def __contains__(self, name: object) -> bool:
        return name in self._backends

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._backends))

    def __len__(self) -> int:
        return len(self._backends)

    def get(self, name: str) -> type[E]:
        try:
            return self._backends[name]
        except KeyError:
            raise unknown_encoder(self.kind, name, self._backends) from None

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


IMAGE_ENCODERS: Registry[Any] = Registry("image")
TEXT_ENCODERS: Registry[Any] = Registry("text")
