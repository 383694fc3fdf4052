"""Data-parallel training across processes: torchrun's environment, the process group, each rank's shard.

neuronet does not launch or connect processes itself: `torchrun` (torch.distributed.run, the
elastic launcher PyTorch ships) starts one process per rank and tells each, through the
environment (`RANK`, `WORLD_SIZE`, `LOCAL_RANK`, `MASTER_ADDR`, `MASTER_PORT`), who it is and
where to meet. `Ranks.from_env` reads that; `join` opens the process group (NCCL on GPUs, gloo on
CPUs); the Trainer then wraps its model in `DistributedDataParallel`, which averages gradients.

Each rank reads its own part of every epoch, cut from the same seeded order a single process
uses (`shard_order`): global batch k of one process (batch size B x W) is split into W
consecutive parts, and rank r trains on part r. With the loss a mean over the batch, DDP's mean of
the W gradients is then the gradient of the whole global batch: 2 processes x batch 32 take the
same steps as 1 process x batch 64 (tested to float tolerance), except where a layer looks across
the batch. Batch norm does: each rank normalises by its own part's statistics (PyTorch's
SyncBatchNorm, which would share them, runs on GPUs only).
"""

from __future__ import annotations

import atexit
import datetime
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from neuronet.datasets.batching import shard_order
from neuronet.errors import ConfigError, NeuronetError

__all__ = ["PeerLost", "Ranks", "all_mean", "lost_peer", "broadcast_text", "gather_rows", "join", "replicate",
           "shard_order"]


@dataclass(frozen=True)
class Ranks:
    """This process' place among the training processes: rank (0 = the one that writes), how many (world)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """The rank that writes the run directory and shows progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Ranks:
        """The ranks torchrun set in the environment (one process when it set none).

        Raises:
            ConfigError: the variables are not whole numbers, or RANK is outside [0, WORLD_SIZE).
        """
        env = os.environ if env is None else env
        try:
            world = int(env.get("WORLD_SIZE", "1"))
            rank = int(env.get("RANK", "0"))
            local = int(env.get("LOCAL_RANK", str(rank)))
        except ValueError:
            raise ConfigError(f"WORLD_SIZE, RANK and LOCAL_RANK must be whole numbers (torchrun sets them); got "
                              f"{env.get('WORLD_SIZE')!r}, {env.get('RANK')!r}, {env.get('LOCAL_RANK')!r}.") from None
        if world < 1 or not 0 <= rank < world or local < 0:
            raise ConfigError(f"RANK {rank} of WORLD_SIZE {world} is no process of the group; start the processes "
                              "with torchrun, which numbers them 0 .. WORLD_SIZE-1.")
        return cls(rank, world, local)


class PeerLost(NeuronetError):
    """Another training process stopped (killed, out of memory, its machine gone): this one cannot go on alone."""

    def __init__(self, world: int, epoch: int, said: str, run: Path | str | None = None) -> None:
        self.world, self.epoch, self.said = world, epoch, said
        how = f"`neuronet train --resume {run}`" if run else "`neuronet train --resume` and the run's folder"
        super().__init__(f"Another of the {world} training processes stopped during epoch {epoch} ({said}: it was "
                         f"killed, ran out of memory or lost its machine); the run keeps its last checkpoint: resume "
                         f"it with {how}.")

    def in_run(self, run: Path | str) -> PeerLost:
        """The same, naming the run folder to resume."""
        return PeerLost(self.world, self.epoch, self.said, run)


def lost_peer(error: BaseException, ranks: Ranks, epoch: int) -> PeerLost | None:
    """The error to raise when `error` is a collective operation that lost its peers (gloo / NCCL), else None."""
    text = str(error)
    if not ranks.distributed or not isinstance(error, RuntimeError) or \
            not any(word in text for word in ("gloo", "NCCL", "Connection closed", "Connection reset")):
        return None
    said = "connection closed" if "closed" in text.lower() else "connection reset" if "reset" in text.lower() else \
        "a collective operation failed"
    return PeerLost(ranks.world, epoch + 1, said)


