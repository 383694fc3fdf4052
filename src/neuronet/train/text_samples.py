"""`TextSamples`: after each epoch, a text the language model writes, so that its progress can be read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from neuronet.atomic import write_text
from neuronet.train.callbacks import Callback

__all__ = ["TextSamples"]

EOS = 3  # every document ends (and a generation starts) with <eos>


class TextSamples(Callback):
    """Write `folder`/epoch_NNN.txt: `max_tokens` tokens sampled from nothing (a new document) at temperature 0.8
    with the same seed every epoch. Sampling uses its own generator, so training draws the same random numbers
    with or without it (a resumed run stays exact).

    Args:
        folder: Where the samples go (the run's samples/).
        tokenizer: The run's `TextTokenizer` (ids to text).
        max_tokens: Tokens a sample has at most.
        seed: Seeds the sampling.
    """

    def __init__(self, folder: str | Path, tokenizer: Any, max_tokens: int = 120, seed: int = 0) -> None:
        self.folder, self.tokenizer, self.max_tokens, self.seed = Path(folder), tokenizer, max_tokens, seed

    @torch.no_grad()
    def after_epoch(self, trainer: Any, logs: dict[str, Any]) -> None:
        from neuronet.models.decoding import generate

        model = trainer.model
        was_training = model.training
        model.eval()
        device = next(model.parameters()).device
        generator = torch.Generator(device=device).manual_seed(self.seed)
        ids = []
        for step in generate(model, torch.tensor([[EOS]], device=device), self.max_tokens, temperature=0.8,
                             generator=generator, eos=EOS):
            if int(step[0]) == EOS:
                break
            ids.append(int(step[0]))
        model.train(was_training)
        write_text(self.folder / f"epoch_{logs['epoch']:03d}.txt", self.tokenizer.decode(ids) + "\n")
