"""The searcher: a query in, a disclaimer or a ranked list of allowed catalog images out.

It loads the index folder written by the ``index`` stage: the relevance model, the text encoder
that embedded the training captions, and the per-image precomputation of the allowed catalog.
Blocked images are not in the index at all, so no code path can return one.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from imagesearch import paths
from imagesearch.data.columns import read_columns
from imagesearch.legal.policy import LegalPolicy
from imagesearch.modeling.space_files import IMAGE_SIDE_FILE, read_image_side
from imagesearch.modeling.relevance import RelevanceModel
from imagesearch.serving.limits import DEFAULT_K, MAX_K, MAX_QUERY_CHARS  # noqa: F401 (re-exported)
from imagesearch.serving.photos import photo_paths

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Hit:
    image: str
    score: float


@dataclass(frozen=True)
class SearchResult:
    """Either ``disclaimer`` is set (a blocked query) or ``hits`` holds the ranked images;
    ``notice`` is what the legal policy says beside them (a language no list covers, served
    under ``legal.uncovered_language: notice``)."""

    query: str
    hits: tuple[Hit, ...] = ()
    disclaimer: str | None = None
    blocked_words: tuple[str, ...] = field(default_factory=tuple)
    notice: str | None = None

    def to_dict(self, paths: dict[str, Path] | None = None) -> dict[str, Any]:
        """JSON-ready; with ``paths`` (image id -> file), each hit carries its absolute ``path``
        (null for a photo missing from ``paths``)."""
        return {"query": self.query, "disclaimer": self.disclaimer, "notice": self.notice,
                "results": [{"image": h.image, "score": round(h.score, 4),
                             **({"path": str(paths[h.image]) if h.image in paths else None}
                                if paths is not None else {})} for h in self.hits]}


class Checked(NamedTuple):
    """A query the legal policy allows (whitespace collapsed), with the notice to show beside its hits."""

    query: str
    notice: str | None = None

    def attach(self, result: SearchResult) -> SearchResult:
        """``result`` with this query's notice."""
        return replace(result, notice=self.notice) if self.notice else result