def join(device: torch.device, ranks: Ranks | None = None) -> Ranks:
    """Open the process group torchrun describes (once per process; NCCL on GPUs, gloo on CPUs) and return the ranks.

    One process (no torchrun) opens nothing. On GPUs each process takes the GPU of its LOCAL_RANK.
    """
    ranks = ranks or Ranks.from_env()
    if not ranks.distributed:
        return ranks
    if device.type == "cuda":
        torch.cuda.set_device(ranks.local_rank)
    if not dist.is_initialized():
        backend, timeout = "nccl" if device.type == "cuda" else "gloo", datetime.timedelta(minutes=30)
        store, rank, world = next(dist.rendezvous("env://", timeout=timeout))  # torchrun's store
        # The store can outlive a group torchrun restarts (--max-restarts): each attempt keeps its own keys, or the
        # new processes would read the dead ones' addresses and fail to connect.
        store = dist.PrefixStore(f"neuronet/attempt_{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}", store)
        dist.init_process_group(backend, store=store, rank=rank, world_size=world, timeout=timeout)
        atexit.register(_leave)  # closed before the interpreter tears down: not by destructors in any order
    if dist.get_world_size() != ranks.world:
        raise ConfigError(f"The process group has {dist.get_world_size()} processes but WORLD_SIZE says {ranks.world}.")
    return ranks


def _leave() -> None:
    """Close the process group (its store and gloo's threads) in order; a process that exits with them alive can
    abort ("terminate called without an active exception") while another rank still writes the run."""
    if dist.is_initialized():
        dist.destroy_process_group()


def all_mean(values: list[float] | torch.Tensor, ranks: Ranks) -> torch.Tensor:
    """The element-wise mean of `values` over the ranks (each rank passes as many)."""
    tensor = torch.as_tensor(values, dtype=torch.float64).clone()
    if ranks.distributed:
        device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else "cpu"
        tensor = tensor.to(device)
        dist.all_reduce(tensor)
        tensor = tensor.cpu() / ranks.world
    return tensor


def gather_rows(value: Any, ranks: Ranks) -> Any:
    """Every rank's rows of `value` (a tensor or a tuple of tensors, as many rows on each rank), joined rank by rank."""
    if not ranks.distributed:
        return value
    if isinstance(value, tuple):
        return tuple(gather_rows(v, ranks) for v in value)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"gather_rows joins tensors, not {type(value).__name__}")
    parts = [torch.empty_like(value) for _ in range(ranks.world)]
    dist.all_gather(parts, value.contiguous())
    return torch.cat(parts)


def broadcast_text(text: str, ranks: Ranks) -> str:
    """Rank 0's `text` on every rank (e.g. the run directory it created), sent as UTF-8 bytes in a tensor."""
    if not ranks.distributed:
        return text
    data = torch.tensor(list(text.encode("utf-8")) if ranks.main else [], dtype=torch.uint8)
    size = torch.tensor([len(data)], dtype=torch.int64)
    dist.broadcast(size, 0)
    if not ranks.main:
        data = torch.empty(int(size), dtype=torch.uint8)
    dist.broadcast(data, 0)
    return bytes(data.tolist()).decode("utf-8")


def replicate(model: torch.nn.Module, ranks: Ranks, device: torch.device,
              compile: bool | dict[str, Any] = False) -> torch.nn.Module:
    """The module that trains: `model` itself, or, across processes, `model` in DistributedDataParallel (the
    gradients averaged over the ranks in backward); through `torch.compile` when asked (True, or its
    arguments). It shares `model`'s parameters: weights are saved from `model`, with no `module.` or
    `_orig_mod.` prefix.
    """
    if ranks.distributed:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(model, device_ids=[ranks.local_rank] if device.type == "cuda" else None)
    if isinstance(compile, dict):
        from neuronet.params import validate_params
        from neuronet.train.options import COMPILE_PARAMS

        validate_params(COMPILE_PARAMS, compile, "the compile options")
        if compile.get("backend", "inductor") not in torch._dynamo.list_backends(exclude_tags=()):
            raise ConfigError(f"train.compile: backend {compile['backend']!r} is not one torch.compile knows; use one "
                              f"of {', '.join(torch._dynamo.list_backends())} (inductor is the default).")
    return torch.compile(model, **({} if compile is True else compile)) if compile else model
