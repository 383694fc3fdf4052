"""Run by torchrun in tests/test_distributed.py: one epoch of the Trainer on the digits, in every process.

    python -m torch.distributed.run --standalone --nproc-per-node 2 tests/ddp_worker.py mlp 32 OUT.safetensors

Rank 0 writes the weights and the buffers (batch norm's running statistics) it ends with, and the epoch's
record as JSON beside them.
"""

from __future__ import annotations

import json
import sys

import torch
from safetensors.torch import save_file

import neuronet as nt

EXAMPLES = 1216  # 19 global batches of 64: no last batch that processes would split unevenly


def digits() -> nt.datasets.Dataset:
    train, _, _ = nt.datasets.prepare(nt.datasets.load("digits"), seed=0)
    return train.subset(list(range(EXAMPLES)))


def model(kind: str) -> torch.nn.Module:
    if kind == "mlp":
        return nt.models.MLP((1, 8, 8), 10, hidden=[32], dropout=0.0, seed=0)
    return nt.models.CNN((1, 8, 8), 10, channels=(4, 8), hidden=16, dropout=0.0, batch_norm=True, seed=0)


def main(kind: str, batch_size: int, out: str) -> None:
    torch.set_num_threads(1)
    data = digits()
    net = model(kind)
    trainer = nt.Trainer(net, optimizer="sgd", lr=0.05, batch_size=batch_size, epochs=1, progress=False,
                         doctor=False, train_metrics=True)
    history = trainer.fit(data)
    if trainer.ranks.main:
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, out)
        with open(out + ".json", "w", encoding="utf-8") as f:
            json.dump({"epochs": history.epochs, "world": trainer.ranks.world, "steps": trainer.steps_per_epoch}, f)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
