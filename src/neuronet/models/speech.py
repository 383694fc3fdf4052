"""A CTC speech model: waveforms → per-frame log-probabilities over an alphabet and the blank.

The layers follow DeepSpeech2 (Amodei et al., 2016) and the Keras CTC speech example, small:

1. log-mel frames of the waveform (25 ms windows every 10 ms, `torch.stft` and a mel filter
   bank), each utterance normalised by its own mean and deviation per band (as the Keras
   example does: no statistic is carried over from other clips, so a louder microphone reads
   the same);
2. SpecAugment while training (Park et al., 2019): a few frequency bands and time spans of
   each spectrogram are zeroed, as dropout zeroes units;
3. two 2-D convolutions over (frequency, time), the first one halving the frame rate (20 ms);
4. a bidirectional GRU or LSTM (packed, so padding never changes a clip's output) or a
   Transformer encoder (padding masked), and a linear layer to the alphabet.

Inputs are waveforms (B, samples) at `rate` Hz, padded with zeros at the end: a clip ends at its
last non-zero sample (`wave_lengths`), so a batch needs no separate lengths. The output is a
`CTCOutput`: log-probabilities (B, T, alphabet) and each clip's number of real frames.
"""

from __future__ import annotations

import math
from typing import ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from neuronet.datasets.audio import wave_lengths
from neuronet.errors import ConfigError
from neuronet.models.registry import MODELS, init_seed

__all__ = ["CTCOutput", "LogMel", "SpeechCTC", "spec_augment", "wave_lengths"]


class CTCOutput(NamedTuple):
    """Per-frame log-probabilities (B, T, C), blank at 0, and the real frames of each row (B,)."""

    log_probs: torch.Tensor
    lengths: torch.Tensor


class LogMel(nn.Module):
    """Log-mel frames (B, n_mels, T) of waveforms (B, S), each clip normalised per band over its real frames.

    Args:
        rate: Sample rate of the waveforms (Hz).
        n_mels: Mel bands.
        window_ms, hop_ms: Analysis window and frame step.
    """

    def __init__(self, rate: int = 16_000, n_mels: int = 80, window_ms: float = 25.0, hop_ms: float = 10.0) -> None:
        super().__init__()
        from neuronet.datasets.audio import mel_filterbank

        self.rate, self.n_mels = rate, n_mels
        self.win = int(round(rate * window_ms / 1000))
        self.hop = int(round(rate * hop_ms / 1000))
        self.n_fft = 2 ** math.ceil(math.log2(self.win))
        self.register_buffer("window", torch.hann_window(self.win), persistent=False)
        self.register_buffer("filters", mel_filterbank(n_mels, self.n_fft, rate, 20.0, rate / 2), persistent=False)

    def frames(self, samples: torch.Tensor) -> torch.Tensor:
        """Frames that `samples` waveform samples make (at least one)."""
        return samples.clamp(min=1) // self.hop + 1

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.shape[1] <= self.n_fft:  # the frame's reflected edges need more samples than a very short clip has
            x = F.pad(x, (0, self.n_fft + 1 - x.shape[1]))
        spectrum = torch.stft(x.float(), self.n_fft, self.hop, self.win, self.window, pad_mode="constant",
                              return_complex=True)  # zeros beyond the ends: a clip reads the same alone or padded
        mel = torch.log(self.filters @ spectrum.abs().pow(2) + 1e-6)  # (B, n_mels, T)
        frames = self.frames(lengths).clamp(max=mel.shape[-1])
        real = (torch.arange(mel.shape[-1], device=x.device)[None, :] < frames[:, None]).unsqueeze(1)  # (B, 1, T)
        count = frames[:, None, None].float()
        mean = (mel * real).sum(-1, keepdim=True) / count
        std = (((mel - mean) * real).pow(2).sum(-1, keepdim=True) / count).sqrt()
        return (mel - mean) / (std + 1e-5) * real, frames


