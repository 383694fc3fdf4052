"""`Predictor`: a trained model plus its fitted preprocessing, predicting from what a user holds in memory.

It imports nothing from training, no progress bars and no plotting: a process (or a server)
that only predicts stays light. What the outputs mean (labels, values, scores, and the table's
columns) is the task's to say: the Predictor asks `self.task` and never branches on its name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from neuronet.datasets import Dataset, Pipeline, read_inputs
from neuronet.errors import ConfigError, DataError
from neuronet.nn import loss_fn
from neuronet.rundir.files import RunFiles
from neuronet.tasks import TASKS, Task, tasks_that

__all__ = ["OnnxModel", "Predictor", "load"]


class Predictor:
    """A plain `nn.Module` with the preprocessing it was trained with; predicts from raw inputs.

    Inputs are what the training data was, in whatever form is at hand: a DataFrame, a dict or
    list of dicts (tables), strings (text), PIL images or arrays (images), waveforms (audio),
    float arrays (series), tensors, or paths to files and folders (see
    `neuronet.datasets.inputs`).

    Args:
        model: The trained network.
        pipeline: The fitted preprocessing (applied to every input).
        task: What the outputs mean.
        meta: The training data's metadata (`Dataset.meta()`): input kind, classes, names.
        loss: The training loss name and `loss_kwargs`, to report the loss in `evaluate`.
        batch_size: Examples per forward pass.

    Example:
        >>> import neuronet as nt
        >>> predictor = nt.load("runs/digits-cnn-20261125-101500")  # doctest: +SKIP
        >>> predictor.predict(["photo.png"]), predictor.classes  # doctest: +SKIP
    """

    def __init__(self, model: nn.Module, pipeline: Pipeline, task: Task, meta: dict[str, Any], loss: str | None = None,
                 loss_kwargs: dict[str, Any] | None = None, batch_size: int = 1024) -> None:
        self.model, self.pipeline, self.task, self.meta = model.eval(), pipeline, task, meta
        self.loss, self.loss_kwargs = loss, dict(loss_kwargs or {})
        self.decoding: dict[str, Any] = {}  # how text is decoded when not said per call: {"beam": 8, "words": True}
        self.batch_size = min(batch_size, getattr(model, "eval_batch_size", None) or batch_size)  # 224 px inside
        self.device = next(model.parameters(), torch.empty(0)).device
        self.backend = "onnx" if isinstance(model, OnnxModel) else "torch"

    @classmethod
    def load(cls, path: str | Path, backend: str = "torch") -> Predictor:
        """The Predictor of a completed run directory.

        Args:
            path: The run directory.
            backend: "torch" (the network) or "onnx" (RUN/export/model.onnx through ONNX Runtime;
                make it with `neuronet export RUN`). Preprocessing is the same for both.

        Raises:
            DataError: not a run directory, a run that has not completed, or no ONNX export.
            ConfigError: an unknown backend, or one that cannot serve this task.
        """
        from neuronet.models import build_model
        from neuronet.transfer.weights import load_weights

        files = RunFiles(path)
        files.check_trained()
        spec = files.model_spec()
        if "agent" in spec:
            raise ConfigError(f"{files.root} holds a reinforcement-learning policy, which acts in its environment rather "
                              f"than predicting from data: replay it with `neuronet evaluate {files.root}`, serve it "
                              f"with `neuronet serve {files.root}` (POST /act), or load it with neuronet.runs.load_policy.")
        state = files.preprocessing_state()
        if backend not in ("torch", "onnx"):
            raise ConfigError(f"Unknown backend {backend!r}; use torch or onnx.")
        if backend == "onnx":
            if not TASKS.get(spec["task"]).onnx_ok:
                raise ConfigError(f"The onnx backend serves {tasks_that(lambda task: task.onnx_ok)}; this "
                                  f"{spec['task']} model is served with the torch backend.")
            onnx = files.root / "export" / "model.onnx"
            if not onnx.is_file():
                raise DataError(f"{files.root} has no ONNX export; make one with `neuronet export {files.root}`.")
            model: nn.Module = OnnxModel(onnx)
        else:
            model = build_model(spec["type"], tuple(spec["input_shape"]), spec["num_outputs"], **spec["kwargs"])
            load_weights(model, files.load_weights(), where=str(files.weights))
        loss_kwargs = {k: torch.tensor(v) if isinstance(v, list) else v for k, v in spec.get("loss_kwargs", {}).items()}
        pipeline, task = Pipeline.stored(state, files.preprocessing), TASKS.get(spec["task"])()
        task.check_stored(pipeline, int(spec["num_outputs"]), files.preprocessing)
        _check_stored_meta(model, task, spec, state["data"], files)
        return cls(model, pipeline, task, state["data"], spec.get("loss"), loss_kwargs)

    @property
    def classes(self) -> list[str] | None:
        """The class names, in the order of `predict_proba`'s columns (tasks with classes, such as classification), or
        of a detector's or segmenter's outputs."""
        return self.meta.get("class_names") if self.task.has_classes or self.task.output else None

    # --- inputs ----------------------------------------------------------------------------
    def prepare(self, inputs: Any, labelled: bool = False) -> Dataset:
        """Inputs read as the training data was, through the fitted pipeline: a Dataset of tensors."""
        raw = inputs if isinstance(inputs, Dataset) else read_inputs(inputs, self.meta, labelled)
        return self.pipeline.transform(raw)

    def batches(self, x: torch.Tensor) -> list[torch.Tensor]:
        """`x` in chunks of `batch_size` rows."""
        return list(x.split(self.batch_size))

    @torch.no_grad()
    def forward(self, data: Dataset) -> Any:
        """The task's outputs for prepared data, batch by batch, joined (checked to be finite)."""
        outs = [self.task.forward(self.model, chunk.to(self.device)) for chunk in self.batches(data.x)]
        if isinstance(outs[0], tuple):
            out: Any = tuple(torch.cat(parts).cpu() for parts in zip(*outs))
        else:
            out = torch.cat(outs).cpu()
        for part in out if isinstance(out, tuple) else (out,):
            _check_finite(part.reshape(len(part), -1).float().numpy())
        return out

    # --- predictions -----------------------------------------------------------------------
    def predict(self, inputs: Any) -> Any:
        """The predictions the task decodes from the outputs (`Task.decode`).

        Class labels (as in training) for classification; values in the data's own units for
        regression, (N,) with one target and (N, k) with several, and forecasts (N, k); anomaly
        scores (N,) for an autoencoder.
        """
        return self.task.predict_with(self, inputs)

    def predict_proba(self, inputs: Any) -> np.ndarray:
        """Class probabilities (N, classes), columns in the order of `classes`."""
        return self.task.probabilities(self.forward(self.prepare(inputs))).numpy()

    @torch.no_grad()
    def predict_frame(self, inputs: Any) -> pd.DataFrame:
        """A table of predictions, its columns the task's (`Task.prediction_columns`): labels and class
        probabilities, values, or anomaly scores and latent codes."""
        columns, ids = self.task.frame_with(self, inputs)
        frame = pd.DataFrame(columns)
        _check_finite(frame.select_dtypes("number").to_numpy(dtype=np.float64))
        if ids is not None:  # inputs read from files: say which row is which file
            frame.insert(0, "input", ids)
        return frame

    def scores(self, inputs: Any) -> np.ndarray:
        """Anomaly scores (mean squared reconstruction error) of an autoencoder: high means unusual."""
        self.task.require("scores")
        return self.predict_frame(inputs)["anomaly_score"].to_numpy()

    @torch.no_grad()
    def encode(self, inputs: Any) -> np.ndarray:
        """Latent codes (N, latent) of an autoencoder."""
        self.task.require("encode")
        data = self.prepare(inputs)
        return torch.cat([self.model.encode(c.to(self.device)).cpu() for c in self.batches(data.x)]).numpy()

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """`n` generated examples (N, C, H, W) in [0, 1] from a GAN."""
        self.task.require("sample")
        return self.model.sample(n, generator=torch.Generator().manual_seed(seed)).cpu().numpy()

    # --- text: generation and translation ---------------------------------------------------
    def read_texts(self, inputs: Any) -> list[str]:
        """Texts given as a string, a list of strings, or a .txt file (one text per line) or table column."""
        return list(read_inputs(inputs, {**self.meta, "inputs": {**self.meta["inputs"], "kind": "text"}}).x)

    def generate(self, prompt: str = "", max_tokens: int = 200, temperature: float = 0.8, top_k: int | None = None,
                 top_p: float | None = None, beam: int = 1, length_penalty: float = 1.0, seed: int = 0, num: int = 1,
                 stop: Any = ()) -> list[str]:
        """Texts a language model writes after `prompt` (`num` of them); see `neuronet.predict.text.Decoding`.

        Example:
            >>> nt.load("runs/shakespeare-gpt").generate("ROMEO:", max_tokens=80, temperature=0.8, seed=1)  # doctest: +SKIP
            ['What light is this that breaks upon the night? ...']
        """
        from neuronet.predict.text import Decoding, generate_texts

        self.task.require("generate")
        options = Decoding(max_tokens, temperature, top_k, top_p, beam, length_penalty, seed, num, stop)
        return generate_texts(self.model, self.pipeline.language.tokenizer, prompt, options)

    def stream(self, prompt: str = "", **options: Any) -> Any:
        """The text generated after `prompt`, piece by piece as it is made (same options as `generate`, one text)."""
        from neuronet.predict.text import Decoding, prompt_ids, stream_text

        self.task.require("generate")
        decoding, tokenizer = Decoding(**options), self.pipeline.language.tokenizer
        prompt_ids(tokenizer, prompt)  # a bad prompt is an error now, before the first piece is asked for
        return stream_text(self.model, tokenizer, prompt, decoding)

    def translate(self, sentences: Any, beam: int = 1, length_penalty: float = 1.0,
                  max_tokens: int | None = None) -> list[str]:
        """The translation of each sentence (a string or a list of them): greedy, or beam search with `beam` beams."""
        from neuronet.predict.text import Decoding

        self.task.require("translate")
        texts = [sentences] if isinstance(sentences, str) else list(sentences)
        if not texts:
            raise DataError("There is nothing to translate: the sentences are empty.")
        if not all(isinstance(t, str) for t in texts):
            raise DataError("Sentences to translate must be texts; got " + str(next(type(t).__name__ for t in texts
                                                                                  if not isinstance(t, str))) + ".")
        step = self.pipeline.language
        Decoding(max_tokens or 1, beam=beam, length_penalty=length_penalty)  # the options' own checks
        return self.translate_prepared(step.encode_sources(texts), beam, length_penalty, max_tokens)

    def translate_prepared(self, x: torch.Tensor, beam: int = 1, length_penalty: float = 1.0,
                           max_tokens: int | None = None) -> list[str]:
        """Translations of prepared source token ids (N, S)."""
        from neuronet.predict.text import translate_ids

        step = self.pipeline.language
        limit = max_tokens or step.target_len_ + step.target_len_ // 2
        return [step.target.decode(ids) for ids in translate_ids(self.model, x, limit, beam, length_penalty)]

    # --- speech to text ---------------------------------------------------------------------
    def transcribe(self, inputs: Any, beam: int | None = None, words: bool | list[str] | None = None) -> list[str]:
        """What is said in each recording: a WAV file, a folder of them, a waveform at the training rate, a
        (waveform, rate) pair or a list of these.

        Args:
            inputs: The recordings.
            beam: 1: greedy decoding; more: prefix beam search keeping `beam` prefixes (default: the
                predictor's `decoding`, else 1).
            words: Write only words of a word list: True for the training transcripts' words, or a list
                (beam search, 8 prefixes unless `beam` says otherwise). Default: the predictor's `decoding`.

        Example:
            >>> nt.load("runs/digits-ctc").transcribe("clip.wav", beam=8, words=True)  # doctest: +SKIP
            ['four one seven']
        """
        self.task.require("transcribe")
        return self.transcribe_prepared(self.prepare(inputs).x, beam, words)

    def transcribe_prepared(self, x: torch.Tensor, beam: int | None = None,
                            words: bool | list[str] | None = None) -> list[str]:
        """Transcripts of prepared, zero-padded waveforms (N, samples)."""
        from neuronet.predict.speech import lexicon as word_list, transcribe_waves

        beam = self.decoding.get("beam", 1) if beam is None else beam
        words = self.decoding.get("words") if words is None else words
        step = self.pipeline.transcripts
        lexicon = None if not words else word_list(step, None if words is True else list(words))
        return transcribe_waves(self.model, x, step.alphabet, beam, self.batch_size, self.device, lexicon)

    # --- detection -------------------------------------------------------------------------
    def detect(self, inputs: Any, threshold: float | None = None) -> list[list[dict[str, Any]]]:
        """The objects found in each image (an image file, a folder of them, a PIL image, an array or a list of
        these): per image a list of {"class", "score", "x0", "y0", "x1", "y1"}, best first, in the image's own
        pixels (x to the right, y down, from its top-left corner).

        Args:
            inputs: The images.
            threshold: The score from which a box is reported (default: the predictor's `decoding`, else 0.3).

        Example:
            >>> nt.load("runs/scenes-centernet").detect("street.png")  # doctest: +SKIP
            [[{'class': 'Sneaker', 'score': 0.91, 'x0': 12.0, 'y0': 40.5, 'x1': 38.2, 'y1': 61.0}]]
        """
        from neuronet.predict.vision import boxes_in_images

        self.task.require("detect")
        names = self.meta.get("class_names") or []
        found = boxes_in_images(self, self.prepare(inputs), self._threshold(threshold))
        return [[{"class": names[int(c)], "score": round(s, 4), "x0": round(x0, 2), "y0": round(y0, 2),
                  "x1": round(x1, 2), "y1": round(y1, 2)} for c, s, x0, y0, x1, y1 in rows.tolist()] for rows in found]

    def detect_frame(self, inputs: Any, threshold: float | None = None) -> tuple[dict[str, Any], list[str] | None]:
        """The columns of `predict_frame` for a detector: one row per box (image, class, score, x0, y0, x1, y1,
        objects: the image's number of boxes), and one row with objects 0 for an image without any; and each
        row's input file where the images came from files."""
        from neuronet.predict.vision import boxes_in_images

        self.task.require("detect")
        data = self.prepare(inputs)
        names = self.meta.get("class_names") or []
        rows, owners = [], []
        for i, found in enumerate(boxes_in_images(self, data, self._threshold(threshold))):
            for c, s, x0, y0, x1, y1 in found.tolist() or [(-1, 0.0, 0.0, 0.0, 0.0, 0.0)]:
                rows.append((i, names[int(c)] if c >= 0 else "", round(s, 4), round(x0, 2), round(y0, 2),
                             round(x1, 2), round(y1, 2), len(found)))
                owners.append(i)
        columns = dict(zip(("image", "class", "score", "x0", "y0", "x1", "y1", "objects"),
                           (np.asarray(c) for c in zip(*rows))))
        return columns, None if data.ids is None else [data.ids[i] for i in owners]

    # --- segmentation ----------------------------------------------------------------------
    def segment(self, inputs: Any) -> list[np.ndarray]:
        """The class of every pixel of each image: a list of (height, width) uint8 arrays of class indices (into
        `meta["class_names"]`, 0 the background), each the size of its image as given.

        Example:
            >>> masks = nt.load("runs/scenes-unet").segment("street.png")  # doctest: +SKIP
            >>> masks[0].shape  # doctest: +SKIP
            (480, 640)
        """
        self.task.require("segment")
        return self.segment_prepared(self.prepare(inputs))

    @torch.no_grad()
    def segment_prepared(self, data: Dataset) -> list[np.ndarray]:
        """Masks of prepared images, each resized (nearest neighbour) to its image's size as given (`data.sizes`)."""
        from PIL import Image

        masks = [self.model(chunk.to(self.device)).argmax(dim=1).to(torch.uint8).cpu() for chunk in self.batches(data.x)]
        found = [m.numpy() for m in torch.cat(masks)]
        if data.sizes is None:
            return found
        return [m if (m.shape[1], m.shape[0]) == tuple(size) else
                np.asarray(Image.fromarray(m).resize(tuple(size), Image.NEAREST)) for m, size in zip(found, data.sizes)]

    def draw(self, inputs: Any, folder: str | Path) -> list[Path]:
        """Write each image of `inputs` with its boxes drawn on it (detection) or its mask over it (segmentation) to
        `folder` as PNG files, at the image's own size; returns their paths.

        Raises:
            ConfigError: the model neither detects nor segments.
            DataError: `folder` exists and is not empty (nothing of a user's is replaced).
        """
        from neuronet.predict.vision import draw_predictions

        if not {"detect", "segment"} & set(self.task.offers):
            raise ConfigError(f"Drawing predictions on images needs a detection or segmentation model; this one is "
                              f"{self.task.name}.")
        target = Path(folder)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise DataError(f"{target} already exists and is not an empty folder; give a new folder to draw into, so "
                            "that nothing in it is replaced.")
        return draw_predictions(self, inputs, target)

    def _threshold(self, threshold: float | None) -> float:
        from neuronet.tasks.detection import THRESHOLD

        value = self.decoding.get("threshold", THRESHOLD) if threshold is None else threshold
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ConfigError(f"The detection threshold must be a score in [0, 1]. Got {value!r} instead.")
        return float(value)

    # --- evaluation ------------------------------------------------------------------------
    def evaluate(self, data: Any) -> dict[str, float]:
        """The loss and the report metrics on labelled data: a raw Dataset, or labelled inputs
        (a table with the target column, a folder with class sub-folders, ...)."""
        prepared = self.prepare(data, labelled=True)
        return self.score(prepared)[0]

    @torch.no_grad()
    def score(self, data: Dataset) -> tuple[dict[str, float], Any, torch.Tensor]:
        """Metrics on prepared data, with the outputs and targets in the data's own units (for plots)."""
        if data.y is None and self.task.supervised:
            raise DataError("Evaluation needs targets; these inputs have none.")
        if data.y is None:  # an unsupervised task's targets are its inputs
            out, y = self.forward(data), self.task.targets(data.x, data.y)
        else:
            parts = [(self.task.compact(self.task.forward(self.model, x, t), self.task.targets(x, t)),
                      self.task.targets(x, t)) for x, t in zip(self.batches(data.x.to(self.device)),
                                                               self.batches(data.y.to(self.device)))]
            out, y = self.task.join([o for o, _ in parts]), self.task.join([t for _, t in parts])
            out = tuple(o.cpu() for o in out) if isinstance(out, tuple) else out.cpu()
            y = y.cpu()
            for part in out if isinstance(out, tuple) else (out,):
                _check_finite(part.reshape(len(part), -1).float().numpy())
        results: dict[str, float] = {}
        if self.loss is not None and self.task.loss_in_report:
            results["loss"] = float(loss_fn(self.loss, **self.loss_kwargs)(out, y))
        out, y = self.task.to_data_units(out, y, self.pipeline.inverse_target)
        results.update(self.task.score(out, y))
        results.update(self.task.score_decoded(self, data))
        return results, out, y


