"""The prediction service: FastAPI on uvicorn, a web page to try the model, micro-batching.

    neuronet serve runs/my-run --port 8000          # then open http://127.0.0.1:8000/

Endpoints: `POST /predict` (one instance), `POST /predict/batch` (`{"instances": [...]}`),
`POST /predict/file` (an uploaded image, WAV, text or table file), `GET /health`, `GET /ready`,
`GET /metadata`, `GET /` (the page) and `GET /docs` (the OpenAPI schema, generated from this
run's real inputs). Bad requests get a 4xx with one sentence (`{"detail": ...}`) and one log line
(deploy/guard.py: the body limit, slow bodies, the log); only a bug of ours is a 500, logged once with
its traceback. Uploads and images are sized from their headers before they are decoded.

It imports nothing from training: the Predictor's promise.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations, which are
# request models built at run time for this run.
import asyncio
import difflib
import os
import re
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

from neuronet.datasets.inputs import read_inputs
from neuronet.deploy.guard import BODY_IDLE_S, Guard, body_error, check_address, check_port, log_config, shown
from neuronet.deploy.page import page_html
from neuronet.deploy.schemas import Problem, check_pixels, instance_model, to_inputs
from neuronet.errors import DataError, NeuronetError
from neuronet.predict import Predictor
from neuronet.rundir.files import RunFiles, read_json

__all__ = ["create_app", "serve", "check_port", "MicroBatcher", "MAX_BODY_BYTES", "MAX_BATCH_INSTANCES"]

MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_BATCH_INSTANCES = 4096
MAX_UPLOAD_ROWS = 200_000  # rows of an uploaded table, lines of an uploaded text file
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body is not valid JSON (or not a valid upload)."},
    408: {"model": Problem, "description": "The body stopped arriving before it was whole."},
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
                    _settle(future, await run_in_threadpool(self.predict, instances))
                except Exception as err:  # noqa: BLE001 - handed to that request's handler
                    _settle(future, error=err)
            return
        start = 0
        for instances, future in waiting:
            _settle(future, results[start:start + len(instances)])
            start += len(instances)


def _settle(future: asyncio.Future, result: Any = None, error: Exception | None = None) -> None:
    """Answer a waiting request, unless it is gone (its client left and its handler was cancelled)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


_TYPE_TAGS = {"str", "float", "int", "bool", "none", "list", "dict"}


def _sentence(error: dict[str, Any], body: Any = None) -> str:
    """Pydantic's first error as one sentence: where, what, what was sent, and a likely fix."""
    loc = [str(p) for p in error.get("loc", ()) if p != "body" and str(p) not in _TYPE_TAGS
           and not str(p).startswith(("function-", "constrained-"))]
    where = f"'{'.'.join(loc)}'" if loc else "The body"
    message = error.get("msg", "is invalid").removeprefix("Value error, ")
    got = error.get("input")
    sent = "" if isinstance(got, (dict, list)) or got is None or error.get("type") == "missing" else \
        f" (got {shown(repr(got[:61] if isinstance(got, (str, bytes)) else got), 60)})"
    hint = ""
    keys = [shown(str(k), 40) for k in list(body)[:200]] if isinstance(body, dict) else []
    if error.get("type") == "missing" and loc == ["file"]:
        hint = "; send the file as multipart/form-data in the form field 'file'"
    elif error.get("type") == "missing" and loc and keys:
        close = difflib.get_close_matches(loc[-1], keys, n=1, cutoff=0.6)
        hint = f"; the body has '{close[0]}': is it misspelt?" if close else ""
        if loc[-1] == "text":  # e.g. under the training file's column name ('quote', 'tweet')
            hint = f"; send the text as 'text' (the body has {', '.join(repr(k) for k in keys[:3])})"
    elif error.get("type") in ("float_parsing", "float_type") and isinstance(got, str):
        hint = "; send a JSON number, or null for a missing value"
    return f"{where}: {message}{sent}{hint}" + ("" if hint.endswith("?") else ".")


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _refusals(app: FastAPI) -> None:
    """The model service's exception handlers: every refusal is a 4xx with one sentence."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        kind = _content_type(request)
        if request.url.path == "/predict/file" and kind != "multipart/form-data":
            return JSONResponse({"detail": f"Send the file as multipart/form-data in the form field 'file' (got "
                                           f"{shown(kind, 60) or 'no content type'!r})."}, status_code=415)
        if request.url.path != "/predict/file" and kind != "application/json" and not kind.endswith("+json"):
            return JSONResponse({"detail": f"Send the body as JSON with 'Content-Type: application/json' (got "
                                           f"{shown(kind, 60) or 'no content type'!r})."}, status_code=415)
        if first.get("type") == "json_invalid":
            return JSONResponse({"detail": f"The body is not valid JSON ({first.get('ctx', {}).get('error', 'parse error')})."},
                                status_code=400)
        return JSONResponse({"detail": _sentence(first, error.body)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        path = shown(request.url.path, 80)
        detail = {405: f"{shown(request.method, 20)} is not allowed on {path}; see /docs for each path's method.",
                  404: f"There is no {path}; the service has /predict, /predict/batch, /predict/file, "
                       "/health, /ready, /metadata and /docs."}.get(error.status_code, str(error.detail))
        if error.status_code == 400 and error.__cause__ is not None:  # FastAPI could not parse the body
            detail = body_error(error.__cause__, _content_type(request))
        elif error.status_code == 400 and _content_type(request).startswith("multipart/"):
            detail = (f"The body is not valid multipart/form-data ({str(error.detail).rstrip('.')}); send the file "
                      "in the form field 'file'.")
        return JSONResponse({"detail": detail}, status_code=error.status_code, headers=getattr(error, "headers", None))

    @app.exception_handler(NeuronetError)
    async def bad_inputs(request: Request, error: NeuronetError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)


def _predict_upload(predictor: Predictor, filename: str, data: bytes) -> Any:
    """Predictions for an uploaded file's bytes (in a worker thread); what cannot be read is a DataError naming it."""
    name, suffix = shown(filename, 80), re.sub(r"[^a-z0-9.]", "", Path(filename).suffix.lower())[:10]
    kind = predictor.meta["inputs"].get("kind", predictor.meta.get("layout"))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            _check_upload_size(path, kind, name)
            try:
                raw = read_inputs(str(path), predictor.meta)
            except (ValueError, OSError, EOFError) as error:  # a reader's own error on a malformed file
                if isinstance(error, NeuronetError):
                    raise
                raise DataError(f"The uploaded file {name!r} cannot be read as a {suffix or 'suffix-less'} file "
                                f"({type(error).__name__}); check that it is what its name says.") from None
            return predictor.predict_frame(raw)
        except NeuronetError as error:  # name the user's file, not our temporary copy
            message = str(error).replace(f"Data file {path}", f"The uploaded file {name!r}")
            raise type(error)(message.replace(str(path), repr(name))) from None


