"""`explain_run`: what a trained run learned, on its own test split, as PNGs in `RUN/explain/`.

t-SNE of a layer's features, attributions of a few test examples, attention maps (Transformer),
the most confidently wrong test examples and per-class metrics; each part that does not apply to
the run (attention maps of a CNN, per-class metrics of a regression) is skipped with the reason.
`RUN/explain/explain.json` records what was made (paths, layers, the mistakes, the reasons).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from neuronet.errors import ConfigError, NeuronetError
from neuronet.rundir.files import RunFiles, read_json, write_json
from neuronet.rundir.lock import RunLock

__all__ = ["explain_run", "PARTS"]

PARTS = ("tsne", "attribution", "attention", "wrong", "per_class", "alignment", "boxes")


def _default_method(model: Any) -> str:
    """LRP where every leaf has a rule (the zoo's ReLU networks), else integrated gradients."""
    from neuronet.explain.lrp import lrp_rules

    try:
        with lrp_rules(model):
            return "lrp"
    except ConfigError:
        return "integrated_gradients"


def explain_run(run: str | Path, parts: Sequence[str] | None = None, layer: str | None = None,
                method: str | None = None, examples: Sequence[int] = (0, 1, 2, 3), wrong: int = 8,
                limit: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Explain a completed run on its test split; the PNGs go to RUN/explain/.

    Args:
        run: The run directory.
        parts: Which of "tsne", "attribution", "attention", "wrong", "per_class", "alignment", "boxes" to make (None:
            all).
        layer: The layer whose features t-SNE maps (default: the penultimate one).
        method: "lrp", "integrated_gradients" or "saliency" (default: LRP for networks of ReLU modules,
            else integrated gradients).
        examples: Test examples to attribute and to show attention maps of.
        wrong: How many confidently wrong test examples to show.
        limit: At most this many test examples in the t-SNE map.
        seed: Seed of the t-SNE sample and map.

    Returns:
        {part: its result (paths, layer, method, mistakes...)} and "skipped": {part: the reason}. With
        `parts` None, the parts the run's task can use (`Task.explains`) are tried and one that does not
        apply to this run is skipped with its reason; named, it is an error. When no part applies to the
        task, {"skipped": {}, "nothing": why} and nothing is written.

    Raises:
        DataError: not a completed run, or one without a test split.
        ConfigError: an unknown part, layer or method.
        RunInUse: another process is writing the run.
    """
    files = RunFiles(run)
    files.check()
    with RunLock(files.root, "explain"):  # one writer of RUN/explain/ at a time
        return _explain(files, parts, layer, method, examples, wrong, limit, seed)


def _explain(files: RunFiles, parts: Sequence[str] | None, layer: str | None, method: str | None,
             examples: Sequence[int], wrong: int, limit: int, seed: int) -> dict[str, Any]:
    from neuronet import explain
    from neuronet.predict import Predictor
    from neuronet.runs.evaluate import test_split

    asked, parts = parts is not None, list(parts or PARTS)
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise ConfigError(f"Unknown explain part {unknown[0]!r}; valid: {', '.join(PARTS)}.")
    predictor = Predictor.load(files.root)
    task = predictor.task
    applies = [p for p in PARTS if task is None or p in task.explains]
    elsewhere = f"; its plots ({', '.join(task.plot_files)}) are made by `neuronet evaluate`" if task and task.plot_files \
        else ""
    if asked and any(p not in applies for p in parts):
        part = next(p for p in parts if p not in applies)
        raise ConfigError(f"{part} does not apply to a {task.name} run; what applies: {', '.join(applies) or 'none'}"
                          f"{elsewhere}.")
    parts = [p for p in parts if p in applies]  # all by default: only the parts that can apply to the task are tried
    if not parts:
        return {"skipped": {}, "nothing": f"no explanation applies to a {task.name} run{elsewhere}"}
    raw = test_split(files.root)
    data = predictor.prepare(raw, labelled=True)  # once, for every part
    folder = files.root / "explain"
    folder.mkdir(exist_ok=True)
    outside = [i for i in examples if not 0 <= i < len(data)]
    if outside:
        raise ConfigError(f"Example {outside[0]} is outside the test split, which has {len(data)} examples "
                          f"(0 to {len(data) - 1}); choose --examples among those.")
    shown = list(examples)
    makers = {
        "tsne": lambda: explain.tsne(predictor, data, layer=layer, limit=limit, seed=seed, path=folder / "tsne.png",
                                     prepared=True),
        "attribution": lambda: explain.attribute(predictor, data, method=method or _default_method(predictor.model),
                                                 examples=shown, path=folder / "attribution.png", prepared=True),
        "attention": lambda: explain.attention_maps(predictor, data, examples=shown, path=folder, prepared=True),
        "wrong": lambda: explain.confidently_wrong(predictor, raw, k=wrong, path=folder / "wrong.png"),  # texts as written
        "per_class": lambda: explain.per_class_metrics(predictor, data, prepared=True),
        "alignment": lambda: _alignments(predictor, data, shown, folder),
        "boxes": lambda: _boxes(predictor, data, shown, method, folder),
    }
    result: dict[str, Any] = {"skipped": {}}
    for part in parts:
        try:
            result[part] = makers[part]()
        except NeuronetError as err:
            if asked or (layer is not None and part == "tsne") or (method is not None and part == "attribution"):
                raise  # what the user asked for by name must work
            result["skipped"][part] = str(err)  # all parts by default: say why one does not apply
    before = read_explained(files.root) or {}  # parts made earlier stay listed (their PNGs are still there)
    summary = _summary(result, files.root)
    skipped = {k: v for k, v in before.get("skipped", {}).items() if k not in parts}
    write_json(folder / "explain.json", {**{k: v for k, v in before.items() if k not in parts},
                                         **summary, "skipped": {**skipped, **summary["skipped"]}})
    return result


def _summary(result: dict[str, Any], root: Path) -> dict[str, Any]:
    """The JSON-able part of the results: paths relative to the run, no arrays."""
    def rel(path: Any) -> str | None:
        return None if path is None else str(Path(path).relative_to(root))

    out: dict[str, Any] = {"skipped": result["skipped"]}
    if "tsne" in result:
        out["tsne"] = {"layer": result["tsne"]["layer"], "points": len(result["tsne"]["embedding"]),
                       "path": rel(result["tsne"]["path"])}
    if "attribution" in result:
        a = result["attribution"]
        out["attribution"] = {"method": a["method"], "examples": list(a["examples"]), "targets": list(a["targets"]),
                              "path": rel(a["path"])}
    if "attention" in result:
        out["attention"] = [{"example": m["example"], "tokens": m["tokens"], "path": rel(m["path"])}
                            for m in result["attention"]]
    if "wrong" in result:
        out["wrong"] = [{"index": int(m["index"]), "true": str(m["true"]), "predicted": str(m["predicted"]),
                         "probability": float(m["probability"]),
                         **({"input": m["input"]} if isinstance(m["input"], (str, dict)) else {})}
                        for m in result["wrong"]]
    if "per_class" in result:
        out["per_class"] = result["per_class"]
    if "alignment" in result:
        out["alignment"] = [{**m, "path": rel(m["path"])} for m in result["alignment"]]
    if "boxes" in result:
        b = result["boxes"]
        out["boxes"] = {"method": b["method"], "examples": list(b["examples"]), "boxes": b["boxes"], "path": rel(b["path"])}
    return out


def _boxes(predictor: Any, data: Any, examples: Sequence[int], method: str | None, folder: Path) -> dict[str, Any]:
    """boxes.png: for each test image asked for, its best box and the pixels' attributions to that box's score."""
    from neuronet.explain.boxes import box_attributions

    return box_attributions(predictor, data, examples, method or "integrated_gradients", folder / "boxes.png")


def _alignments(predictor: Any, data: Any, examples: Sequence[int], folder: Path) -> list[dict[str, Any]]:
    """alignment_<i>.png for each test clip asked for: its spectrogram and where the model emits each character."""
    from neuronet.tasks.transcription import plot_alignment

    alphabet = predictor.pipeline.transcripts.alphabet
    made = []
    for i in examples:
        said = alphabet.decode(data.y[i].tolist())
        path = plot_alignment(predictor, data.x[i:i + 1], folder / f"alignment_{i}.png", said)
        made.append({"example": i, "said": said, "path": path})
    return made


def read_explained(run: str | Path) -> dict[str, Any] | None:
    """What the last `explain_run` recorded, or None."""
    path = RunFiles(run).root / "explain" / "explain.json"
    return read_json(path) if path.is_file() else None
