"""Transcribing prepared recordings with a CTC model: batches of similar lengths, greedy or prefix beam-search decoding."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from neuronet.datasets.audio import wave_lengths
from neuronet.datasets.transcripts import SPACE, Alphabet, SpeechTranscripts, normalize_transcript
from neuronet.errors import ConfigError, DataError
from neuronet.models.ctc import Lexicon, ctc_beam_search, ctc_greedy

__all__ = ["lexicon", "transcribe_waves"]


def lexicon(step: SpeechTranscripts, words: Sequence[str] | None = None) -> Lexicon:
    """A `Lexicon` of `words` (default: the run's word list, the training transcripts' words) in the labels of the
    run's alphabet; each word is normalised as the transcripts were.

    Raises:
        DataError: a word with a character the alphabet lacks (it could never be written), or no word at all.
    """
    given = words is not None
    chosen = [normalize_transcript(str(w)) for w in (step.words_ if words is None else words)]
    missing = sorted({c for w in chosen for c in step.alphabet.unknown(w)})
    whose = "The word list given" if given else "The run's word list (preprocessing.json)"
    if missing:
        raise DataError(f"{whose} has characters the model never learnt to write ({''.join(missing[:10])!r}); "
                        + ("give words spelt with the training transcripts' characters." if given else
                           "it was edited: restore it, or train the run again."))
    found = Lexicon([step.alphabet.encode(part) for w in chosen for part in w.split()], space=SPACE)
    if not len(found):
        raise DataError(f"{whose} holds no word; give at least one word to keep the transcripts to.")
    return found


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
        texts.update({row: " ".join(alphabet.decode(found).split()) for row, found in zip(rows, labels)})  # one space
    return [texts[i] for i in range(len(x))]