def load(path: str | Path, backend: str = "torch") -> Predictor:
    """Load a trained run as a Predictor: `nt.load("runs/my-run").predict(inputs)`."""
    return Predictor.load(path, backend)


def _check_stored_meta(model: nn.Module, task: Task, spec: dict[str, Any], meta: dict[str, Any], files: RunFiles) -> None:
    """Refuse, in one sentence naming the file, a run whose files were edited so that they no longer go together:
    a task reading an output the model does not make, an image size other than the model's, or class names
    (of a detector or segmenter: one per output) of another number, repeated or not text."""
    made = getattr(model, "output", None) if not isinstance(model, OnnxModel) else None
    if (task.output or made) and task.output != made and not isinstance(model, OnnxModel):
        raise DataError(f"{files.model} says the task is {task.name}, which its model ({spec['type']}) cannot do; it "
                        "was edited: restore it, or train the run again.")
    size, shape = meta.get("inputs", {}).get("size"), spec.get("input_shape") or []
    if task.output is not None and (not isinstance(size, list) or list(size) != list(shape[1:])):
        raise DataError(f"{files.preprocessing} reads images at {size!r}, but the model takes "
                        f"{shape[1:]} (height, width); it was edited: restore it, or train the run again.")
    names = meta.get("class_names")
    if task.output is not None and (not isinstance(names, list) or len(names) != int(spec["num_outputs"]) or
                                    not all(isinstance(n, str) for n in names) or len(set(names)) != len(names)):
        raise DataError(f"{files.preprocessing} must name each of the model's {spec['num_outputs']} classes once, as "
                        f"text; it holds {str(names)[:80]}: it was edited: restore it, or train the run again.")


def _check_finite(values: np.ndarray) -> None:
    """Outputs of the network that are not finite numbers come from inputs it cannot compute with."""
    bad = ~np.isfinite(values).all(axis=1) if values.ndim == 2 else ~np.isfinite(values)
    if bad.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(bad)[:5])
        raise DataError(f"The model's output for input row(s) {rows} is not a finite number: the inputs are far "
                        "outside what it was trained on (e.g. 1e308), or hold infinities.")


class OnnxModel(nn.Module):
    """An exported ONNX model run by ONNX Runtime, called like the network it came from (tensors in and out)."""

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        super().__init__()
        try:
            import onnxruntime as ort
        except ImportError:
            raise ConfigError("The onnx backend needs ONNX Runtime: pip install 'neuronet[serve]'.") from None
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def forward(self, x: torch.Tensor) -> Any:
        outputs = [torch.from_numpy(o) for o in self.session.run(None, {self.input_name: x.detach().cpu().numpy()})]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)
