"""Micro-batching: concurrent queries answered together, exactly as one at a time."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from imagesearch.serving.batching import MicroBatcher
from imagesearch.serving.searcher import QueryError


QUERIES = [(f"a {colour} {shape}", k) for colour in ("red", "green", "blue", "yellow")
           for shape in ("circle", "square", "triangle") for k in (1, 3)]


def test_batched_answers_equal_sequential_ones_and_batches_form(searcher) -> None:
    batcher = MicroBatcher(searcher, max_batch=8, max_wait_ms=20.0, workers=2)
    try:
        with ThreadPoolExecutor(max_workers=12) as pool:
            batched = list(pool.map(lambda item: batcher.search(*item), QUERIES))
        assert batched == [searcher.search(query, k) for query, k in QUERIES]
        assert sum(batcher.batch_sizes) == len(QUERIES) and max(batcher.batch_sizes) > 1
        # blocked and bad queries never reach a batch
        assert batcher.search("a little boy with a red circle", 3).disclaimer is not None
        with pytest.raises(QueryError):
            batcher.search("   ", 3)
        assert sum(batcher.batch_sizes) == len(QUERIES)
    finally:
        batcher.close()