def _check_upload_size(path: Path, kind: str, name: str) -> None:
    """Refuse, before decoding, an upload that would fill memory: a huge image, or millions of rows or lines."""
    if kind == "image":
        from PIL import Image

        try:
            image = Image.open(path)  # the header only
        except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
            return  # not an image: the reader says so in its own words
        with image:
            check_pixels(image.size, 0, f"The uploaded image {name!r}")
        return
    rows = 0
    if path.suffix in (".csv", ".tsv", ".txt"):
        rows = path.read_bytes().count(b"\n")
    elif path.suffix in (".parquet", ".pq"):
        try:
            import pyarrow.parquet as pq

            rows = pq.ParquetFile(path).metadata.num_rows
        except (ImportError, OSError, ValueError):  # not Parquet: the reader says so in its own words
            rows = 0
    if rows > MAX_UPLOAD_ROWS:
        raise DataError(f"The uploaded file {name!r} has {rows:,} rows or lines; the service predicts up to "
                        f"{MAX_UPLOAD_ROWS:,} per file, so split it.")


def create_app(run: str | Path, backend: str = "torch", batch_window_ms: float = 2.0, max_batch: int = 64,
               max_body_bytes: int = MAX_BODY_BYTES, body_idle_s: float = BODY_IDLE_S) -> FastAPI:
    """The FastAPI app serving `run`.

    Args:
        run: A trained run directory.
        backend: "torch" or "onnx" (RUN/export/model.onnx, made by `neuronet export`).
        batch_window_ms: How long to collect concurrent requests into one forward pass (0: no batching).
        max_batch: The most instances per forward pass.
        max_body_bytes: Larger request bodies get a 413.
        body_idle_s: A body that stops arriving for this long gets a 408.
    """
    predictor = Predictor.load(run, backend)
    files = RunFiles(run)
    state = read_json(files.preprocessing)
    spec = read_json(files.model)
    meta, task, classes = predictor.meta, predictor.task, predictor.classes  # the task says what a response holds
    kind = meta["inputs"].get("kind", meta.get("layout"))
    steps = next((s.get("steps") for s in state["pipeline"]["steps"] if s.get("type") == "table"), None)
    Instance = instance_model(meta, steps)
    Prediction = task.response_model(classes)
    Batch = create_model("Batch", instances=(list[Instance], Field(min_length=1, max_length=MAX_BATCH_INSTANCES,
                                                                    description="The instances to predict.")))
    Predictions = create_model("Predictions", predictions=(list[Prediction], ...))
    metrics = read_json(files.metrics).get("test", {}) if files.metrics.is_file() else {}

    def predict(instances: list[Any]) -> list[dict[str, Any]]:
        return task.to_responses(predictor.predict_frame(to_inputs(kind, instances)), classes)

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
                  description=f"A {task.name} model ({spec['type']}) trained by neuronet on '{meta['name']}'. "
                              "POST one instance to /predict, several to /predict/batch.")
    app.state.batcher = batcher
    app.add_middleware(Guard, limit=max_body_bytes, idle_s=body_idle_s)
    _refusals(app)

    @app.post("/predict", response_model=Prediction, responses=ERRORS, summary="Predict one instance")
    async def predict_one(instance: Instance) -> Any:  # type: ignore[valid-type]
        return (await batcher.submit([instance]))[0]

    @app.post("/predict/batch", response_model=Predictions, responses=ERRORS, summary="Predict several instances")
    async def predict_batch(batch: Batch) -> Any:  # type: ignore[valid-type]
        return {"predictions": await batcher.submit(list(batch.instances))}

    @app.post("/predict/file", response_model=Predictions, responses=ERRORS,
              summary="Predict from an uploaded file (an image, a WAV, a .txt or a table)")
    async def predict_upload(request: Request,
                             file: UploadFile = File(..., description="The file to predict from.")) -> Any:
        sent = len((await request.form()).getlist("file"))  # parsed already, to fill `file`
        if sent > 1:
            raise DataError(f"Send one file per request in the form field 'file'; this request has {sent}.")
        data = await file.read()
        if not data:
            raise DataError("The uploaded file is empty; send a file that holds the inputs to predict.")
        frame = await run_in_threadpool(_predict_upload, predictor, file.filename or "upload", data)
        return {"predictions": task.to_responses(frame, classes)}

    if "generate" in task.offers:  # a language model also writes text after a prompt, streamed if asked
        from neuronet.deploy.generation import add_generation

        add_generation(app, predictor, ERRORS)

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

    info = {"run": files.root.name, "task": task.name, "model": spec["type"], "backend": predictor.backend,
            "data": meta["name"], "classes": classes, "targets": meta.get("target_names"),
            "input": {"kind": kind, "schema": Instance.model_json_schema(by_alias=True),
                      "shape": meta.get("input_shape")},
            "metrics": metrics, "batching": {"window_ms": batch_window_ms, "max_batch": max_batch}}

    @app.get("/metadata", summary="What this model is, reads and returns, and how well it did on its test split")
    async def metadata() -> dict[str, Any]:
        return {**info, "forward_passes": batcher.batches}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def home() -> str:
        return page_html(info, task.widget)

    return app


