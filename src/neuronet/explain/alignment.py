"""Where a CTC speech model hears each character: its best frame path over the spectrogram it read.

The plot shows the normalised log-mel spectrogram of a clip and, below it, the model's greedy
frame path (each output frame's most likely symbol): a character is drawn at the frame that
emits it, the blank frames between them are left empty, and the probability of the emitted
symbol is drawn as a line, so a listener can see which stretch of sound became which letter and
how sure the model was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

__all__ = ["ctc_alignment", "plot_alignment"]


@torch.no_grad()
def ctc_alignment(predictor: Any, x: torch.Tensor) -> dict[str, Any]:
    """The greedy frame path of one prepared clip x (1, samples): the spectrogram (n_mels, frames), each output
    frame's symbol and probability, the frames that emit a character, and the transcript."""
    model = predictor.model.eval()
    alphabet = predictor.pipeline.transcripts.alphabet
    clip = x[:1].to(predictor.device)
    out = model(clip)
    n = int(out.lengths[0])
    probs = out.log_probs[0, :n].float().exp().cpu()
    best = probs.argmax(dim=-1).tolist()
    starts = [t for t, s in enumerate(best) if s != 0 and (t == 0 or s != best[t - 1])]  # where each character is emitted
    return {"spectrogram": model.spectrogram(clip)[0].cpu(), "path": best,
            "confidence": probs.max(dim=-1).values.tolist(),
            "emitted": [(t, alphabet.symbols[best[t]]) for t in starts],
            "transcript": alphabet.decode([best[t] for t in starts])}


def plot_alignment(predictor: Any, x: torch.Tensor, path: str | Path, reference: str | None = None) -> Path:
    """alignment.png: the spectrogram of clip x (1, samples) and the characters the model emits along it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    found = ctc_alignment(predictor, x)
    spec = found["spectrogram"].numpy()
    frames = spec.shape[1]
    out_frames = len(found["path"])
    step = frames / max(out_frames, 1)  # spectrogram frames per output frame
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(8.0, min(24.0, frames / 25)), 5.2), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1.3]})
    top.imshow(spec, origin="lower", aspect="auto", cmap="magma", extent=(0, frames, 0, spec.shape[0]))
    top.set_ylabel("mel band")
    title = f"heard: {found['transcript']!r}"
    top.set_title(title + (f"\nsaid: {reference!r}" if reference is not None else ""), fontsize=10, loc="left")
    centres = [(t + 0.5) * step for t in range(out_frames)]
    bottom.plot(centres, found["confidence"], color="0.6", lw=1)
    for t, char in found["emitted"]:
        x_at = (t + 0.5) * step
        top.axvline(x_at, color="white", lw=0.6, alpha=0.6)
        bottom.text(x_at, 0.5, "␣" if char == " " else char, ha="center", va="center", fontsize=11,
                    color="tab:blue", fontweight="bold")
    bottom.set_ylim(0, 1.05)
    bottom.set_ylabel("p(symbol)")
    bottom.set_xlabel("10 ms frame (a character is drawn where the model emits it; blank frames are empty)")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
