"""torchvision ResNet image backends (``resnet18``, ``resnet50``).

Registered in :data:`~imagesearch.embedding.encoders.registry.IMAGE_ENCODERS`.
"""
from __future__ import annotations

from functools import cached_property
from typing import Any

from imagesearch.embedding.encoders.image_base import TorchImageEncoder
from imagesearch.embedding.encoders.registry import IMAGE_ENCODERS
from imagesearch.hashing import hash_file


class TorchvisionResNet(TorchImageEncoder):
    """A torchvision ResNet without its classifier; the vector is the global-average-pooled map.

    Options: ``weights_path`` — a state_dict file (``torch.save(model.state_dict(), path)``).
    Without it the torchvision ImageNet weights are used: from the torch hub cache, else
    downloaded (fails offline, with a message saying so).
    """

    arch: str = ""
    features_dim: int = 0
    mean = (0.485, 0.456, 0.406)
    std = (0.229, 0.224, 0.225)

    @property
    def dim(self) -> int:
        return self.features_dim

    @cached_property
    def _weights_hash(self) -> str | None:
        path = self.options.get("weights_path")
        return hash_file(path) if path else None

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "weights_sha256": self._weights_hash}

    def _load_model(self) -> Any:
        import torch
        import torchvision

        model = getattr(torchvision.models, self.arch)(weights=None)
        path = self.options.get("weights_path")
        if path:
            state = torch.load(path, map_location="cpu", weights_only=True)
        else:
            weights = torchvision.models.get_model_weights(self.arch).DEFAULT
            try:
                state = weights.get_state_dict(progress=False, check_hash=True)
            except Exception as err:  # URLError, HTTPError, ... : no cache and no network
                raise RuntimeError(
                    f"could not load torchvision weights {weights} for {self.name}: {err}. "
                    f"Offline, put the file in the torch hub cache ({torch.hub.get_dir()}/"
                    f"checkpoints) or set options.weights_path to a saved state_dict."
                ) from err
        model.load_state_dict(state)
        model.fc = torch.nn.Identity()
        return self._prepare_module(model)


@IMAGE_ENCODERS.register("resnet18")
class ResNet18(TorchvisionResNet):
    arch, features_dim = "resnet18", 512


@IMAGE_ENCODERS.register("resnet50")
class ResNet50(TorchvisionResNet):
    arch, features_dim = "resnet50", 2048