def spec_augment(mel: torch.Tensor, frames: torch.Tensor, freq_masks: int, freq_width: int, time_masks: int,
                 time_width: float) -> torch.Tensor:
    """SpecAugment: `freq_masks` bands of up to `freq_width` mel bands and `time_masks` spans of up to
    `time_width` of each clip's frames, set to zero (the normalised mean), at random (torch's RNG).

    Example:
        >>> out = spec_augment(torch.ones(1, 10, 50), torch.tensor([50]), 1, 4, 1, 0.1)
        >>> 0 < int((out == 0).sum()) <= 4 * 50 + 10 * 5
        True
    """
    b, n_mels, t = mel.shape
    keep = torch.ones(b, n_mels, t, dtype=torch.bool, device=mel.device)
    bands = torch.arange(n_mels, device=mel.device)[None, :, None]
    steps = torch.arange(t, device=mel.device)[None, None, :]
    for _ in range(freq_masks):
        width = torch.randint(0, freq_width + 1, (b, 1, 1), device=mel.device)
        start = (torch.rand(b, 1, 1, device=mel.device) * (n_mels - width + 1)).long()
        keep &= ~((bands >= start) & (bands < start + width))
    for _ in range(time_masks):
        widest = (frames.float() * time_width).floor().long().clamp(min=0)[:, None, None]
        width = (torch.rand(b, 1, 1, device=mel.device) * (widest + 1)).long()
        start = (torch.rand(b, 1, 1, device=mel.device) * (frames[:, None, None] - width + 1).clamp(min=1)).long()
        keep &= ~((steps >= start) & (steps < start + width))
    return mel * keep


