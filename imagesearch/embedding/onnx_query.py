"""Encodes a query with the ONNX copy of a text encoder, without importing torch.

A saved text encoder that has one (MiniLM, CLIP/SigLIP) carries the copy in ``onnx/``:
``model.onnx`` (transformer -> pooling -> L2 normalisation, all inside the graph), the model's
``tokenizer.json`` and ``onnx_text.json`` (max_length, dim, ...), written when the embed_texts
stage saves the encoder (:mod:`imagesearch.embedding.encoders.onnx_export`).
:class:`OnnxTextEncoder` loads that folder with only numpy, onnxruntime and tokenizers, and
encodes texts to the same vectors as the torch encoder (up to float rounding).
"""
from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "onnx_text.json"


class OnnxTextEncoder:
    """Encodes texts with a folder written by ``encoders/onnx_export.py`` (no torch).

    The tokenizer and the ONNX session open on the first encode (once, under a lock): a query on
    another route (a Russian one, through the multilingual encoder) never pays for them, and the
    server's warm-up query does before it reports ready."""

    name = "minilm-onnx"

    def __init__(self, folder: str | Path, config: dict, threads: int | None = None, batch_size: int = 64) -> None:
        self.folder = Path(folder)
        self.config = config
        self.threads = threads
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._opened: tuple[Any, Any, list[str]] | None = None

    @classmethod
    def load(cls, folder: str | Path, threads: int | None = None) -> "OnnxTextEncoder":
        """The copy in ``folder``; ``threads`` caps the session's intra-op threads."""
        folder = Path(folder)
        config = json.loads((folder / CONFIG_FILE).read_text())
        for name in (MODEL_FILE, TOKENIZER_FILE):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"{folder / name}: the ONNX text encoder's {name} is missing")
        return cls(folder, config, threads)

    def _open(self) -> tuple[Any, Any, list[str]]:
        """(session, tokenizer, the session's input names), opened on the first call."""
        with self._lock:
            if self._opened is None:
                import onnxruntime as ort
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(self.folder / TOKENIZER_FILE))
                # Same as sentence-transformers: truncate to max_seq_length, pad to the longest in batch.
                tokenizer.no_padding()
                tokenizer.enable_truncation(max_length=int(self.config["max_length"]))
                tokenizer.enable_padding(pad_id=int(self.config["pad_id"]), pad_token=self.config["pad_token"])
                options = ort.SessionOptions()
                if self.threads:
                    options.intra_op_num_threads = self.threads
                options.log_severity_level = 3
                session = ort.InferenceSession(str(self.folder / MODEL_FILE), options,
                                               providers=["CPUExecutionProvider"])
                self._opened = (session, tokenizer, [i.name for i in session.get_inputs()])
            return self._opened

    @property
    def is_open(self) -> bool:
        """Whether the tokenizer and session have opened (on the first encode)."""
        return self._opened is not None

    @property
    def dim(self) -> int:
        return int(self.config["dim"])

    def encode(self, texts: str | Sequence[str], batch_size: int | None = None,
               progress: bool = False) -> np.ndarray:
        """Encode texts (one string is allowed) -> ``(n, dim)`` float32, L2-normalised rows."""
        if isinstance(texts, str):
            texts = [texts]
        texts = [str(text) for text in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch_size = batch_size or self.batch_size
        session, tokenizer, inputs = self._open()
        out = []
        for start in range(0, len(texts), batch_size):
            encodings = tokenizer.encode_batch(texts[start:start + batch_size])
            feeds = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            out.append(session.run(None, {k: feeds[k] for k in inputs})[0])
        vectors = np.concatenate(out).astype(np.float32, copy=False)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)
