"""The prediction service: FastAPI on uvicorn, a web page to try the model, micro-batching.

    neuronet serve runs/my-run --port 8000          # then open http://127.0.0.1:8000/

Endpoints: `POST /predict` (one instance), `POST /predict/batch` (`{"instances": [...]}`),
`POST /predict/file` (an uploaded image, WAV, text or table file), `GET /health`, `GET /ready`,
`GET /metadata`, `GET /` (the page) and `GET /docs` (the OpenAPI schema, generated from this
run's real inputs). Bad requests get a 4xx with one sentence (`{"detail": ...}`), never a 500.

It imports nothing from training: the Predictor's promise.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations, which are
# request models built at run time for this run.
import asyncio
import difflib
import logging
import os
import tempfile
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, File, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field, create_model
from starlette.concurrency import run_in_threadpool

from neuronet.deploy.page import page_html
from neuronet.deploy.schemas import Problem, instance_model, response_model, to_inputs, to_responses
from neuronet.errors import NeuronetError
from neuronet.predict import Predictor
from neuronet.runs.files import RunFiles, read_json

__all__ = ["create_app", "serve", "MicroBatcher", "MAX_BODY_BYTES"]

log = logging.getLogger("neuronet.serve")
MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_BATCH_INSTANCES = 4096
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body is not valid JSON (or not a valid upload)."},
    413: {"model": Problem, "description": "The body is larger than the service accepts."},
    415: {"model": Problem, "description": "The body is not sent as application/json."},
    422: {"model": Problem, "description": "The inputs are not what this model reads: a missing or wrong field, a "
                                           "wrong type, NaN, an unreadable image or sound, an empty batch."},
}


class MicroBatcher:
    """Collects the instances of concurrent requests for up to `window_s` (or `max_batch` instances)
    and predicts them in one forward pass; a request whose inputs fail is retried on its own, so
    one bad request never fails the others."""

    def __init__(self, predict: Callable[[list[Any]], list[Any]], window_s: float, max_batch: int) -> None:
        self.predict, self.window_s, self.max_batch = predict, window_s, max_batch
        self.queue: asyncio.Queue[tuple[list[Any], asyncio.Future]] | None = None
        self.task: asyncio.Task | None = None
        self.batches = 0

    async def start(self) -> None:
        if self.window_s > 0:
            self.queue = asyncio.Queue()
            self.task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    async def submit(self, instances: list[Any]) -> list[Any]:
        if self.queue is None:  # no batching: predict this request now (in a worker thread)
            return await run_in_threadpool(self.predict, instances)
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((instances, future))
        return await future

    async def _loop(self) -> None:
        assert self.queue is not None
        while True:
            waiting = [await self.queue.get()]
            size, deadline = len(waiting[0][0]), time.monotonic() + self.window_s
            while size < self.max_batch and (left := deadline - time.monotonic()) > 0:
                try:
                    waiting.append(await asyncio.wait_for(self.queue.get(), left))
                except asyncio.TimeoutError:
                    break
                size += len(waiting[-1][0])
            await self._run(waiting)

    async def _run(self, waiting: list[tuple[list[Any], asyncio.Future]]) -> None:
        self.batches += 1
        try:
            results = await run_in_threadpool(self.predict, [x for instances, _ in waiting for x in instances])
        except Exception:  # noqa: BLE001 - find the request at fault; the others still get answers
            for instances, future in waiting:
                try:
                    future.set_result(await run_in_threadpool(self.predict, instances))
                except Exception as err:  # noqa: BLE001 - handed to that request's handler
                    future.set_exception(err)
            return
        start = 0
        for instances, future in waiting:
            if not future.done():
                future.set_result(results[start:start + len(instances)])
            start += len(instances)


class _BodyLimit:
    """A 413 for a body over `limit` bytes, by its Content-Length or as it streams in."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await self._too_large(send)
        seen, started = 0, False

        async def limited() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        async def tracking(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, tracking)
        except _TooLarge:
            if not started:
                await self._too_large(send)

    async def _too_large(self, send: Callable) -> None:
        body = Problem(detail=f"The request body is over {self.limit // (1024 * 1024)} MiB; send fewer or smaller "
                              "inputs per request.").model_dump_json().encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


_TYPE_TAGS = {"str", "float", "int", "bool", "none", "list", "dict"}


