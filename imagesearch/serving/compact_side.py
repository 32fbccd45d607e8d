"""The re-ranker's image side stored small, for the two-stage search over a large catalog.

The model's per-image precomputation (``ImageSide``) is ~1,700 float32 per image (6.7 GB for a
million images). :class:`CompactImageSide` keeps what the re-ranker needs in float16, projects
the wide image-space field (``standard``, 1280-d) onto the few hundred directions that the text
side can reach (:func:`query_directions`), and leaves ``mapped`` to the candidate index (stored
there once). :class:`ProjectedSpace` scores projected image sides against text sides projected
the same way, so the re-ranker is the model's own ``score_grid``, unchanged.
"""
from __future__ import annotations

import dataclasses
import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from imagesearch.serving.decoding import to_float32

#: Per wide ``ImageSide`` field that may be projected, the ``TextSide`` fields it meets in a
#: feature: ``standard`` meets the text's t2i map and its kNN image vector (and nothing else does,
#: so projecting those text fields changes no other feature).
MEETS = {"standard": ("mapped", "knn")}


def query_directions(space: Any) -> dict[str, np.ndarray]:
    """Per wide ``ImageSide`` field, text-side vectors it is multiplied with (a JointSpace's
    reference captions): ``standard`` meets the captions' t2i map and their kNN image vectors."""
    if not hasattr(space, "ref_texts_"):
        return {}
    side = space.text_side(space.ref_texts_)
    return {name: np.vstack([getattr(side, field) for field in fields]) for name, fields in MEETS.items()}


@dataclasses.dataclass
class CompactImageSide:
    """An ``ImageSide`` of many images stored small: float16 wide matrices, wide fields projected.

    ``bases[field]`` (width, d) has orthonormal columns: the stored value is ``x @ basis`` and
    ``take`` returns ``stored @ basis.T``, exact for inner products with vectors in the span.
    ``external`` fields (``mapped``) are not stored here; ``take`` gets them from the caller.
    """

    side_type: type
    names: list[str]
    bases: dict[str, np.ndarray]
    external: tuple[str, ...] = ("mapped",)
    narrow: int = 64
    dtype: Any = np.float16
    arrays: dict[str, list[np.ndarray]] = dataclasses.field(default_factory=dict)
    _joined: dict[str, np.ndarray] | None = None

    @classmethod
    def fit(cls, sample_side: Any, directions: dict[str, np.ndarray] | None = None,
            max_width: int = 608, external: tuple[str, ...] = ("mapped",),
            dtype: Any = np.float16) -> "CompactImageSide":
        """Bases for the fields of :data:`MEETS` wider than ``max_width``: the top right
        singular vectors of the field's query ``directions`` if given, else of the sample's
        values (uncentred). Other fields are kept whole: a text vector that meets two image
        fields (a CLIP query meets ``mapped`` and ``vl``) cannot be projected for one of them."""
        directions = directions or {}
        names = [f.name for f in dataclasses.fields(sample_side)]
        bases = {}
        for name in names:
            values = getattr(sample_side, name)
            if name in external or name not in MEETS or values.ndim != 2 or values.shape[1] <= max_width:
                continue
            source = directions.get(name, values)
            _, _, vt = np.linalg.svd(np.asarray(source, dtype=np.float64), full_matrices=False)
            bases[name] = np.ascontiguousarray(vt[:max_width].T, dtype=np.float32)
        return cls(type(sample_side), names, bases, tuple(external), dtype=dtype)

    def add(self, side: Any) -> None:
        self._joined = None
        for name in self.names:
            if name in self.external:
                continue
            values = getattr(side, name)
            if name in self.bases:
                values = values @ self.bases[name]
            # float16 for the wide matrices; narrow ones (the 16 PCA coordinates behind the
            # prod_* features) and scalars stay float32: float16 coordinates changed the
            # top-10 of 2% of queries (measured on 31k images)
            wide = values.ndim == 2 and values.shape[1] > self.narrow
            self.arrays.setdefault(name, []).append(values.astype(self.dtype if wide else np.float32))

    def _data(self) -> dict[str, np.ndarray]:
        if self._joined is None:
            self._joined = {name: (parts[0] if len(parts) == 1 else np.concatenate(parts))
                            for name, parts in self.arrays.items()}
            self.arrays = {name: [value] for name, value in self._joined.items()}
        return self._joined

    def __len__(self) -> int:
        data = self._data()
        return len(next(iter(data.values()))) if data else 0

    @property
    def nbytes(self) -> int:
        return sum(v.nbytes for v in self._data().values()) + sum(b.nbytes for b in self.bases.values())

    def save(self, path: str | Path) -> None:
        from imagesearch.embedding.vectors import write_npz

        arrays = {f"field.{name}": value for name, value in self._data().items()}
        arrays.update({f"basis.{name}": basis for name, basis in self.bases.items()})
        arrays["meta"] = np.asarray(json.dumps({
            "side_type": f"{self.side_type.__module__}:{self.side_type.__qualname__}",
            "names": self.names, "external": list(self.external), "narrow": self.narrow,
            "dtype": np.dtype(self.dtype).name}))
        write_npz(path, arrays)

    @classmethod
    def load(cls, path: str | Path) -> "CompactImageSide":
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            module, name = meta["side_type"].split(":")
            side_type = getattr(importlib.import_module(module), name)
            store = cls(side_type, meta["names"],
                        {key[6:]: data[key] for key in data.files if key.startswith("basis.")},
                        tuple(meta["external"]), meta["narrow"], np.dtype(meta["dtype"]))
            store.arrays = {key[6:]: [data[key]] for key in data.files if key.startswith("field.")}
        return store

    def take(self, rows: np.ndarray, projected: bool = False, **external: np.ndarray) -> Any:
        """A float32 ``side_type`` of ``rows``; ``external`` gives the fields not stored here.

        ``projected``: leave projected fields as their stored coordinates (d columns) instead of
        mapping them back (``x @ basis.T``, 1.5 MFLOP per image at 608 x 1280): for a model
        whose text side is projected the same way (:class:`ProjectedSpace`)."""
        data = self._data()
        values = {}
        for name in self.names:
            if name in self.external:
                values[name] = np.asarray(external[name], dtype=np.float32)
                continue
            part = to_float32(data[name][rows])
            values[name] = part @ self.bases[name].T if name in self.bases and not projected else part
        return self.side_type(**values)


class ProjectedSpace:
    """A model's space whose text sides are projected onto a :class:`CompactImageSide`'s bases.

    A projected image field meets the text-side vectors :data:`MEETS` names (for a JointSpace:
    ``standard``, 1280-d, meets the text's ``mapped`` and ``knn``); ``<t @ B, x @ B>`` equals
    ``<t, x @ B @ B.T>``, so scores equal those of the mapped-back side, without mapping back.
    Everything else is the wrapped space's.
    """

    def __init__(self, space: Any, bases: dict[str, np.ndarray]) -> None:
        self._space = space
        self._text_bases = {text_field: basis for name, basis in bases.items() for text_field in MEETS[name]}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._space, name)

    def text_side(self, texts: np.ndarray) -> Any:
        side = self._space.text_side(texts)
        changes = {name: getattr(side, name) @ basis for name, basis in self._text_bases.items()}
        return dataclasses.replace(side, **changes)