class _Positions(nn.Module):
    """Sinusoidal positions (Vaswani et al., 2017) added to (B, T, D) frames: clips of any length."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        position = torch.arange(x.shape[1], device=x.device, dtype=torch.float32)[:, None]
        scale = torch.exp(torch.arange(0, self.dim, 2, device=x.device, dtype=torch.float32) * (-math.log(1e4) / self.dim))
        table = torch.zeros(x.shape[1], self.dim, device=x.device)
        table[:, 0::2], table[:, 1::2] = torch.sin(position * scale), torch.cos(position * scale[: self.dim // 2])
        return x + table.to(x.dtype)


@MODELS.register("speech_ctc", "Speech to text (CTC): log-mel frames, SpecAugment, 2-D convolutions, a bidirectional "
                               "GRU / LSTM or a Transformer encoder, per-frame characters.")
class SpeechCTC(nn.Module):
    """Waveforms (B, samples) → `CTCOutput` over `num_outputs` symbols (the alphabet, blank first).

    Args:
        input_shape: (samples,) of the padded training clips (any length is read).
        num_outputs: The alphabet's size, the blank included.
        rate: Sample rate the waveforms are at (the data's; set from it).
        n_mels: Mel bands of the log-mel frames.
        channels: Channels of the two convolutions.
        encoder: "gru", "lstm" (bidirectional) or "transformer".
        hidden: Units per direction of the recurrent encoder, or the Transformer's width.
        layers: Stacked encoder layers.
        heads: Attention heads (Transformer encoder).
        dropout: Dropout between layers and before the output layer.
        freq_masks, freq_width: SpecAugment frequency masks per clip and their widest (mel bands).
        time_masks, time_width: SpecAugment time masks per clip and their widest (a fraction of the clip).
        seed: Seed for the initial weights.

    Example:
        >>> model = SpeechCTC((16000,), 29, hidden=32, layers=1, seed=0).eval()
        >>> out = model(torch.randn(2, 16000) * torch.tensor([[1.0] * 16000, [1.0] * 8000 + [0.0] * 8000]))
        >>> tuple(out.log_probs.shape), out.lengths.tolist()
        ((2, 51, 29), [51, 26])
    """

    layouts: ClassVar[tuple[str, ...]] = ("speech",)
    task: ClassVar[str] = "transcription"
    eval_batch_size: ClassVar[int] = 32  # clips per forward pass when predicting (a minute of audio is 960k samples)

    def __init__(self, input_shape: tuple[int, ...], num_outputs: int, rate: int = 16_000, n_mels: int = 80,
                 channels: int = 32, encoder: str = "gru", hidden: int = 256, layers: int = 3, heads: int = 4,
                 dropout: float = 0.1, freq_masks: int = 2, freq_width: int = 15, time_masks: int = 2,
                 time_width: float = 0.05, seed: int | None = 0) -> None:
        super().__init__()
        if encoder not in ("gru", "lstm", "transformer"):
            raise ConfigError(f"The 'encoder' of model speech_ctc must be gru, lstm or transformer. Got {encoder!r} instead.")
        for name, value, low in (("rate", rate, 1000), ("n_mels", n_mels, 8), ("channels", channels, 1),
                                 ("hidden", hidden, 1), ("layers", layers, 1), ("num_outputs", num_outputs, 2)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"The '{name}' of model speech_ctc must be a whole number >= {low}. Got {value!r} instead.")
        if encoder == "transformer" and hidden % heads:
            raise ConfigError(f"A Transformer encoder's width (hidden={hidden}) must divide by its heads ({heads}).")
        self.rate, self.encoder_kind = rate, encoder
        self.hparams = {"rate": rate, "n_mels": n_mels, "channels": channels, "encoder": encoder, "hidden": hidden,
                        "layers": layers, "heads": heads, "dropout": dropout, "freq_masks": freq_masks,
                        "freq_width": freq_width, "time_masks": time_masks, "time_width": time_width, "seed": seed}
        self.augment = (freq_masks, freq_width, time_masks, time_width)
        with init_seed(seed):
            self.features = LogMel(rate, n_mels)
            self.conv = nn.ModuleList([
                nn.Sequential(nn.Conv2d(1, channels, 3, stride=(2, 2), padding=1), nn.BatchNorm2d(channels), nn.GELU()),
                nn.Sequential(nn.Conv2d(channels, channels, 3, stride=(2, 1), padding=1), nn.BatchNorm2d(channels),
                              nn.GELU())])
            bands = (n_mels + 1) // 2
            bands = (bands + 1) // 2
            self.project = nn.Linear(channels * bands, hidden)
            if encoder == "transformer":
                self.positions = _Positions(hidden)
                layer = nn.TransformerEncoderLayer(hidden, heads, 4 * hidden, dropout, batch_first=True, norm_first=True,
                                                   activation="gelu")
                layer.self_attn.dropout = 0.0  # on a CPU, dropping attention weights (B, heads, T, T) costs a third of a step
                self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
                out = hidden
            else:
                rnn = nn.GRU if encoder == "gru" else nn.LSTM
                self.encoder = rnn(hidden, hidden, layers, batch_first=True, bidirectional=True,
                                   dropout=dropout if layers > 1 else 0.0)
                out = 2 * hidden
            self.dropout = nn.Dropout(dropout)
            self.head = nn.Linear(out, num_outputs)

    def output_lengths(self, samples: torch.Tensor) -> torch.Tensor:
        """Output frames for clips of `samples` samples (20 ms each)."""
        return (self.features.frames(samples) + 1) // 2

    def batch_samples(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The batch as long as its longest clip, rounded up to half a second: padding changes no output, and
        with a few lengths only, the CPU's kernels (oneDNN caches one per shape) and the allocator keep their
        memory (batches of every length grew a Transformer's process by ~36 MB a step)."""
        step = max(self.rate // 2, 1)
        size = -(-max(int(lengths.max()) if len(x) else 1, 1) // step) * step
        return x[:, :size] if x.shape[1] >= size else F.pad(x, (0, size - x.shape[1]))

    def forward(self, x: torch.Tensor) -> CTCOutput:
        lengths = wave_lengths(x)
        x = self.batch_samples(x, lengths)
        mel, frames = self.features(x, lengths)
        if self.training and any(self.augment[::2]):
            mel = spec_augment(mel, frames, *self.augment)
        h = mel.unsqueeze(1)  # (B, 1, bands, T)
        out_lengths = None
        for block in self.conv:  # the frames after a clip's end are zeroed after each block, as they were before it
            h = block(h)
            out_lengths = self.output_lengths(lengths).clamp(max=h.shape[-1])
            h = h * (torch.arange(h.shape[-1], device=h.device) < out_lengths[:, None])[:, None, None, :]
        h = self.project(h.flatten(1, 2).transpose(1, 2))  # (B, T/2, width)
        if self.encoder_kind == "transformer":
            pad = torch.arange(h.shape[1], device=h.device)[None, :] >= out_lengths[:, None]
            h = self.encoder(self.positions(h), src_key_padding_mask=pad)
        else:
            packed = pack_padded_sequence(h, out_lengths.cpu(), batch_first=True, enforce_sorted=False)
            h, _ = pad_packed_sequence(self.encoder(packed)[0], batch_first=True, total_length=h.shape[1])
        logits = self.head(self.dropout(h))
        return CTCOutput(F.log_softmax(logits.float(), dim=-1), out_lengths)

    @torch.no_grad()
    def spectrogram(self, x: torch.Tensor) -> torch.Tensor:
        """The normalised log-mel frames (B, n_mels, T) the model reads, for plots."""
        lengths = wave_lengths(x)
        return self.features(self.batch_samples(x, lengths), lengths)[0]
