"""Vision–language text towers (``clip``, ``siglip``) in the text-encoder registry.

The text side of the models whose image side is ``vision_language.py`` (its docstring explains
options and the zero-shot cosine). ``get_text_features`` (the projected embedding) in float64,
then ``stable_unit_rows``; saving writes an ONNX copy of the tower (``onnx/``, what
:class:`~imagesearch.embedding.onnx_query.OnnxTextEncoder` loads), so search encodes queries
without torch. Shared helpers are in ``vl_common.py``; this module never imports the image side.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from imagesearch.embedding.encoders.onnx_export import export_text_onnx
from imagesearch.embedding.encoders.registry import TEXT_ENCODERS
from imagesearch.embedding.encoders.text_base import ONNX_DIR, TextEncoder
from imagesearch.embedding.encoders.vl_common import ModelFiles, check_options, torch_device

TEXT_OPTIONS = ("model", "device")


class VisionLanguageText(ModelFiles, TextEncoder):
    """The text tower of a CLIP/SigLIP model: ``get_text_features`` (the projected embedding), in
    float64, comparable with the image tower's vectors of the same model.

    Options: ``model`` (hub id or local folder) and ``device`` (``cpu``/``cuda``/``auto``; taken
    out of ``options``, so it is in no cache key, ``encoder.json`` or vector file). Texts are
    truncated to the model's position limit. The saved encoder carries an ONNX copy of the tower
    (``onnx/``, float32) that :class:`~imagesearch.embedding.onnx_query.OnnxTextEncoder` runs
    without torch at search time.
    """

    model_class: str = ""
    image_tower: tuple[str, ...] = ()    # attributes of the loaded model the text side never uses
    pad_to_max_length: bool = False      # SigLIP: trained on texts padded to max_length, no mask
    pooling: str = ""                    # how the tower pools tokens (recorded in the ONNX config)

    def __init__(self, options=None, batch_size: int = 64) -> None:
        super().__init__(options, batch_size)
        check_options(self.name, self.options, TEXT_OPTIONS)
        self.device_option: str = self.options.pop("device", "auto")
        self._tokenizer: Any = None

    @property
    def max_length(self) -> int:
        return int(self.model_config.text_config.max_position_embeddings)

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.folder)
        return self._tokenizer

    def identity(self) -> dict[str, Any]:
        """The weights' (and tokenizer's) content, not the path or hub id; never the device."""
        return {"name": self.name, "version": self.version, "weights_sha256": self.weights_sha256}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "weights_sha256": self.weights_sha256}

    def _load_model(self) -> Any:
        device = torch_device(self.device_option)
        return self.load_tower(self.model_class, self.image_tower).double().to(device)

    def _tokenize(self, texts: list[str]) -> dict[str, Any]:
        padding = "max_length" if self.pad_to_max_length else True
        tokens = self.tokenizer(texts, padding=padding, truncation=True, max_length=self.max_length,
                                return_tensors="pt")
        names = ("input_ids",) if self.pad_to_max_length else ("input_ids", "attention_mask")
        return {name: tokens[name] for name in names}

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        import torch

        device = next(self.model.parameters()).device
        with torch.inference_mode():
            inputs = {k: v.to(device) for k, v in self._tokenize(texts).items()}
            out = self.model.get_text_features(**inputs)
            features = getattr(out, "pooler_output", out)  # transformers 5: an output object
            return features.to("cpu", torch.float64).numpy()

    def _save_state(self, folder: Path) -> None:
        """Write the ONNX copy of the text tower (``onnx/``) that search encodes queries with."""
        self.export_onnx(folder / ONNX_DIR)

    def export_onnx(self, out_dir: str | Path) -> dict:
        """Export the text tower (tokens -> projected, L2-normalised vector) to ``out_dir`` in the
        format :class:`~imagesearch.embedding.onnx_query.OnnxTextEncoder` loads; return its config.

        SigLIP's graph pads its input to ``max_length`` itself (the query encoder pads to the
        longest text of a batch). Raises if the copy's vectors differ from this encoder's (cosine
        below 0.9999 or any component off by more than 1e-4 on a few sentences).
        """
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        if backend is None:
            raise RuntimeError(
                f"{self.options['model']}: its tokenizer has no `tokenizers` version "
                f"({type(self.tokenizer).__name__}), so search could not encode queries without "
                "torch; give the model folder a tokenizer.json (for SigLIP: install sentencepiece "
                "and protobuf, load it once with AutoTokenizer and save_pretrained)")
        pad_id = int(self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0)
        inputs = ("input_ids",) if self.pad_to_max_length else ("input_ids", "attention_mask")
        dummy = self.tokenizer(["an example sentence", "two"], padding=True, truncation=True,
                               max_length=self.max_length, return_tensors="pt")
        config = {
            "max_length": self.max_length, "dim": self.dim, "pad_id": pad_id,
            "pad_token": str(self.tokenizer.pad_token or self.tokenizer.convert_ids_to_tokens(pad_id)),
            "pooling": self.pooling, "source": {"encoder": self.name, "options": self.options},
        }
        return export_text_onnx(
            self._onnx_tower(pad_id), {name: dummy[name] for name in inputs}, out_dir,
            save_tokenizer=lambda path: backend.save(str(path)), config=config,
            reference=self.encode, label=self.options["model"], max_difference=1e-4)

    def _onnx_tower(self, pad_id: int) -> Any:
        """A float32 copy of the text tower as one module: tokens -> unit vectors."""
        import torch
        import transformers

        model = getattr(transformers, self.model_class).from_pretrained(self.folder).eval()
        for attribute in self.image_tower:
            setattr(model, attribute, None)
        length, fixed = self.max_length, self.pad_to_max_length

        class TextTower(torch.nn.Module):
            def __init__(self, model: torch.nn.Module) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None):
                if fixed:  # right-pad to max_length, as the tower was trained
                    block = torch.full_like(input_ids[:, :1], pad_id).expand(-1, length)
                    input_ids = torch.cat([input_ids, block], 1)[:, :length]
                out = self.model.get_text_features(input_ids=input_ids, attention_mask=attention_mask)
                features = getattr(out, "pooler_output", out)
                return torch.nn.functional.normalize(features, p=2, dim=1)

        return TextTower(model)


@TEXT_ENCODERS.register("clip")
class ClipText(VisionLanguageText):
    """CLIP's text tower: the final state at the end-of-text token, projected (causal attention,
    so padding after it changes nothing)."""

    model_class = "CLIPModel"
    image_tower = ("vision_model", "visual_projection")
    pooling = "eos"

    @property
    def dim(self) -> int:
        return int(self.model_config.projection_dim)


@TEXT_ENCODERS.register("siglip")
class SiglipText(VisionLanguageText):
    """SigLIP's text tower: the last position's state through the head, on texts padded to
    ``max_length`` with no attention mask (how it was trained)."""

    model_class = "SiglipModel"
    image_tower = ("vision_model",)
    pad_to_max_length = True
    pooling = "last"

    @property
    def dim(self) -> int:
        text = self.model_config.text_config
        return int(getattr(text, "projection_size", None) or text.hidden_size)
