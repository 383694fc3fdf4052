"""Mixed precision for training steps (`Trainer(precision=...)`, `train.precision` in a config).

- "32": plain float32 (the default).
- "bf16": bfloat16 autocast, on a CUDA GPU that supports it or on the CPU; no loss scaling needed.
- "16": float16 autocast with a gradient scaler (`torch.amp.GradScaler`), on a CUDA GPU.

Weights, optimizer state and evaluation stay in float32; only the training forward pass runs in
the lower precision, where PyTorch's autocast deems it safe (matrix products, convolutions).

Example:
    >>> import torch
    >>> amp = Precision("bf16", torch.device("cpu"))
    >>> with amp.autocast():
    ...     y = torch.nn.Linear(4, 2)(torch.ones(1, 4))
    >>> y.dtype
    torch.bfloat16
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from neuronet.errors import ConfigError

__all__ = ["Precision", "PRECISIONS"]

PRECISIONS = ("32", "bf16", "16")


class Precision:
    """Autocast and (for float16) gradient scaling around a training step.

    Args:
        precision: "32", "bf16" or "16".
        device: Where the model trains.

    Raises:
        ConfigError: a precision the device cannot run (float16 needs CUDA; bfloat16 a GPU that has it).
    """

    def __init__(self, precision: str | int, device: torch.device) -> None:
        precision = str(precision)  # YAML reads `precision: 32` as a number
        if precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}.")
        if precision == "16" and device.type != "cuda":
            raise ConfigError("precision '16' (float16 with loss scaling) needs a CUDA GPU; on the CPU use "
                              "precision 'bf16' or '32'.")
        if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ConfigError("This GPU has no bfloat16; use precision '16' (float16 with loss scaling) or '32'.")
        self.name, self.device = precision, device
        self.dtype = {"32": None, "bf16": torch.bfloat16, "16": torch.float16}[precision]
        self.scaler = torch.amp.GradScaler(device.type) if precision == "16" else None

    def autocast(self) -> contextlib.AbstractContextManager:
        """The context the forward pass and loss run in."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        """Backpropagate (the loss scaled first, for float16)."""
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def unscale(self, optimizer: torch.optim.Optimizer) -> None:
        """Bring the gradients back to their true scale (before clipping them)."""
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """The optimizer step (skipped by the scaler when float16 gradients overflowed)."""
        if self.scaler is None:
            optimizer.step()
            return
        self.scaler.step(optimizer)
        self.scaler.update()

    def float32(self, out: Any) -> Any:
        """Outputs as float32, for metrics (integer outputs, such as a CTC model's frame counts, as they are)."""
        if self.dtype is None:
            return out
        as_float = lambda o: o.float() if o.is_floating_point() else o  # noqa: E731 - lengths stay whole numbers
        return tuple(as_float(o) for o in out) if isinstance(out, tuple) else as_float(out)

    def state_dict(self) -> dict[str, Any] | None:
        return self.scaler.state_dict() if self.scaler is not None else None

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)
