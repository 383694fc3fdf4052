"""Deployment: export a run (ONNX, TorchScript) and serve it over HTTP with a web page.

Imported lazily: `neuronet.deploy.export_run`, `neuronet.deploy.create_app`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ExportResult", "export_run", "create_app", "serve"]

_WHERE = {"ExportResult": "export", "export_run": "export", "create_app": "server", "serve": "server"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        from importlib import import_module

        return getattr(import_module(f"neuronet.deploy.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'neuronet.deploy' has no attribute {name!r}")
