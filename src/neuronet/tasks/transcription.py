"""Speech to text: a CTC model's per-frame characters read as transcripts, scored by word and character error rate.

Outputs are a `CTCOutput` (log-probabilities over the alphabet and the blank, and each clip's
frames); targets the transcripts' label ids (B, L) padded with 0, the blank. For scoring a split
each clip keeps its CTC loss and its greedy transcript's labels, not the log-probabilities
(`compact`). WER and CER are jiwer's, on the labels read as text: the word separator, a space,
is always label 1 (`neuronet.datasets.transcripts.SPACE`), so no alphabet is needed to count
words.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from neuronet.datasets.transcripts import SPACE, padded
from neuronet.errors import ConfigError
from neuronet.tasks.base import TASKS, Task
from neuronet.tasks.metrics import METRICS, Metric

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel

__all__ = ["Transcription", "ctc_alignment", "error_rates", "label_texts", "plot_alignment"]
WORST = 5  # test clips with the highest error rates shown by `evaluate` and the report


def label_texts(labels: torch.Tensor) -> list[str]:
    """Rows of label ids (0: padding) as text: a space for label 1, another character for each other label.

    Example:
        >>> label_texts(torch.tensor([[3, 4, 1, 3, 0], [0, 0, 0, 0, 0]]))
        ['ăĄ ă', '']
    """
    return ["".join(" " if i == SPACE else chr(0x100 + i) for i in row if i > 0) for row in labels.tolist()]


def error_rates(references: list[str], hypotheses: list[str]) -> dict[str, float]:
    """Word and character error rates (jiwer) over a corpus; a blank reference is left out of both.

    Example:
        >>> error_rates(["four one seven", "nine"], ["for one seven", "nine"])
        {'wer': 0.25, 'cer': 0.055556}
    """
    try:
        import jiwer
    except ImportError:
        raise ConfigError("Word and character error rates are measured with jiwer: pip install 'neuronet[speech]'.") \
            from None
    pairs = [(r, h) for r, h in zip(references, hypotheses) if r.strip()]
    if not pairs:
        return {"wer": float("nan"), "cer": float("nan")}
    refs, hyps = [r for r, _ in pairs], [h for _, h in pairs]
    return {"wer": round(float(jiwer.wer(refs, hyps)), 6), "cer": round(float(jiwer.cer(refs, hyps)), 6)}


def _rate(which: str):  # noqa: ANN202 - a metric function
    def metric(outputs: Any, targets: torch.Tensor, task: Task) -> float:
        return error_rates(label_texts(targets), label_texts(outputs[1]))[which]

    return metric


for _name, _help in (("wer", "Word error rate: (substituted + deleted + inserted words) / reference words (jiwer)."),
                     ("cer", "Character error rate: the same over characters, spaces included (jiwer).")):
    METRICS.add(_name, Metric(_rate(_name), ("transcription",), False, _help), _help)


@TASKS.register("transcription", "Speech to text: a transcript of each recording (CTC), scored by WER and CER.")
class Transcription(Task):
    """Outputs are a `CTCOutput`; targets label ids (B, L), 0-padded; predictions are transcripts (strings).

    Example:
        >>> from neuronet.models import CTCOutput
        >>> frames = torch.tensor([[[0.1, 0.1, 0.8], [0.9, 0.05, 0.05], [0.1, 0.8, 0.1]]]).log()
        >>> kept = Transcription().compact(CTCOutput(frames, torch.tensor([3])), torch.tensor([[2, 1]]))
        >>> kept[1].tolist(), Transcription().score(kept, torch.tensor([[2, 1]]))
        ([[2, 1]], {'wer': 0.0, 'cer': 0.0})
    """

    name: ClassVar[str] = "transcription"
    default_loss: ClassVar[str] = "ctc"
    losses: ClassVar[tuple[str, ...]] = ("ctc",)
    metrics: ClassVar[tuple[str, ...]] = ("cer",)
    report_metrics: ClassVar[tuple[str, ...]] = ("wer", "cer")
    offers: ClassVar[tuple[str, ...]] = ("transcribe",)
    widget: ClassVar[dict[str, str]] = {"value": "transcript"}
    plot_files: ClassVar[tuple[str, ...]] = ("alignment.png",)
    explains: ClassVar[tuple[str, ...]] = ("alignment",)

    def compact(self, outputs: Any, targets: torch.Tensor) -> Any:
        """Each clip's CTC loss (per label) and its greedy transcript's labels (B, L'), 0-padded."""
        if outputs[0].dim() == 1:  # already kept
            return outputs
        from neuronet.models.ctc import ctc_greedy
        from neuronet.nn.losses import CTCLoss

        return CTCLoss().per_clip(outputs, targets), padded(ctc_greedy(outputs[0], outputs[1])).to(targets.device)

    def join(self, parts: list[Any]) -> Any:
        """Label rows of different widths are padded to the widest before they are joined."""
        if parts and all(isinstance(p, torch.Tensor) and p.dim() == 2 for p in parts):
            width = max(p.shape[1] for p in parts)
            parts = [F.pad(p, (0, width - p.shape[1])) for p in parts]
        return super().join(parts)

    def check_stored(self, pipeline: Any, num_outputs: int, source: Any) -> None:
        """The alphabet must have one symbol per model output (a shorter one would misname every character)."""
        from neuronet.errors import DataError

        size = len(pipeline.transcripts.alphabet)
        if size != num_outputs:
            raise DataError(f"{source} holds an alphabet of {size} symbols, but the model writes {num_outputs}; it was "
                            "edited: restore it, or train the run again.")

    def check_export(self) -> None:
        raise ConfigError("A transcription model is not exported to ONNX (its spectrogram and packed recurrent layers "
                          "have no ONNX form here); serve it with `neuronet serve RUN` (the torch backend).")

    # --- predictions ---------------------------------------------------------------------
    def predict_with(self, predictor: Any, inputs: Any) -> list[str]:
        """The transcript of each recording (greedy decoding)."""
        return predictor.transcribe(inputs)

    def frame_with(self, predictor: Any, inputs: Any) -> tuple[dict[str, Any], list[str] | None]:
        from neuronet.datasets import Dataset
        from neuronet.datasets.inputs import read_inputs

        raw = inputs if isinstance(inputs, Dataset) else read_inputs(inputs, predictor.meta)
        seconds = [round(len(wave) / predictor.meta["inputs"]["rate"], 2) for wave in raw.x]  # silence included
        texts = predictor.transcribe_prepared(predictor.pipeline.transform(raw).x)
        return {"seconds": np.asarray(seconds), "prediction": np.asarray(texts, dtype=object)}, raw.ids

    def response_model(self, classes: list[str] | None) -> type[BaseModel]:
        from pydantic import Field, create_model

        return create_model("Prediction", transcript=(str, Field(description="What was said, as text.")),
                            seconds=(float, Field(description="The recording's length in seconds.")))

    def response(self, row: dict[str, Any], classes: list[str] | None) -> dict[str, Any]:
        return {"transcript": str(row["prediction"]), "seconds": float(row["seconds"])}

    # --- the report --------------------------------------------------------------------------
    def worst(self, predictor: Any, data: Any, outputs: Any, targets: torch.Tensor) -> list[dict[str, str]]:
        """The clips with the highest character error rates: what was said beside what the model heard."""
        alphabet = predictor.pipeline.transcripts.alphabet
        heard = [alphabet.decode(row) for row in outputs[1].tolist()]
        said = [alphabet.decode(row) for row in targets.tolist()]
        rates = [error_rates([r], [h])["cer"] for r, h in zip(said, heard)]
        order = sorted(range(len(rates)), key=lambda i: (-rates[i], i))[:WORST]
        names = data.ids or [str(i) for i in range(len(rates))]
        return [{"clip": str(names[i]), "said": said[i], "heard": heard[i], "cer": f"{rates[i]:.3f}"} for i in order]

    def showcase(self, predictor: Any, data: Any, folder: Path) -> tuple[list[dict[str, str]], list[Path]]:
        """The test clips transcribed worst (what was said and what was heard), and the CTC alignment of the first
        test clip over its spectrogram (alignment.png)."""
        if data is None or not len(data.x):
            return [], []
        _, outputs, targets = predictor.score(data)
        said = predictor.pipeline.transcripts.alphabet.decode(data.y[0].tolist())
        return self.worst(predictor, data, outputs, targets), [plot_alignment(predictor, data.x[:1],
                                                                              folder / "alignment.png", said)]


@torch.no_grad()
def ctc_alignment(predictor: Any, x: torch.Tensor) -> dict[str, Any]:
    """Where a CTC model hears each character of one prepared clip x (1, samples): the normalised spectrogram it
    read (mel bands, frames), its best frame path (each output frame's most likely symbol) and that symbol's
    probability, the frames that start each character, and the transcript the path reads as."""
    model = predictor.model.eval()
    alphabet = predictor.pipeline.transcripts.alphabet
    clip = x[:1].to(predictor.device)
    out = model(clip)
    probs = out.log_probs[0, : int(out.lengths[0])].float().exp().cpu()
    best = probs.argmax(dim=-1).tolist()
    starts = [t for t, s in enumerate(best) if s != 0 and (t == 0 or s != best[t - 1])]
    return {"spectrogram": model.spectrogram(clip)[0].cpu(), "path": best,
            "confidence": probs.max(dim=-1).values.tolist(),
            "emitted": [(t, alphabet.symbols[best[t]]) for t in starts],
            "transcript": alphabet.decode([best[t] for t in starts])}


def plot_alignment(predictor: Any, x: torch.Tensor, path: Path, said: str | None = None) -> Path:
    """The spectrogram of clip x (1, samples) and the characters the model emits along it, as a PNG at `path`."""
    from neuronet.plots import plot_alignment as draw

    found = ctc_alignment(predictor, x)
    return draw(found["spectrogram"].numpy(), found["confidence"], found["emitted"], found["transcript"], said, path)