class QueryError(ValueError):
    """The query or k is out of bounds; the message says which and why, ``reason`` names it
    ("empty", "too_long", "bad_k") for callers that word it themselves (the web page)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def load_query_encoder(folder: Path, threads: int | None = None) -> Any:
    """The saved text encoder's ONNX copy if it has one (no torch import), else the encoder itself;
    routed to the multilingual map for non-English queries where the index holds one."""
    from imagesearch.embedding.query_alignment import with_multilingual_route

    onnx_copy = folder / "text_encoder" / "onnx"  # encoders.text_base.ONNX_DIR, named here to skip that import
    if onnx_copy.is_dir():
        from imagesearch.embedding.onnx_query import OnnxTextEncoder

        return with_multilingual_route(OnnxTextEncoder.load(onnx_copy, threads=threads), folder, threads)
    from imagesearch.embedding.encoders.text import load_text_encoder

    return with_multilingual_route(load_text_encoder(folder / "text_encoder"), folder, threads)


class Searcher:
    def __init__(self, model: RelevanceModel, text_encoder: Any, catalog: Mapping[str, Sequence[str]],
                 image_side: Any, policy: LegalPolicy, manifest: dict, two_stage: Any = None) -> None:
        """``catalog``: the columns ``image`` and ``path`` (a DataFrame or a dict of lists), rows in
        index order, optionally ``sha256`` (the photo files' digests: :attr:`digest_rows`). Exactly
        one of ``image_side`` (every image scored) and ``two_stage`` (a
        :class:`~imagesearch.serving.two_stage.TwoStageSearch` over the catalog's rows) is set."""
        if (image_side is None) == (two_stage is None):
            raise ValueError("a searcher needs either an image side or a two-stage search")
        self.model = model
        self.text_encoder = text_encoder
        self.images = [str(image) for image in catalog["image"]]
        self.photo_files = [str(path) for path in catalog["path"]]
        self.image_side = image_side
        self.two_stage = two_stage
        self.policy = policy
        self.manifest = manifest
        self._paths = dict(zip(self.images, self.photo_files))
        # sha256 -> catalog row: how `imagesearch score` finds a catalog photo under any file name
        digests = catalog["sha256"] if "sha256" in catalog else ()
        self.digest_rows = {str(digest): row for row, digest in enumerate(digests)}

    @property
    def catalog(self) -> pd.DataFrame:
        """The catalog as a DataFrame (image, path): built on demand, a query never imports pandas."""
        import pandas as pd

        return pd.DataFrame({"image": self.images, "path": self.photo_files})

    @classmethod
    def load(cls, folder: str | Path, threads: int | None = None, images: str | Path | None = None,
             policy: LegalPolicy | None = None, digests: bool = False) -> "Searcher":
        """The index in ``folder``; ``threads`` caps the query encoder's threads (the server
        answers concurrent queries on threads of their own and passes 1); ``images``: the folder
        holding the catalog's photo files, for an index fetched without its project; ``policy``:
        the index's legal policy if the caller loaded it already; ``digests``: read the catalog's
        sha256 column too (:attr:`digest_rows`; empty for an index without it), which search
        never needs."""
        folder = Path(folder)
        if not (folder / "manifest.json").is_file():
            raise FileNotFoundError(f"{folder}: no search index here (no manifest.json); "
                                    "build it with `dvc repro index`")
        catalog = read_columns(folder / "catalog.parquet", ["image", "path"], ("sha256",) if digests else ())
        catalog["path"] = photo_paths(catalog, folder, images)
        model = RelevanceModel.load(folder / "model")
        two_stage = None
        if (folder / paths.INDEX_TWO_STAGE).is_dir():
            from imagesearch.serving.two_stage import TwoStageSearch

            two_stage = TwoStageSearch.load(folder / paths.INDEX_TWO_STAGE, model)
        return cls(
            model=model,
            text_encoder=load_query_encoder(folder, threads),
            catalog=catalog,
            image_side=None if two_stage is not None else _image_side(folder),
            policy=policy if policy is not None else LegalPolicy.load(folder),
            manifest=json.loads((folder / "manifest.json").read_text()),
            two_stage=two_stage,
        )

    def __len__(self) -> int:
        return len(self.images)

    def search(self, query: str, k: int = DEFAULT_K) -> SearchResult:
        checked = self.check(query, k)
        if isinstance(checked, SearchResult):
            return checked
        return checked.attach(self.rank([(checked.query, k)])[0])

    def check(self, query: str, k: int) -> SearchResult | Checked:
        """The bounds and the legal rule, before anything is encoded: the query with its
        whitespace collapsed and the policy's notice, or the disclaimer result; QueryError when
        out of bounds."""
        query = " ".join(query.split())
        if not query:
            raise QueryError("the query is empty", "empty")
        if len(query) > MAX_QUERY_CHARS:
            raise QueryError(f"the query is longer than {MAX_QUERY_CHARS} characters", "too_long")
        if not 1 <= k <= MAX_K:
            raise QueryError(f"k must be between 1 and {MAX_K}", "bad_k")
        verdict = self.policy.check_text(query)
        if verdict.blocked:
            # the disclaimer, or for a language no list covers, the message naming the checked ones
            return SearchResult(query, disclaimer=self.policy.message(verdict), blocked_words=verdict.words)
        return Checked(query, self.policy.message(verdict))

    def rank(self, allowed: list[tuple[str, int]]) -> list[SearchResult]:
        """The hits of queries that already passed :meth:`check` (collapsed, allowed), scored
        together: what the server's micro-batches call. Each query is encoded alone: the ONNX
        encoder pads a batch to its longest text and its matrix products change with the batch's
        shape, which moved vectors by ~4e-8 and could flip a tree split of the model. A query's
        vector and scores are the same alone and in any batch (tests/test_batching.py)."""
        if not allowed:
            return []
        vectors = np.concatenate([self.text_encoder.encode([query]) for query, _ in allowed])
        rows, scores = self.top_k(vectors, max(k for _, k in allowed))
        images = self.images
        return [SearchResult(query, tuple(Hit(images[r], float(s)) for r, s in zip(row[:k], score[:k]) if r >= 0))
                for (query, k), row, score in zip(allowed, rows, scores)]

    def top_k(self, text_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, scores), each (n_texts, k), best first (ties: lower catalog row first): every
        image scored, or the two-stage search where the index holds one; -1 pads short lists."""
        if self.two_stage is not None:
            return self.two_stage.search(text_vectors, k)
        scores = self.model.score_grid(self.image_side, text_vectors)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return order, np.take_along_axis(scores, order, axis=1)

    def score_rows(self, rows: np.ndarray, text_vectors: np.ndarray) -> np.ndarray:
        """Scores (n_texts, len(rows)) of catalog ``rows``: the score search gives each of them, from
        the stored image side (the exhaustive one, or the two-stage re-ranker's)."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.two_stage is not None:
            return self.two_stage.score_rows(rows, text_vectors)
        return self.model.score_grid(self.image_side.take(rows), text_vectors)

    def image_path(self, image: str) -> Path | None:
        """The file of an allowed catalog image, or None: ids outside the catalog resolve to nothing."""
        path = self._paths.get(image)
        return Path(path) if path is not None else None


def _image_side(folder: Path) -> Any:
    """The index's image side; an index written before it was stored as plain arrays is refused."""
    path = folder / IMAGE_SIDE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{folder}: no {IMAGE_SIDE_FILE} (an index built by an older "
                                "version, or an incomplete one): rebuild it with `dvc repro index`")
    return read_image_side(path)
