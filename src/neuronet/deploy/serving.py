"""Serving a run until it is stopped: a model behind /predict, or a policy behind /act.

These are the servers the run kinds name (`RunKind.server`): `serve_model` for runs that learned
from data (exporting to ONNX first when asked), `serve_policy` for reinforcement-learning runs.
`say` receives the lines a person reads (where it serves, what was exported).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from neuronet.deploy.guard import check_address, log_config
from neuronet.errors import NeuronetError

__all__ = ["serve_model", "serve_policy"]


def serve_model(run: Path, host: str = "127.0.0.1", port: int = 8000, say: Callable[[str], None] = print,
                backend: str = "torch", workers: int = 1, batch_window_ms: float = 2.0, max_batch: int = 64,
                max_body_bytes: int = 20 * 1024 * 1024, export_first: bool = False) -> None:
    """Serve a trained model: /predict, /predict/batch, /predict/file, the web page (see `deploy.server`).

    Args:
        export_first: Export to ONNX first (checked against PyTorch); a model that cannot be is
            served with torch, unless `backend` is "onnx".
    """
    from neuronet.deploy.export import ExportError, export_run
    from neuronet.deploy.server import serve

    check_address(host, port)  # a port in use or a host not this machine's: one sentence, before anything starts
    if export_first:
        try:
            exported = export_run(run, "onnx")
            say(f"export: {exported.path} (ONNX; largest difference from PyTorch on {exported.checked_examples} test "
                f"examples: {exported.max_abs_diff:.2g})")
        except ExportError as error:
            if backend == "onnx":
                raise
            say(f"export: skipped ({error})")
        except NeuronetError as error:  # a GAN, or no serving extras
            say(f"export: skipped ({error})")
    serve(run, host=host, port=port, backend=backend, workers=workers, batch_window_ms=batch_window_ms,
          max_batch=max_batch, max_body_bytes=max_body_bytes,  # says "serving" once the run has loaded
          ready=lambda: say(f"serving {run} at http://{host}:{port}/  (API docs: http://{host}:{port}/docs; "
                            "Ctrl-C stops)"))


def serve_policy(run: Path, host: str = "127.0.0.1", port: int = 8000, say: Callable[[str], None] = print,
                 max_body_bytes: int = 20 * 1024 * 1024, **ignored: Any) -> None:
    """Serve a trained policy: POST /act, /act/batch (see `deploy.policy`); a policy is served as it is.

    The model server's options (backend, workers, micro-batching, export) do not apply and are ignored.
    """
    import uvicorn

    from neuronet.deploy.policy import create_policy_app

    check_address(host, port)
    app = create_policy_app(run, max_body_bytes=max_body_bytes)
    say(f"serving the policy of {run} at http://{host}:{port}/act  (API docs: http://{host}:{port}/docs; Ctrl-C stops)")
    uvicorn.run(app, host=host, port=port, log_config=log_config("warning"), access_log=False,
                timeout_graceful_shutdown=30)