def _sentence(error: dict[str, Any], body: Any = None) -> str:
    """Pydantic's first error as one sentence: where, what, what was sent, and a likely fix."""
    loc = [str(p) for p in error.get("loc", ()) if p != "body" and str(p) not in _TYPE_TAGS
           and not str(p).startswith(("function-", "constrained-"))]
    where = f"'{'.'.join(loc)}'" if loc else "The body"
    message = error.get("msg", "is invalid").removeprefix("Value error, ")
    got = error.get("input")
    shown = "" if isinstance(got, (dict, list)) or got is None or error.get("type") == "missing" else f" (got {got!r:.60})"
    hint = ""
    if error.get("type") == "missing" and loc and isinstance(body, dict):
        close = difflib.get_close_matches(loc[-1], [str(k) for k in body], n=1, cutoff=0.6)
        hint = f"; the body has '{close[0]}': is it misspelt?" if close else ""
        if loc[-1] == "text" and body:  # e.g. under the training file's column name ('quote', 'tweet')
            hint = f"; send the text as 'text' (the body has {', '.join(repr(str(k)) for k in list(body)[:3])})"
    elif error.get("type") in ("float_parsing", "float_type") and isinstance(got, str):
        hint = "; send a JSON number, or null for a missing value"
    return f"{where}: {message}{shown}{hint}" + ("" if hint.endswith("?") else ".")


