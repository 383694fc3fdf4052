"""Transcribing prepared recordings with a CTC model: batches of similar lengths, greedy or prefix beam-search decoding."""

from __future__ import annotations

import torch
from torch import nn

from neuronet.datasets.transcripts import Alphabet
from neuronet.models.ctc import Lexicon, ctc_beam_search, ctc_greedy
from neuronet.models.speech import wave_lengths
from neuronet.errors import ConfigError

__all__ = ["transcribe_waves"]


@torch.no_grad()
def transcribe_waves(model: nn.Module, x: torch.Tensor, alphabet: Alphabet, beam: int = 1, batch_size: int = 32,
                     device: torch.device | str = "cpu", lexicon: Lexicon | None = None) -> list[str]:
    """The transcript of each zero-padded waveform in `x` (N, samples).

    Clips are batched in order of length, so a batch is only as long as its longest clip,
    and returned in their given order.

    Args:
        model: A CTC model returning `CTCOutput`.
        x: Waveforms at the model's rate, padded with zeros.
        alphabet: The run's alphabet (blank at 0).
        beam: 1 for greedy decoding; more for prefix beam search with that many prefixes.
        batch_size: Clips per forward pass.
        device: Where the model is.
        lexicon: Beam search writes only these words (with beam 1, a beam of 8 is used).
    """
    if isinstance(beam, bool) or not isinstance(beam, int) or not 1 <= beam <= 256:
        raise ConfigError(f"The beam width must be a whole number in [1, 256] (1: greedy). Got {beam!r} instead.")
    if lexicon is not None and beam == 1:
        beam = 8
    model.eval()
    order = torch.argsort(wave_lengths(x), descending=True).tolist()
    texts: dict[int, str] = {}
    for first in range(0, len(order), batch_size):
        rows = order[first:first + batch_size]
        out = model(x[rows].to(device))
        log_probs, lengths = out[0].float().cpu(), out[1].cpu()
        if beam == 1:
            labels = ctc_greedy(log_probs, lengths)
        else:
            labels = [ctc_beam_search(log_probs[i, : int(lengths[i])], beam, lexicon=lexicon)[0][0]
                      for i in range(len(rows))]
        texts.update({row: alphabet.decode(found) for row, found in zip(rows, labels)})
    return [texts[i] for i in range(len(x))]
