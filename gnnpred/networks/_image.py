"""Shared behaviour of the image-classification networks (NAS-Bench-101 and -201 skeletons)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ImageClassifier(nn.Module):
    """Base of the CIFAR-style networks: subclasses set ``input_shape`` (``(C, H, W)``)."""

    input_shape: tuple[int, int, int]

    def reset_parameters(self) -> None:
        """Re-initialise every layer with PyTorch's default initialisation."""
        for m in self.modules():
            if m is not self and hasattr(m, "reset_parameters"):
                m.reset_parameters()

    def example_inputs(
        self, batch_size: int = 1, generator: torch.Generator | None = None
    ) -> tuple[Tensor]:
        """A random standard-normal batch ``([batch_size, *input_shape],)`` for proxies."""
        return (torch.randn(batch_size, *self.input_shape, generator=generator),)