def create_app(run: str | Path, backend: str = "torch", batch_window_ms: float = 2.0, max_batch: int = 64,
               max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """The FastAPI app serving `run`.

    Args:
        run: A trained run directory.
        backend: "torch" or "onnx" (RUN/export/model.onnx, made by `neuronet export`).
        batch_window_ms: How long to collect concurrent requests into one forward pass (0: no batching).
        max_batch: The most instances per forward pass.
        max_body_bytes: Larger request bodies get a 413.
    """
    predictor = Predictor.load(run, backend)
    files = RunFiles(run)
    state = read_json(files.preprocessing)
    spec = read_json(files.model)
    meta, task, classes = predictor.meta, predictor.task.name, predictor.classes
    kind = meta["inputs"].get("kind", meta.get("layout"))
    steps = next((s.get("steps") for s in state["pipeline"]["steps"] if s.get("type") == "table"), None)
    Instance = instance_model(meta, steps)
    Prediction = response_model(task, classes)
    Batch = create_model("Batch", instances=(list[Instance], Field(min_length=1, max_length=MAX_BATCH_INSTANCES,
                                                                    description="The instances to predict.")))
    Predictions = create_model("Predictions", predictions=(list[Prediction], ...))
    metrics = read_json(files.metrics).get("test", {}) if files.metrics.is_file() else {}

    def predict(instances: list[Any]) -> list[dict[str, Any]]:
        return to_responses(task, predictor.predict_frame(to_inputs(kind, instances)), classes)

    batcher = MicroBatcher(predict, batch_window_ms / 1000, max_batch)
    ready = {"ready": False}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        await batcher.start()
        ready["ready"] = True
        yield
        ready["ready"] = False
        await batcher.stop()

    app = FastAPI(title=f"neuronet: {files.root.name}", lifespan=lifespan,
                  description=f"A {task} model ({spec['type']}) trained by neuronet on '{meta['name']}'. "
                              "POST one instance to /predict, several to /predict/batch.")
    app.state.batcher = batcher
    app.add_middleware(_BodyLimit, limit=max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if request.url.path in ("/predict", "/predict/batch") and kind != "application/json":
            return JSONResponse({"detail": f"Send the body as JSON with 'Content-Type: application/json' (got "
                                           f"{kind or 'no content type'!r})."}, status_code=415)
        if first.get("type") == "json_invalid":
            return JSONResponse({"detail": f"The body is not valid JSON ({first.get('ctx', {}).get('error', 'parse error')})."},
                                status_code=400)
        return JSONResponse({"detail": _sentence(first, error.body)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = {405: f"{request.method} is not allowed on {request.url.path}; see /docs for each path's method.",
                  404: f"There is no {request.url.path}; the service has /predict, /predict/batch, /predict/file, "
                       "/health, /ready, /metadata and /docs."}.get(error.status_code, str(error.detail))
        return JSONResponse({"detail": detail}, status_code=error.status_code, headers=getattr(error, "headers", None))

    @app.exception_handler(NeuronetError)
    async def bad_inputs(request: Request, error: NeuronetError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:  # pragma: no cover - a bug of ours
        log.exception("prediction failed")
        return JSONResponse({"detail": f"The model could not read these inputs ({type(error).__name__}: "
                                       f"{str(error)[:200]})."}, status_code=422)

    @app.post("/predict", response_model=Prediction, responses=ERRORS, summary="Predict one instance")
    async def predict_one(instance: Instance) -> Any:  # type: ignore[valid-type]
        return (await batcher.submit([instance]))[0]

    @app.post("/predict/batch", response_model=Predictions, responses=ERRORS, summary="Predict several instances")
    async def predict_batch(batch: Batch) -> Any:  # type: ignore[valid-type]
        return {"predictions": await batcher.submit(list(batch.instances))}

    @app.post("/predict/file", response_model=Predictions, responses=ERRORS,
              summary="Predict from an uploaded file (an image, a WAV, a .txt or a table)")
    async def predict_upload(file: UploadFile = File(..., description="The file to predict from.")) -> Any:
        suffix = Path(file.filename or "upload").suffix.lower()[:10]
        data = await file.read()
        if not data:
            return JSONResponse({"detail": "The uploaded file is empty."}, status_code=422)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"upload{suffix}"
            path.write_bytes(data)
            try:
                frame = await run_in_threadpool(predictor.predict_frame, str(path))
            except NeuronetError as error:  # name the user's file, not our temporary copy
                message = str(error).replace(f"Data file {path}", f"The uploaded file {file.filename!r}")
                raise type(error)(message.replace(str(path), repr(file.filename or "upload"))) from None
        return {"predictions": to_responses(task, frame, classes)}

    class Health(BaseModel):
        status: str

    class Ready(BaseModel):
        ready: bool

    @app.get("/health", response_model=Health, summary="The process is up")
    async def health() -> Any:
        return {"status": "ok"}

    @app.get("/ready", response_model=Ready, responses={503: {"model": Ready}}, summary="The model is loaded")
    async def is_ready() -> Any:
        return JSONResponse({"ready": ready["ready"]}, status_code=200 if ready["ready"] else 503)

    info = {"run": files.root.name, "task": task, "model": spec["type"], "backend": predictor.backend,
            "data": meta["name"], "classes": classes, "targets": meta.get("target_names"),
            "input": {"kind": kind, "schema": Instance.model_json_schema(by_alias=True),
                      "shape": meta.get("input_shape")},
            "metrics": metrics, "batching": {"window_ms": batch_window_ms, "max_batch": max_batch}}

    @app.get("/metadata", summary="What this model is, reads and returns, and how well it did on its test split")
    async def metadata() -> dict[str, Any]:
        return {**info, "forward_passes": batcher.batches}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def home() -> str:
        return page_html(info)

    return app


def app_from_environment() -> FastAPI:
    """The app for `uvicorn --factory` worker processes (several workers): settings from NEURONET_SERVE_*."""
    return create_app(os.environ["NEURONET_SERVE_RUN"], os.environ.get("NEURONET_SERVE_BACKEND", "torch"),
                      float(os.environ.get("NEURONET_SERVE_WINDOW_MS", "2")),
                      int(os.environ.get("NEURONET_SERVE_MAX_BATCH", "64")),
                      int(os.environ.get("NEURONET_SERVE_MAX_BODY", str(MAX_BODY_BYTES))))


def serve(run: str | Path, host: str = "127.0.0.1", port: int = 8000, backend: str = "torch", workers: int = 1,
          batch_window_ms: float = 2.0, max_batch: int = 64, max_body_bytes: int = MAX_BODY_BYTES,
          log_level: str = "info") -> None:
    """Serve `run` with uvicorn until interrupted; Ctrl-C or SIGTERM finishes in-flight requests first."""
    import uvicorn

    if workers > 1:  # each worker process loads the model; one torch thread each
        os.environ.update({"NEURONET_SERVE_RUN": str(run), "NEURONET_SERVE_BACKEND": backend,
                           "NEURONET_SERVE_WINDOW_MS": str(batch_window_ms), "NEURONET_SERVE_MAX_BATCH": str(max_batch),
                           "NEURONET_SERVE_MAX_BODY": str(max_body_bytes), "OMP_NUM_THREADS": "1"})
        uvicorn.run("neuronet.deploy.server:app_from_environment", factory=True, host=host, port=port,
                    workers=workers, log_level=log_level, timeout_graceful_shutdown=30)
    else:
        uvicorn.run(create_app(run, backend, batch_window_ms, max_batch, max_body_bytes), host=host, port=port,
                    log_level=log_level, timeout_graceful_shutdown=30)
