"""The commands that deploy a run: `export` and `serve` (the run's kind names its server)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from neuronet.cli.common import app, check_port, friendly, out
from neuronet.errors import NeuronetError

__all__ = ["export", "serve"]


@app.command()
@friendly
def export(
    run: Annotated[Path, typer.Argument(help="A run directory made by `neuronet train`.")],
    format_: Annotated[str, typer.Option("--format", help="onnx or torchscript.")] = "onnx",
) -> None:
    """Export RUN for serving (RUN/export/): the model, checked against PyTorch on the test split, and its preprocessing."""
    from neuronet.deploy.export import ATOL, RTOL
    from neuronet.runs.kinds import kind_of_run

    result = kind_of_run(run).export(run, format_)  # it holds the run's lock while it writes RUN/export/
    out.print(f"exported {result.format}: {result.path} (input {result.input_shape}; largest difference from "
              f"PyTorch on {result.checked_examples} test examples {result.max_abs_diff:.2g}, tolerance {ATOL} + "
              f"{RTOL} x |value|)", soft_wrap=True)


@app.command()
@friendly
def serve(
    run: Annotated[Path, typer.Argument(help="A run directory made by `neuronet train`.")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    backend: Annotated[str, typer.Option(help="torch, or onnx (ONNX Runtime runs the network; exported first if needed).")] = "torch",
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (one torch thread each when > 1).")] = 1,
    batch_window_ms: Annotated[float, typer.Option(min=0, help="Collect concurrent requests this long into one "
                                                              "forward pass (0: no micro-batching).")] = 2.0,
    max_batch: Annotated[int, typer.Option(min=1, help="The most instances per forward pass.")] = 64,
    max_body_mb: Annotated[float, typer.Option(min=0.001, help="Larger request bodies get a 413.")] = 20.0,
) -> None:
    """Serve RUN over HTTP until stopped: a model (POST /predict, /predict/batch, /predict/file; a web page at /) or an
    RL policy (POST /act); GET /health, /metadata, /docs."""
    from neuronet.runs.kinds import kind_of_run

    check_port(port)
    if backend not in ("torch", "onnx"):
        raise NeuronetError(f"Unknown backend {backend!r}; use torch or onnx.")
    kind_of_run(run).serve(run, host, port, say=lambda line: out.print(Text(line), soft_wrap=True), backend=backend,
                           workers=workers, batch_window_ms=batch_window_ms, max_batch=max_batch,
                           max_body_bytes=int(max_body_mb * 1024 * 1024),
                           export_first=backend == "onnx" and not (run / "export" / "model.onnx").is_file())
