"""A small network importable by module path, as the pytorch flavor's state dicts require."""

from __future__ import annotations

import torch


class TinyNet(torch.nn.Module):
    def __init__(self, n_in: int = 4, hidden: int = 8) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Linear(n_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.body(x), dim=1)
