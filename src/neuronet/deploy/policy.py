"""Serving a reinforcement-learning policy: POST observations, get the greedy actions back.

The network is rebuilt from the run's model.json and its safetensors weights alone: no
environment is made and no training code runs. Endpoints: POST /act (one observation),
POST /act/batch (several), GET /health, GET /metadata, /docs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from neuronet.deploy.guard import Guard, body_error, shown
from neuronet.rundir.files import RunFiles, read_json

__all__ = ["create_policy_app", "PolicyError"]

MAX_OBSERVATIONS = 4096
MAX_BODY_BYTES = 20 * 1024 * 1024


class PolicyError(ValueError):
    """An observation that does not fit the policy (its shape, its numbers)."""


class Observation(BaseModel):
    observation: Any = Field(..., description="One observation, as nested lists of numbers shaped like the env's.")


class Observations(BaseModel):
    observations: list[Any] = Field(..., min_length=1, max_length=MAX_OBSERVATIONS,
                                    description="Several observations, each shaped like the env's.")


def create_policy_app(run: str | Path, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """The FastAPI app serving the policy of an RL run directory (bodies over `max_body_bytes` get a 413)."""
    from neuronet.rl.policies import greedy_actions, policy_from_spec
    from neuronet.transfer.weights import load_weights

    files = RunFiles(run)
    files.check_trained()
    spec = files.model_spec()
    net = policy_from_spec(spec)
    load_weights(net, files.load_weights(), where=str(files.weights))
    net.eval()
    shape = tuple(spec["obs_shape"])
    dtype = torch.uint8 if spec["obs_dtype"] == "uint8" else torch.float32
    evaluation = read_json(files.metrics).get("evaluation", {}) if files.metrics.is_file() else {}

    def tensor(items: list[Any]) -> torch.Tensor:
        try:
            x = torch.tensor(items, dtype=torch.float64)
        except OverflowError:  # an integer of hundreds of digits
            raise PolicyError("Observations must be finite numbers that fit a float (up to about 1e308).") from None
        except (TypeError, ValueError, RuntimeError):
            raise PolicyError(f"Each observation must be nested lists of numbers shaped {list(shape)}.") from None
        if tuple(x.shape[1:]) != shape:
            raise PolicyError(f"An observation must have shape {list(shape)}; got {list(x.shape[1:])}.")
        if not torch.isfinite(x).all():
            raise PolicyError("Observations must be finite numbers.")
        limit = 255 if dtype == torch.uint8 else float(torch.finfo(torch.float32).max)
        if (x.abs() > limit).any() or (dtype == torch.uint8 and (x < 0).any()):  # would wrap or become inf
            what = "0 to 255 (pixels)" if limit == 255 else "within float32 (about 3.4e38)"
            raise PolicyError(f"Observations must be numbers the policy reads: {what}.")
        return x.to(dtype)

    @torch.no_grad()
    def act(items: list[Any]) -> list[Any]:
        return greedy_actions(net(tensor(items)), spec).tolist()

    app = FastAPI(title=f"neuronet policy: {files.root.name}",
                  description=f"A {spec['agent']} policy: POST an observation to /act, several to /act/batch.")
    app.add_middleware(Guard, limit=max_body_bytes)

    @app.exception_handler(PolicyError)
    async def bad_observation(request: Request, error: PolicyError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json" and not kind.endswith("+json"):
            return JSONResponse({"detail": f"Send the body as JSON with 'Content-Type: application/json' (got "
                                           f"{shown(kind, 60) or 'no content type'!r})."}, status_code=415)
        if first.get("type") == "json_invalid":
            return JSONResponse({"detail": "The body is not valid JSON."}, status_code=400)
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return JSONResponse({"detail": f"The body needs {where or 'a JSON object'}: {first.get('msg', 'invalid')}; "
                                       'send {"observation": [...]} to /act, {"observations": [[...], ...]} to '
                                       "/act/batch."}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        path = shown(request.url.path, 80)
        detail = {404: f"There is no {path}; the service has /act, /act/batch, /health, /metadata and /docs.",
                  405: f"{shown(request.method, 20)} is not allowed on {path}."}.get(error.status_code, str(error.detail))
        if error.status_code == 400 and error.__cause__ is not None:  # FastAPI could not parse the body
            detail = body_error(error.__cause__, request.headers.get("content-type", ""))
        return JSONResponse({"detail": detail}, status_code=error.status_code)

    @app.post("/act")
    async def act_one(body: Observation) -> dict[str, Any]:
        return {"action": (await run_in_threadpool(act, [body.observation]))[0]}

    @app.post("/act/batch")
    async def act_many(body: Observations) -> dict[str, Any]:
        return {"actions": await run_in_threadpool(act, body.observations)}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metadata")
    async def metadata() -> dict[str, Any]:
        return {"run": files.root.name, "agent": spec["agent"], "observation_shape": list(shape),
                "observation_dtype": spec["obs_dtype"], "discrete": spec["discrete"], "actions": spec["action_dim"],
                "evaluation": {k: evaluation[k] for k in ("episodes", "mean_return", "std_return") if k in evaluation}}

    return app
