"""Language tasks: a language model predicts each next token (and so generates text); a sequence-to-sequence
model reads a sentence and writes another (translation), trained with teacher forcing.

Both keep, for scoring a split, each target token's negative log-likelihood and the most likely
token (`TokenScores`), not the logits; a translation's BLEU and chrF are measured on decoded
text with sacrebleu (`score_decoded`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from neuronet.errors import ConfigError
from neuronet.nn.losses import TokenScores
from neuronet.tasks.base import TASKS, Task
from neuronet.tasks.metrics import METRICS, Metric

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel

__all__ = ["LanguageModeling", "Seq2Seq"]

PAD = 0
EXAMPLES = 5  # decoded test examples kept in metrics.json and shown in reports


def trimmed(ids: torch.Tensor) -> torch.Tensor:
    """Token ids (B, T) without the last columns that are padding in every row (a batch of short sentences
    need not be as wide as the longest sentence of the data).

    Example:
        >>> trimmed(torch.tensor([[5, 6, 0, 0], [7, 0, 0, 0]])).tolist()
        [[5, 6], [7, 0]]
    """
    used = (ids != PAD).any(dim=0).nonzero()
    return ids[:, : int(used.max()) + 1 if len(used) else 1]


def _token_scores(logits: torch.Tensor, targets: torch.Tensor) -> TokenScores:
    nll = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), reduction="none", ignore_index=PAD)
    return TokenScores(nll.view_as(targets), logits.argmax(dim=-1))


def _mean_nll(outputs: Any, targets: torch.Tensor) -> float:
    kept = targets != PAD
    return float(outputs[0][kept].double().sum() / kept.sum().clamp(min=1))


def _token_accuracy(outputs: Any, targets: torch.Tensor, task: Task) -> float:
    kept = targets != PAD
    if bool((outputs[1] < 0).all()):  # a baseline that scores tokens without predicting them (an n-gram model)
        return float("nan")
    return float((outputs[1][kept] == targets[kept]).double().mean()) if kept.any() else float("nan")


_SEQ = ("language_modeling", "seq2seq")
for _name, _metric in {
    "perplexity": Metric(lambda out, y, task: math.exp(min(_mean_nll(out, y), 700.0)), _SEQ, False,
                         "exp(mean negative log-likelihood per token): the number of tokens the model hesitates between."),
    "bits_per_token": Metric(lambda out, y, task: _mean_nll(out, y) / math.log(2), _SEQ, False,
                             "Mean negative log2-likelihood per token: bits per character when the tokens are characters."),
    "token_accuracy": Metric(_token_accuracy, _SEQ, True, "Fraction of next tokens predicted exactly (padding left out)."),
}.items():
    METRICS.add(_name, _metric, _metric.help)


class _SequenceTask(Task):
    """What the two language tasks share: token-level loss, kept scores, no class labels or ONNX export."""

    default_loss: ClassVar[str] = "token_cross_entropy"
    losses: ClassVar[tuple[str, ...]] = ("token_cross_entropy",)

    def output_size(self, num_outputs: int, loss: Any = None) -> int:
        return num_outputs  # the target vocabulary

    def compact(self, outputs: Any, targets: torch.Tensor) -> Any:
        if isinstance(outputs, tuple):  # already kept
            return outputs
        return _token_scores(outputs, targets)

    def check_export(self) -> None:
        raise ConfigError(f"A {self.name} model is not exported to ONNX: it decodes one token at a time with a "
                          "cache; serve it with `neuronet serve RUN` (the torch backend).")

    field: ClassVar[str] = "generated"  # the response's field holding the text
    field_help: ClassVar[str] = "The text the model wrote."

    def response_model(self, classes: list[str] | None) -> type[BaseModel]:
        from pydantic import Field, create_model

        return create_model("Prediction", **{self.field: (str, Field(description=self.field_help))})

    def response(self, row: dict[str, Any], classes: list[str] | None) -> dict[str, Any]:
        return {self.field: str(row["prediction"])}


@TASKS.register("language_modeling", "Predict each next token of a text, and so generate text (GPT).")
class LanguageModeling(_SequenceTask):
    """Outputs are next-token logits (B, T, vocabulary); targets the same windows one token later.

    Example:
        >>> task = LanguageModeling()
        >>> scores = task.compact(torch.zeros(1, 2, 4), torch.tensor([[1, 2]]))
        >>> round(task.score(scores, torch.tensor([[1, 2]]))["perplexity"], 3)  # uniform over 4 tokens
        4.0
    """

    name: ClassVar[str] = "language_modeling"
    metrics: ClassVar[tuple[str, ...]] = ("perplexity",)
    report_metrics: ClassVar[tuple[str, ...]] = ("perplexity", "bits_per_token", "token_accuracy")
    offers: ClassVar[tuple[str, ...]] = ("generate",)
    widget: ClassVar[dict[str, str]] = {"value": "generated"}
    baselines: ClassVar[tuple[str, ...]] = ("unigram", "ngram")
    explains: ClassVar[tuple[str, ...]] = ("attention",)  # the GPT's own causal attention

    def predict_with(self, predictor: Any, inputs: Any) -> list[str]:
        """The greedy continuation of each prompt (a text, a list of texts, or a .txt file: one prompt a line)."""
        return [predictor.generate(text, temperature=0.0)[0] for text in predictor.read_texts(inputs)]

    def frame_with(self, predictor: Any, inputs: Any) -> tuple[dict[str, Any], list[str] | None]:
        texts = predictor.read_texts(inputs)
        return {"prompt": np.asarray(texts, dtype=object),
                "prediction": np.asarray([predictor.generate(t, temperature=0.0)[0] for t in texts], dtype=object)}, None

    def showcase(self, predictor: Any, data: Any, folder: Path) -> tuple[list[dict[str, str]], list[Path]]:
        """Three texts written from nothing (a new document), sampled at temperature 0.8 with seeds 0, 1, 2."""
        return [{"seed": str(seed), "text": predictor.generate("", max_tokens=200, temperature=0.8, seed=seed)[0]}
                for seed in range(3)], []


@TASKS.register("seq2seq", "Read a sentence and write another: translation (encoder-decoder, teacher forcing).")
class Seq2Seq(_SequenceTask):
    """Outputs are the logits (B, T-1, target vocabulary) of each target token given the source and the
    target tokens before it; targets are the target sentences without their `<bos>`.

    Example:
        >>> Seq2Seq().targets(torch.zeros(1, 3), torch.tensor([[2, 7, 8, 3]])).tolist()
        [[7, 8, 3]]
    """

    name: ClassVar[str] = "seq2seq"
    metrics: ClassVar[tuple[str, ...]] = ("token_accuracy",)
    report_metrics: ClassVar[tuple[str, ...]] = ("perplexity", "token_accuracy")
    offers: ClassVar[tuple[str, ...]] = ("translate",)
    widget: ClassVar[dict[str, str]] = {"value": "translation"}
    field: ClassVar[str] = "translation"
    field_help: ClassVar[str] = "The translation of the text."
    baselines: ClassVar[tuple[str, ...]] = ()
    plot_files: ClassVar[tuple[str, ...]] = ("attention.png",)
    explains: ClassVar[tuple[str, ...]] = ()  # its attention between source and target: attention.png (evaluate)

    def forward(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> Any:
        """The model reads each batch only as wide as its longest sentences (`trimmed`): padding is masked or
        packed by the models, so this changes no output, only the work."""
        if y is None:
            raise ConfigError("A translation model's outputs need the target sentence (teacher forcing); translate "
                              "with predict() instead.")
        return model(trimmed(x), trimmed(y)[:, :-1])

    def targets(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return trimmed(y)[:, 1:]

    def join(self, parts: list[Any]) -> Any:
        """Batches trimmed to different widths are padded back to the widest before they are joined."""
        if parts and all(isinstance(p, torch.Tensor) and p.dim() == 2 for p in parts):
            width = max(p.shape[1] for p in parts)
            parts = [F.pad(p, (0, width - p.shape[1]), value=PAD) for p in parts]  # their targets: padding, ignored
        return super().join(parts)

    def predict_with(self, predictor: Any, inputs: Any) -> list[str]:
        """The translation of each source sentence (greedy decoding, batched)."""
        return predictor.translate(predictor.read_texts(inputs))

    def frame_with(self, predictor: Any, inputs: Any) -> tuple[dict[str, Any], list[str] | None]:
        texts = predictor.read_texts(inputs)
        return {"source": np.asarray(texts, dtype=object),
                "prediction": np.asarray(predictor.translate(texts), dtype=object)}, None

    def showcase(self, predictor: Any, data: Any, folder: Path) -> tuple[list[dict[str, str]], list[Path]]:
        """The first test sentences with their references and translations, and the attention between the first
        source and its translation (attention.png)."""
        step = predictor.pipeline.language
        rows = min(EXAMPLES, len(data.x))
        translations = predictor.translate_prepared(data.x[:rows])
        examples = [{"source": step.source.decode(data.x[i].tolist()), "reference": step.target.decode(data.y[i].tolist()),
                     "translation": translations[i]} for i in range(rows)]
        plots = []
        if rows and hasattr(predictor.model, "cross_attention"):
            from neuronet.plots import plot_attention_pairs

            src = data.x[:1]
            out = [2, *step.target.encode([translations[0]])[0][: step.target_len_ - 2], 3]
            with torch.no_grad():
                weights = predictor.model.cross_attention(src.to(predictor.device), torch.tensor([out[:-1]],
                                                          device=predictor.device))[0].cpu()
            length = int((src[0] != PAD).sum())
            src_tokens = [step.source.token(t) for t in src[0, :length].tolist()]
            out_tokens = [step.target.token(t) for t in out[1:]]
            plots.append(plot_attention_pairs(weights[:, :length].numpy(), src_tokens, out_tokens, folder / "attention.png"))
        return examples, plots

    def score_decoded(self, predictor: Any, data: Any) -> dict[str, Any]:
        """BLEU and chrF (sacrebleu's defaults) of greedy translations of the split against its references."""
        try:
            import sacrebleu
        except ImportError:
            return {}
        step = predictor.pipeline.language
        hypotheses = predictor.translate_prepared(data.x)
        references = [step.target.decode(row) for row in data.y.tolist()]
        return {"bleu": float(sacrebleu.corpus_bleu(hypotheses, [references]).score),
                "chrf": float(sacrebleu.corpus_chrf(hypotheses, [references]).score)}
