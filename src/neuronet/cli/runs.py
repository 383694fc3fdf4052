"""The commands that read a run: `evaluate`, `predict`, `info`, `doctor`, `explain` and `report`.

None of them asks which kind a run is: its kind (`neuronet.runs.kinds`) evaluates, summarises
and reports it.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.text import Text

from neuronet.cli.common import (SEVERITY_STYLE, app, err, friendly, out, plain, print_shown, print_table,
                                 run_text)
from neuronet.errors import NeuronetError

__all__ = ["evaluate", "predict", "info", "doctor", "explain", "report"]


@app.command()
@friendly
def evaluate(
    run: Annotated[Path, typer.Argument(help="A run directory made by `neuronet train`.")],
    data: Annotated[Optional[Path], typer.Option(help="Labelled data: a table with the target column (text pairs for a "
                                                      "translator), a folder with one sub-folder per class, or a .txt "
                                                      "file for a language model (default: the run's test split).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    episodes: Annotated[Optional[int], typer.Option(min=1, help="RL runs: episodes to play (default: the run's "
                                                               "train.eval_episodes).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="RL runs: seed of the first episode (episode i: seed + i).")] = None,
    record: Annotated[Optional[Path], typer.Option(help="RL runs: write the first episode as an animated GIF.")] = None,
    trust_code: Annotated[bool, typer.Option("--trust-code", help="RL runs: import and run the environment code the "
                                                                  "run's config names ('module:function'): any code "
                                                                  "at all. Only for runs you trust as you would a "
                                                                  "script.")] = False,
) -> None:
    """Evaluate a trained run on its test split or on labelled data: metrics (accuracy, RMSE, perplexity, BLEU and chrF
    for a translator, ...) beside its baselines; an RL run replays its policy over seeded episodes."""
    from neuronet.rundir.files import json_text
    from neuronet.runs.kinds import kind_of_run

    shown = kind_of_run(run).evaluate(run, data=data, episodes=episodes, seed=seed, record=record,
                                      trust_code=trust_code)
    if as_json:
        typer.echo(json_text(shown.data))
    else:
        print_shown(shown)


@app.command()
@friendly
def predict(
    run: Annotated[Path, typer.Argument(help="A run directory made by `neuronet train`.")],
    inputs: Annotated[list[Path], typer.Argument(help="What to predict: a .csv / .parquet / .npy / .txt file (text: one "
                                                      "sentence or prompt a line), images, WAV files, or a folder of "
                                                      "them.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write predictions to this CSV (default: stdout).")] = None,
    beam: Annotated[int, typer.Option(min=1, max=256, help="Speech to text: prefix beam search keeping this many "
                                                           "transcripts (1: greedy).")] = 1,
    words: Annotated[bool, typer.Option("--words", help="Speech to text: write only words of the training "
                                                        "transcripts (beam search).")] = False,
    threshold: Annotated[Optional[float], typer.Option(min=0.0, max=1.0, help="Detection: the score from which a box "
                                                                              "is reported (default 0.3).")] = None,
    draw: Annotated[Optional[Path], typer.Option("--draw", help="Detection / segmentation: also write each image with "
                                                                "its boxes drawn (or its mask over it) into this new "
                                                                "folder, as PNG files.")] = None,
) -> None:
    """Predict INPUTS with a trained run: labels and class probabilities, values, anomaly scores, translations (one a
    line), transcripts of recordings, or a language model's greedy continuation of each prompt (`neuronet generate`
    samples)."""
    from neuronet.atomic import write_text
    from neuronet.runs import predict_file

    if output is not None:
        from neuronet.rundir.files import refuse_run_file

        refuse_run_file(output, "output")
        if output.suffix.lower() != ".csv":
            raise NeuronetError(f"The output {output} must be a .csv file (the predictions are a table); e.g. "
                                f"{output.with_suffix('.csv').name}.")
        if any(os.path.realpath(output) == os.path.realpath(path) for path in inputs):
            raise NeuronetError(f"The output {output} is also an input; write the predictions to a new file.")
        _refuse_training_data(run, output)
    if draw is not None:
        from neuronet.rundir.files import refuse_run_file

        refuse_run_file(draw, "drawing folder")
        _refuse_training_data(run, draw)
        target = os.path.realpath(draw)
        if output is not None and os.path.realpath(output) == target:
            raise NeuronetError(f"--draw {draw} and -o {output} are the same path; give the drawings a folder of their "
                                "own.")
        if any(target == os.path.realpath(p) or target.startswith(os.path.realpath(p).rstrip(os.sep) + os.sep)
               for p in inputs):
            raise NeuronetError(f"--draw {draw} is inside the inputs; draw into a folder elsewhere, so that the "
                                "drawings are not read as images next time.")
    decoding: dict[str, Any] = {**({"beam": beam} if beam != 1 else {}), **({"words": True} if words else {}),
                                **({"threshold": threshold} if threshold is not None else {})}
    frame = predict_file(run, [str(p) for p in inputs] if len(inputs) > 1 else str(inputs[0]), decoding, draw)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    if output is None:
        typer.echo(buffer.getvalue(), nl=False)
    else:
        write_text(output, buffer.getvalue())
        err.print(f"{len(frame)} predictions written to {output}")
    if draw is not None:
        err.print(f"images with their predictions drawn written to {draw}/")


def _refuse_training_data(run: Path, output: Path) -> None:
    """Refuse an output that would overwrite the data `run` was trained on (a file of it, or one in its folder)."""
    from neuronet.rundir.files import RunFiles

    try:
        source = str(RunFiles(run).preprocessing_state().get("source", {}).get("source") or "")
    except NeuronetError:
        return  # not a run: predict_file says so
    if not source or not os.path.exists(source):
        return  # a built-in data set, or data that is gone
    data, target = os.path.realpath(source), os.path.realpath(output)
    if target == data or target.startswith(data.rstrip(os.sep) + os.sep):
        raise NeuronetError(f"The output {output} is inside the data {run} was trained on ({source}); write the "
                            "predictions elsewhere, so that the data stays as it was.")


@app.command()
@friendly
def info(run: Annotated[Path, typer.Argument(help="A run directory made by `neuronet train`.")]) -> None:
    """Show what a run is: status, data or environment, model, training settings and metrics."""
    from neuronet.rundir.files import RunFiles
    from neuronet.runs.kinds import kind_of_run
    from neuronet.runs.lifecycle import status_of

    files = RunFiles(run)
    kind = kind_of_run(run)
    status = status_of(files)
    shown = kind.info(files, status)
    done = status.get(f"{kind.progress_word}_done")
    out.print(Text.assemble((plain(str(run)), "bold"), plain(f"  status: {status.get('status')}, "
                                                              f"{kind.progress_word} done: {done}")))
    if status.get("message"):
        out.print(Text(plain(str(status["message"])), style="red"))
    for line in shown.lines:
        out.print(Text(plain(line)))
    out.print(run_text(files.config))
    print_shown(type(shown)(tables=shown.tables))
    out.print(_files_line(run))


def _files_line(run: Path, limit: int = 200) -> Text:
    names = sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return Text(plain("files: " + ", ".join(names[:limit]) + more))


@app.command()
@friendly
def doctor(
    run: Annotated[Path, typer.Argument(help="A run directory made by `neuronet train` (finished, failed or interrupted).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print doctor.json's findings as JSON.")] = False,
) -> None:
    """Diagnose RUN: overfitting, underfitting, vanishing / exploding gradients, dying ReLU, the learning rate, data
    problems; for an RL run: exploding value losses or Q-values, a collapsed entropy, no progress."""
    from neuronet.runs.diagnosis import read_findings
    from neuronet.rundir.files import json_text
    from neuronet.runs.kinds import kind_of_run

    findings, state = read_findings(run)
    if as_json:
        typer.echo(json_text([f.to_dict() for f in findings]))
        return
    records = state.get("records", [])
    sampled = len(records) if isinstance(records, list) else 0
    layers = f"; per-layer statistics from {sampled} sampled step(s) (one in {state.get('every_steps')})" \
        if state.get("every_steps") else ""
    out.print(Text.assemble((plain(str(run)), "bold"), plain(f": {len(findings) or 'no'} finding(s){layers}")),
              soft_wrap=True)
    if not findings:
        out.print(f"Checked: {kind_of_run(run).checked()}.", soft_wrap=True)
    for finding in findings:  # a received run's doctor.json: its text is shown, its control characters not obeyed
        out.print(Text(plain(f"\n[{finding.severity}] {finding.title}"), style=SEVERITY_STYLE[finding.severity]))
        out.print(Text(plain(f"  evidence: {finding.evidence}")), soft_wrap=True)
        out.print(Text(plain(f"  why:      {finding.explanation}")), soft_wrap=True)
        out.print(Text(plain(f"  try:      {finding.fix}")), soft_wrap=True)


def examples_of(text: str) -> list[int]:
    try:
        chosen = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        chosen = []
    if not chosen or min(chosen) < 0:
        raise NeuronetError(f"--examples takes test-example indices separated by commas, e.g. 0,1,2; got {text!r}.")
    return chosen


@app.command()
@friendly
def explain(
    run: Annotated[Path, typer.Argument(help="A run directory made by `neuronet train`.")],
    tsne: Annotated[bool, typer.Option("--tsne", help="t-SNE of a layer's features on the test split (PNG).")] = False,
    layer: Annotated[Optional[str], typer.Option(help="The layer t-SNE maps (default: the penultimate one).")] = None,
    attention: Annotated[bool, typer.Option("--attention", help="Attention maps per layer and head (Transformer, GPT).")] = False,
    attribution: Annotated[Optional[str], typer.Option(help="lrp, integrated_gradients or saliency (Captum): heat maps, "
                                                            "highlighted tokens or feature bars.")] = None,
    wrong: Annotated[bool, typer.Option("--wrong", help="The most confidently wrong test examples, and per-class "
                                                        "metrics.")] = False,
    alignment: Annotated[bool, typer.Option("--alignment", help="Speech to text: each clip's spectrogram and the frames "
                                                                "that emit each character (CTC).")] = False,
    boxes: Annotated[bool, typer.Option("--boxes", help="Detection: each image's best box and the attributions of its "
                                                        "pixels to the box's score (integrated gradients, or "
                                                        "--attribution saliency).")] = False,
    examples: Annotated[str, typer.Option(help="Test examples to attribute / show attention or alignment of: "
                                               "0,1,2,3.")] = "0,1,2,3",
) -> None:
    """Show what RUN learned (PNGs in RUN/explain/): t-SNE, attributions, attention maps, its mistakes, a transcript's
    alignment, why a box was found. No option: all that apply."""
    from neuronet.runs.explain import explain_run
    from neuronet.rundir.files import RunFiles
    from neuronet.runs.kinds import kind_of_run

    reason = kind_of_run(run).explainable(RunFiles(run))
    if reason is not None:
        raise NeuronetError(f"Nothing to explain in {run}: {reason}.")
    parts = [p for p, on in (("tsne", tsne or layer), ("attribution", attribution), ("attention", attention),
                             ("wrong", wrong), ("per_class", wrong), ("alignment", alignment), ("boxes", boxes)) if on]
    if boxes and "attribution" in parts:  # --attribution picks the method of the boxes' attributions
        parts.remove("attribution")
    result = explain_run(run, parts or None, layer=layer, method=attribution, examples=examples_of(examples))
    print_explained(result, run)  # (explain_run holds the run's lock while it writes RUN/explain/)


def print_explained(result: dict[str, Any], run: Path) -> None:
    if "per_class" in result:
        rows = [(name, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1-score']:.3f}", str(int(v["support"])))
                for name, v in result["per_class"].items() if isinstance(v, dict)]
        print_table("per-class metrics (test)", ["class", "precision", "recall", "F1", "support"], rows)
    if result.get("wrong"):
        print_table("most confidently wrong (test)", ["example", "true", "predicted", "p", "input"],
                     [(str(m["index"]), str(m["true"]), str(m["predicted"]), f"{m['probability']:.3f}",
                       m["input"][:80] if isinstance(m["input"], str) else "") for m in result["wrong"]])
    paths = [result["tsne"]["path"]] if result.get("tsne") else []
    paths += [result["attribution"]["path"]] if result.get("attribution") else []
    paths += [m["path"] for m in result.get("attention", [])]
    paths += [m["path"] for m in result.get("alignment", [])]
    paths += [result["boxes"]["path"]] if result.get("boxes") else []
    for path in paths:
        out.print(f"wrote {path}", soft_wrap=True)
    for part, reason in result["skipped"].items():
        err.print(Text(f"explain: {part} skipped: {reason}", style="yellow"), soft_wrap=True)
    if result.get("nothing"):
        err.print(Text(f"explain: {result['nothing']}", style="yellow"), soft_wrap=True)


@app.command()
@friendly
def report(
    run: Annotated[Path, typer.Argument(help="A run directory made by `neuronet train`.")],
    explain_: Annotated[bool, typer.Option("--explain/--no-explain", help="Also compute t-SNE, attributions, attention "
                                                                          "maps and mistakes (else: what is there).")] = True,
) -> None:
    """Write RUN/report.html: one self-contained page (config, data, curves, metrics, doctor, explanations)."""
    from neuronet.runs.explain import explain_run
    from neuronet.rundir.files import RunFiles
    from neuronet.runs.html import check_report_inputs, write_html_report
    from neuronet.runs.kinds import kind_of_run
    from neuronet.rundir.lock import RunLock

    files = RunFiles(run)
    reason = kind_of_run(run).explainable(files)
    with RunLock(files.root, "report"):
        check_report_inputs(run)  # a damaged metrics.json or doctor.json fails before explain writes RUN/explain/
        if explain_ and reason is None:
            from neuronet.runs.evaluate import SplitUnavailable

            try:
                explained = explain_run(run)
            except SplitUnavailable as gone:  # a run received without its data: the page, without explanations
                err.print(Text(plain(f"report: explanations skipped ({' '.join(str(gone).split())}); the page shows "
                                     "what the run has")), soft_wrap=True)
            else:
                print_explained(explained, run)
        elif explain_:
            err.print(Text(plain(f"report: {reason}; the page shows what the run has")), soft_wrap=True)
        out.print(Text(f"report: {write_html_report(run)}"), soft_wrap=True)