def app_from_environment() -> FastAPI:
    """The app for `uvicorn --factory` worker processes (several workers): settings from NEURONET_SERVE_*."""
    return create_app(os.environ["NEURONET_SERVE_RUN"], os.environ.get("NEURONET_SERVE_BACKEND", "torch"),
                      float(os.environ.get("NEURONET_SERVE_WINDOW_MS", "2")),
                      int(os.environ.get("NEURONET_SERVE_MAX_BATCH", "64")),
                      int(os.environ.get("NEURONET_SERVE_MAX_BODY", str(MAX_BODY_BYTES))))


def serve(run: str | Path, host: str = "127.0.0.1", port: int = 8000, backend: str = "torch", workers: int = 1,
          batch_window_ms: float = 2.0, max_batch: int = 64, max_body_bytes: int = MAX_BODY_BYTES,
          log_level: str = "info", ready: Callable[[], None] | None = None) -> None:
    """Serve `run` with uvicorn until interrupted; Ctrl-C or SIGTERM finishes in-flight requests first.

    Each request gets one line in the log (method, path, status, time; a refusal's reason), not uvicorn's access log.
    The run is loaded here first, whatever `workers`: a damaged run is one error before anything listens (with
    several workers it used to crash each worker, and uvicorn restarted them, tracebacks without end); `ready` is
    called then, just before the server starts.

    Raises:
        ConfigError: `port` is not 1 to 65535, is taken or needs privileges, or `host` is not this machine's.
    """
    import uvicorn

    check_address(host, port)
    logging_ = {"log_level": log_level, "log_config": log_config(log_level), "access_log": False}

    app = create_app(run, backend, batch_window_ms, max_batch, max_body_bytes)  # checks the run: DataError if damaged
    if ready is not None:
        ready()
    if workers > 1:  # each worker process loads the model again; one torch thread each
        del app
        os.environ.update({"NEURONET_SERVE_RUN": str(run), "NEURONET_SERVE_BACKEND": backend,
                           "NEURONET_SERVE_WINDOW_MS": str(batch_window_ms), "NEURONET_SERVE_MAX_BATCH": str(max_batch),
                           "NEURONET_SERVE_MAX_BODY": str(max_body_bytes), "OMP_NUM_THREADS": "1"})
        uvicorn.run("neuronet.deploy.server:app_from_environment", factory=True, host=host, port=port,
                    workers=workers, timeout_graceful_shutdown=30, **logging_)
    else:
        uvicorn.run(app, host=host, port=port, timeout_graceful_shutdown=30, **logging_)
