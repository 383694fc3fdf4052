"""`EpochState`: what the Trainer accumulates inside one epoch, and saves in a mid-epoch checkpoint."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = ["EpochState"]


@dataclass
class EpochState:
    """The running epoch: batches done, their losses and LRs, the outputs kept for train metrics.

    Saved in a checkpoint together with the random-number generator state, so that a run
    resumed in the middle of an epoch sees the same remaining batches, draws the same dropout
    masks and augmentations, and reports the same epoch record as an uninterrupted run.
    """

    batch: int = 0
    losses: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
    outputs: list[torch.Tensor] = field(default_factory=list)
    targets: list[torch.Tensor] = field(default_factory=list)
    extra: dict[str, list[torch.Tensor]] = field(default_factory=dict)  # per-batch statistics of subclasses (GAN)
    elapsed: float = 0.0  # seconds spent in this epoch before the last resume
    rng: torch.Tensor | None = None  # the CPU generator's state at the checkpoint (mid-epoch only)
    cuda_rng: list[torch.Tensor] | None = None
    started: float = field(default_factory=time.perf_counter, repr=False)

    def add(self, loss: float, lr: float, out: Any = None, y: torch.Tensor | None = None) -> None:
        """Record one training step."""
        self.batch += 1
        self.losses.append(loss)
        self.lrs.append(lr)
        if out is not None:
            self.outputs.append(out)
            self.targets.append(y)

    def restore_or_seed_rng(self, seed: int, device: torch.device) -> None:
        """Resumed mid-epoch: continue the generators where they were. Otherwise seed them for this epoch
        (dropout, augmentation: a function of the run's seed and the epoch)."""
        if self.batch and self.rng is not None:
            torch.set_rng_state(self.rng)
            if self.cuda_rng is not None and device.type == "cuda":
                torch.cuda.set_rng_state_all(self.cuda_rng)
            return
        torch.default_generator.manual_seed(seed)  # torch.manual_seed also walks every backend (~80 µs)
        if device.type == "cuda":
            torch.cuda.manual_seed(seed)

    def seconds(self) -> float:
        """Time spent in this epoch so far, across resumes."""
        return self.elapsed + time.perf_counter() - self.started

    def to_dict(self) -> dict[str, Any]:
        """Checkpoint state (tensors are stored in the safetensors file)."""
        state: dict[str, Any] = {"batch": self.batch, "losses": self.losses, "lrs": self.lrs, "elapsed": self.seconds()}
        if self.batch:
            state["rng"] = torch.get_rng_state()
            if torch.cuda.is_available() and torch.cuda.is_initialized():
                state["cuda_rng"] = torch.cuda.get_rng_state_all()
            if self.outputs:
                outs = self.outputs
                state["outputs"] = tuple(torch.cat(p) for p in zip(*outs)) if isinstance(outs[0], tuple) else torch.cat(outs)
                state["targets"] = torch.cat(self.targets)
            state["extra"] = {k: torch.stack(v) for k, v in self.extra.items() if v}
        return state

    @classmethod
    def from_dict(cls, state: dict[str, Any] | None) -> EpochState:
        if not state or not state.get("batch"):
            return cls()
        outputs = state.get("outputs")
        return cls(batch=state["batch"], losses=list(state["losses"]), lrs=list(state["lrs"]),
                   outputs=[] if outputs is None else [outputs], targets=[] if outputs is None else [state["targets"]],
                   extra={k: list(v) for k, v in state.get("extra", {}).items()}, elapsed=state["elapsed"],
                   rng=state.get("rng"), cuda_rng=state.get("cuda_rng"))
