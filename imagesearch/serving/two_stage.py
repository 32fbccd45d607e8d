"""Search over a large catalog: a fast vector search for candidates, then the model re-ranks them.

Stage 1 (:class:`CandidateIndex`): FAISS inner product between the query text vector and the
image side's ``candidate_field`` (the space says which): for a JointSpace the images' ``mapped``
vectors (images mapped into the text space, unit rows), i.e. the ``i2t`` cosine, the model's base
similarity; for a :class:`~imagesearch.modeling.joint_space.VisionLanguageSpace` the image vectors
themselves (``vl``), i.e. the CLIP/SigLIP model's own cosine, learned on far more pairs than our
ridge map. Measured on the real data (``benchmarks/bench_million.py``), the model's top-10 sits
high in the ``i2t`` order, so the top ``K`` by cosine holds it.

Stage 2 (:class:`TwoStageSearch`): ``model.score_grid`` on the candidates only (with the
text side projected like the stored image side, :class:`ProjectedSpace`).

Memory: the model's per-image precomputation (``ImageSide``) is ~1,700 float32 per image
(6.7 GB for a million images). :class:`CompactImageSide` (``compact_side.py``) keeps what the re-ranker needs in float16,
projects the wide image-space field (``standard``, 1280-d) onto the few hundred directions that
the text side can reach, and gets the candidate field back from the candidate index (stored
there once, float16) instead of a second copy. ``take(rows)`` rebuilds a regular ``ImageSide`` for the
candidates, so the re-ranker is the model's own ``score_grid``, unchanged.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Iterable

import faiss
import numpy as np

from imagesearch.embedding.vectors import l2_normalise
from imagesearch.serving.compact_side import CompactImageSide, ProjectedSpace, query_directions  # noqa: F401
from imagesearch.serving.decoding import IvfVectors

DEFAULT_SPEC = "IVF2048,SQfp16"
CANDIDATES_FILE, STORE_FILE, CONFIG_FILE = "candidates.faiss", "store.npz", "config.json"


def candidate_spec(n_images: int) -> str:
    """The FAISS index for a catalog of ``n_images``: an exact float16 scan below 100k images
    (no training, so no k-means draw), inverted lists above (2048 lists at 1M: measured best)."""
    if n_images < 100_000:
        return "SQfp16"
    return f"IVF{min(2048, n_images // 400)},SQfp16"


class CandidateIndex:
    """FAISS inner-product index over unit vectors; ``search`` returns catalog rows.

    ``spec`` is a FAISS factory string: ``"Flat"`` (exact, float32), ``"SQfp16"`` (exact scan of
    float16 vectors), ``"IVF4096,SQfp16"`` (inverted lists, float16 codes; ``nprobe`` lists are
    scanned per query), ``"HNSW32,SQfp16"``, ``"IVF4096,PQ48"`` ...
    """

    def __init__(self, index: Any, nprobe: int = 32) -> None:
        self.index = index
        self.nprobe = nprobe
        self._vectors: IvfVectors | None = None  # the stored vectors read in place, after the last add

    @classmethod
    def create(cls, dim: int, spec: str = DEFAULT_SPEC, train: np.ndarray | None = None,
               nprobe: int = 32) -> "CandidateIndex":
        """An empty index; IVF/PQ specs need ``train`` vectors (e.g. 30 to 100 per list)."""
        index = faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
        if not index.is_trained:
            if train is None:
                raise ValueError(f"index {spec!r} needs training vectors")
            index.train(np.ascontiguousarray(train, dtype=np.float32))
        return cls(index, nprobe)

    @classmethod
    def build(cls, vectors: np.ndarray, spec: str = DEFAULT_SPEC, nprobe: int = 32,
              train_size: int = 200_000, seed: int = 0) -> "CandidateIndex":
        """An index over ``vectors`` (n, d): rows of the catalog in order."""
        vectors = _check_matrix(vectors, "vectors")
        rng = np.random.default_rng(seed)
        train = vectors[np.sort(rng.choice(len(vectors), min(train_size, len(vectors)), replace=False))]
        out = cls.create(vectors.shape[1], spec, train, nprobe)
        out.add(vectors)
        return out

    def add(self, vectors: np.ndarray) -> None:
        self._vectors = None
        self.index.add(np.ascontiguousarray(_check_matrix(vectors, "vectors")))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def _ivf(self) -> Any:
        try:
            return faiss.extract_index_ivf(self.index)
        except RuntimeError:
            return None

    def search(self, text_vectors: np.ndarray, k: int) -> np.ndarray:
        """Rows (n_texts, k) int64 of the ``k`` largest inner products, best first; -1 pads
        when fewer than ``k`` rows were found (``k`` > catalog, or too few lists probed)."""
        text_vectors = _check_matrix(text_vectors, "text_vectors")
        if text_vectors.shape[1] != self.dim:
            raise ValueError(f"text vectors have {text_vectors.shape[1]} columns, the index {self.dim}")
        if k < 1:
            raise ValueError("k must be at least 1")
        ivf = self._ivf()
        if ivf is not None:
            ivf.nprobe = self.nprobe
        if hasattr(self.index, "hnsw"):
            self.index.hnsw.efSearch = max(self.index.hnsw.efSearch, k)
        _, rows = self.index.search(np.ascontiguousarray(text_vectors), int(k))
        return rows.astype(np.int64)

    def reconstruct(self, rows: np.ndarray) -> np.ndarray:
        """The stored (decoded) vectors of ``rows``, float32 (n, d)."""
        if IvfVectors.supports(self.index):
            if self._vectors is None:
                self._vectors = IvfVectors(self.index)
            return self._vectors.take(rows)
        ivf = self._ivf()
        if ivf is not None and ivf.direct_map.type == faiss.DirectMap.NoMap:
            ivf.make_direct_map()
        return self.index.reconstruct_batch(np.ascontiguousarray(rows, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        """Serialized size: what the index holds in memory, to within the FAISS object overhead."""
        return int(faiss.serialize_index(self.index).nbytes)


def _check_matrix(matrix: np.ndarray, name: str) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got shape {matrix.shape}")
    return matrix


class TwoStageSearch:
    """Top-k images for text vectors: candidates by cosine (``i2t``, or a VL model's own),
    re-ranked by the model.

    Build with :meth:`build` from raw image vectors (an array, or chunks so that the full
    float32 ``ImageSide`` of a million images never exists at once), or from the chunks' image
    sides computed elsewhere (the index stage computes them as cluster tasks).
    """

    def __init__(self, model: Any, candidates: CandidateIndex, store: CompactImageSide,
                 n_candidates: int = 1000, threads: int | None = 1) -> None:
        self.model = model
        self.candidates = candidates
        self.store = store
        self.candidate_field = store.external[0]  # the ImageSide field the FAISS index holds
        self.n_candidates = n_candidates
        # A query is small matrix products: BLAS/OpenMP threads only add spin-waits (measured on a
        # shared 2-core machine: score_grid of 1 query x 1,000 images 90 ms with 2 threads, 5 ms with 1).
        self.threads = threads
        # the same model, scoring projected image sides against projected text sides
        self.ranker = copy.copy(model)
        self.ranker.space = ProjectedSpace(model.space, store.bases)

    @classmethod
    def build(cls, model: Any, image_chunks: Iterable[Any] | np.ndarray, sample: np.ndarray,
              spec: str = DEFAULT_SPEC, nprobe: int = 256, n_candidates: int = 5000,
              max_width: int = 608, on_chunk: Any = None, dtype: Any = np.float16,
              sides: bool = False) -> "TwoStageSearch":
        """``image_chunks``: the catalog's raw image vectors in row order; with ``sides`` True, the
        model's image side of each chunk instead, already computed (``model.image_side(chunk)``
        elsewhere: the same bytes).
        ``sample``: raw image vectors that train the IVF lists and the compact bases.
        ``on_chunk(side)`` sees each chunk's full-precision side (benchmarks score it).

        Defaults: the configuration measured best on 1M images (``benchmarks/bench_million.py``):
        IVF2048 float16 codes, 256 lists probed, 5,000 candidates re-ranked, p95 44.6 ms."""
        if isinstance(image_chunks, np.ndarray):
            image_chunks = [image_chunks]
        field = model.space.candidate_field
        sample_side = model.image_side(np.asarray(sample, dtype=np.float32))
        store = CompactImageSide.fit(sample_side, query_directions(model.space), max_width, (field,), dtype)
        train = getattr(sample_side, field)
        candidates = CandidateIndex.create(train.shape[1], spec, train, nprobe)
        for chunk in image_chunks:
            side = chunk if sides else model.image_side(np.asarray(chunk, dtype=np.float32))
            if on_chunk is not None:
                on_chunk(side)
            candidates.add(getattr(side, field))
            store.add(side)
        return cls(model, candidates, store, n_candidates)

    def __len__(self) -> int:
        return len(self.candidates)

    @property
    def nbytes(self) -> int:
        return self.candidates.nbytes + self.store.nbytes

    def save(self, folder: str | Path) -> None:
        """``folder`` (created): the FAISS index, the compact image side, the search settings."""
        folder = Path(folder)
        folder.mkdir()
        faiss.write_index(self.candidates.index, str(folder / CANDIDATES_FILE))
        self.store.save(folder / STORE_FILE)
        (folder / CONFIG_FILE).write_text(json.dumps(
            {"images": len(self), "n_candidates": self.n_candidates, "nprobe": self.candidates.nprobe},
            indent=2, sort_keys=True))

    @classmethod
    def load(cls, folder: str | Path, model: Any, threads: int | None = 1) -> "TwoStageSearch":
        folder = Path(folder)
        config = json.loads((folder / CONFIG_FILE).read_text())
        candidates = CandidateIndex(faiss.read_index(str(folder / CANDIDATES_FILE)), config["nprobe"])
        search = cls(model, candidates, CompactImageSide.load(folder / STORE_FILE), config["n_candidates"], threads)
        search.candidates.reconstruct(np.zeros(1, dtype=np.int64))  # IVF direct map, once, not on a query
        return search

    def search(self, text_vectors: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """(rows, scores), each (n_texts, k): catalog rows best first (ties: lower row first),
        and their model scores. Rows are always in [0, len(self)); -1 only if the catalog
        (or the candidates found) has fewer than ``k`` images."""
        if self.threads is None:
            return self._search(text_vectors, k)
        with _thread_limit(self.threads):
            return self._search(text_vectors, k)

    def exhaustive(self, text_vectors: np.ndarray, k: int = 10,
                   chunk: int = 25_000) -> tuple[np.ndarray, np.ndarray]:
        """The re-ranker's top-k over *every* stored image (no candidate stage), as :meth:`search`
        returns it: what the two stages approximate, on the same stored vectors."""
        text_vectors = _check_matrix(text_vectors, "text_vectors")
        rows = np.zeros((len(text_vectors), 0), dtype=np.int64)
        scores = np.zeros((len(text_vectors), 0), dtype=np.float32)
        for start in range(0, len(self), chunk):
            block = np.arange(start, min(start + chunk, len(self)))
            side = self._take(block)
            found_rows, found_scores = exhaustive_top_k(self.ranker, side, text_vectors, k, start)
            rows, scores = merge_top_k(rows, scores, found_rows, found_scores, k)
        return rows, scores

    def _take(self, rows: np.ndarray) -> Any:
        """The projected image side of catalog ``rows``, the candidate field from the FAISS index."""
        return self.store.take(rows, projected=True, **{self.candidate_field: self.candidates.reconstruct(rows)})

    def score_rows(self, rows: np.ndarray, text_vectors: np.ndarray) -> np.ndarray:
        """The re-ranker's scores (n_texts, len(rows)) of catalog ``rows``, as :meth:`search` gives them."""
        return self.ranker.score_grid(self._take(rows), _check_matrix(text_vectors, "text_vectors"))

    def _search(self, text_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        text_vectors = _check_matrix(text_vectors, "text_vectors")
        if k < 1:
            raise ValueError("k must be at least 1")
        n_cand = max(self.n_candidates, k)
        all_rows = self.candidates.search(l2_normalise(text_vectors), n_cand)
        out_rows = np.full((len(text_vectors), k), -1, dtype=np.int64)
        out_scores = np.full((len(text_vectors), k), np.nan, dtype=np.float32)
        for i, rows in enumerate(all_rows):
            rows = np.sort(rows[rows >= 0])
            if len(rows) == 0:
                continue
            side = self._take(rows)
            scores = self.ranker.score_grid(side, text_vectors[i:i + 1])[0]
            order = np.argsort(-scores, kind="stable")[:k]
            out_rows[i, :len(order)] = rows[order]
            out_scores[i, :len(order)] = scores[order]
        return out_rows, out_scores


_CONTROLLER: Any = None


def _thread_limit(threads: int) -> Any:
    global _CONTROLLER
    from threadpoolctl import ThreadpoolController

    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=threads)


def exhaustive_top_k(model: Any, image_side: Any, text_vectors: np.ndarray, k: int = 10,
                     offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Reference: the model's top-k over every image of ``image_side`` (rows + ``offset``)."""
    scores = model.score_grid(image_side, text_vectors)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return order + offset, np.take_along_axis(scores, order, axis=1)


def merge_top_k(rows_a: np.ndarray, scores_a: np.ndarray, rows_b: np.ndarray, scores_b: np.ndarray,
                k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best k of two top-k lists per query (ties: lower row first), as :func:`exhaustive_top_k`."""
    rows = np.concatenate([rows_a, rows_b], axis=1)
    scores = np.concatenate([scores_a, scores_b], axis=1)
    order = _lexsort_rows(rows, scores)[:, :k]
    return np.take_along_axis(rows, order, 1), np.take_along_axis(scores, order, 1)


def _lexsort_rows(rows: np.ndarray, scores: np.ndarray) -> np.ndarray:
    return np.stack([np.lexsort((r, -s)) for r, s in zip(rows, scores)])
