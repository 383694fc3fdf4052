"""Per-layer statistics of a network in training, gathered on a few sampled steps.

On a sampled step the monitor (1) copies the weights before the optimizer moves them,
(2) hooks every activation module for that one forward pass, and (3) after the step reads
each layer's gradient and how far its weights moved. Between samples nothing is hooked and
nothing is copied, so an unsampled step costs nothing.

One record per sampled step, plain numbers only (JSON; it survives a resume):

    {"step": 120, "epoch": 3, "grad_norm": 0.84,
     "layers": {"net.1": {"grad": 3.1e-03, "update": 2.2e-03}, ...},       # weight layers, forward order
     "activations": {"net.2": {"mean": 0.41, "std": 0.77, "dead": 0.06}}}  # dead: ReLUs only
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from neuronet.nn.activations import Step

__all__ = ["TrainingMonitor", "ACTIVATION_TYPES", "RELU_TYPES", "weight_layers"]

ACTIVATION_TYPES = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh,
                    nn.Softplus, Step)
RELU_TYPES = (nn.ReLU, nn.ReLU6)  # units that output exactly 0 when they do not fire
_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.RNNBase, nn.Bilinear, nn.ConvTranspose2d)


def weight_layers(model: nn.Module) -> dict[str, list[nn.Parameter]]:
    """The layers whose weights are watched, in definition order (usually forward order), with their weight
    matrices (not biases, not embeddings: an embedding's gradient is sparse by design)."""
    layers = {}
    for name, module in model.named_modules():
        if isinstance(module, _WEIGHTED):
            weights = [p for p in module.parameters(recurse=False) if p.ndim > 1]
            if weights:
                layers[name] = weights
    return layers


def _dead_fraction(out: torch.Tensor) -> torch.Tensor:
    """Share of units (features, or channels of images) that are 0 for every example and position (a tensor)."""
    if out.ndim < 2:
        return (out <= 0).all().float()
    alive = out.detach() > 0  # (B, C, ...) or (B, T, F): the unit axis is 1 for images, the last for sequences
    axis = 1 if out.ndim == 4 else out.ndim - 1
    alive = alive.movedim(axis, 0).reshape(out.shape[axis], -1).any(dim=1)
    return 1.0 - alive.float().mean()


class TrainingMonitor:
    """Collects the statistics of sampled steps (see the module docstring).

    Args:
        every_steps: Sample one training step in this many (the first step is always sampled).
        max_records: Keep at most this many records (older ones are thinned, every other one dropped).

    Example:
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        >>> monitor = TrainingMonitor(every_steps=1)
        >>> monitor.start(model, step=0)
        >>> loss = model(torch.randn(16, 4)).sum(); loss.backward()
        >>> monitor.finish(model, step=0, epoch=1)
        >>> sorted(monitor.records[0]["layers"]), list(monitor.records[0]["activations"])
        (['0', '2'], ['1'])
    """

    def __init__(self, every_steps: int = 50, max_records: int = 2000) -> None:
        self.every_steps, self.max_records = every_steps, max_records
        self.records: list[dict[str, Any]] = []
        self._before: dict[str, list[torch.Tensor]] | None = None
        self._hooks: list[Any] = []
        self._acts: dict[str, list[torch.Tensor]] = {}
        self._layers: tuple[int, dict[str, list[nn.Parameter]], list[tuple[str, nn.Module]]] | None = None

    def _watched(self, model: nn.Module) -> tuple[dict[str, list[nn.Parameter]], list[tuple[str, nn.Module]]]:
        """The weight layers and activation modules of `model`, found once per model."""
        if self._layers is None or self._layers[0] != id(model):
            acts = [(n, m) for n, m in model.named_modules() if isinstance(m, ACTIVATION_TYPES)]
            self._layers = (id(model), weight_layers(model), acts)
        return self._layers[1], self._layers[2]

    def sampled(self, step: int) -> bool:
        """Whether global step `step` (counted from 0) is one to measure."""
        return step % self.every_steps == 0

    def start(self, model: nn.Module, step: int) -> None:
        """Before a sampled step: keep the weights as they are, hook the activations."""
        layers, activations = self._watched(model)
        self._before = {name: [w.detach().clone() for w in ws] for name, ws in layers.items()}
        self._acts = {}
        for name, module in activations:
            self._hooks.append(module.register_forward_hook(self._activation_hook(name, module)))

    def _activation_hook(self, name: str, module: nn.Module):
        def hook(_: nn.Module, __: Any, out: Any) -> None:
            if name in self._acts or not isinstance(out, torch.Tensor) or out.numel() < 2:
                return  # a module called twice in one forward pass: the first call counts
            value = out.detach().float()
            std, mean = torch.std_mean(value)
            stats = [mean, std]  # tensors: read all at once in `finish` (one device sync)
            if isinstance(module, RELU_TYPES):
                stats.append(_dead_fraction(value))
            self._acts[name] = stats

        return hook

    def stop(self) -> None:
        """Remove the hooks (also when a step failed)."""
        for handle in self._hooks:
            handle.remove()
        self._hooks = []

    @torch.no_grad()
    def finish(self, model: nn.Module, step: int, epoch: int) -> None:
        """After a sampled step (gradients still on the parameters): record gradients and updates.

        Every number is computed on the device with a few `torch._foreach_norm` calls and read back at once.
        """
        self.stop()
        before, self._before = self._before or {}, None
        owners, weights, old = [], [], []
        for name, ws in self._watched(model)[0].items():
            if name in before and all(w.grad is not None for w in ws):  # else frozen
                owners += [name] * len(ws)
                weights += ws
                old += before[name]
        every = [p.grad for p in model.parameters() if p.grad is not None]
        parts = [torch._foreach_norm([w.grad for w in weights]), torch._foreach_norm(torch._foreach_sub(weights, old)),
                 torch._foreach_norm(old), torch._foreach_norm(every)] if weights else [[], [], [], []]
        acts = [torch.stack(stats) for stats in self._acts.values()]
        flat = [torch.stack(p).float() for p in parts if len(p)] + [a.float() for a in acts]
        values = torch.cat([f.reshape(-1).cpu() for f in flat]).tolist() if flat else []  # one device sync
        n = len(weights)
        grad, moved, size, rest = values[:n], values[n:2 * n], values[2 * n:3 * n], values[3 * n:]
        layers: dict[str, dict[str, float]] = {}
        sums: dict[str, list[float]] = {}
        for i, name in enumerate(owners):  # a layer's weight matrices together (an LSTM has several)
            total = sums.setdefault(name, [0.0, 0.0, 0.0, 0.0])
            for k, v in enumerate((grad[i] ** 2, moved[i] ** 2, size[i] ** 2, weights[i].numel())):
                total[k] += v
        for name, (g2, m2, w2, count) in sums.items():
            layers[name] = {"grad": math.sqrt(g2 / count) if math.isfinite(g2) else math.inf,
                            "update": math.sqrt(m2 / w2) if w2 > 0 else math.nan}
        grad_norm = math.sqrt(sum(v * v for v in rest[:len(every)])) if weights else 0.0
        activations, at = {}, len(every) if weights else 0
        for name, stats in zip(self._acts, acts):
            activations[name] = dict(zip(("mean", "std", "dead"), rest[at:at + len(stats)]))
            at += len(stats)
        self.records.append({"step": step, "epoch": epoch, "grad_norm": grad_norm, "layers": layers,
                             "activations": activations})
        self._acts = {}
        if len(self.records) > self.max_records:
            self.records = self.records[::2]

    def state_dict(self) -> dict[str, Any]:
        """The records (plain numbers)."""
        return {"records": self.records}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict`."""
        self.records = list(state.get("records", []))
