"""The prediction server against a hostile but realistic client: every refusal is a 4xx with one sentence,
one log line and no traceback; nothing hangs the server, grows its memory or gets a 5xx.

Most cases go to one real uvicorn server (in a thread of this process, on a free port of 127.0.0.1, its
log captured with caplog); the page is checked in a real browser against `neuronet serve` as a process,
with a run whose class labels are hostile strings.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from hostile.hostile_helpers import assert_refused, cli, free_port, one_sentence

pytestmark = pytest.mark.hostile("server")

httpx = pytest.importorskip("httpx", reason="the test extras are not installed")
uvicorn = pytest.importorskip("uvicorn", reason="the serving extras are not installed (pip install 'neuronet[serve]')")
from fastapi.testclient import TestClient  # noqa: E402

from neuronet.deploy.page import page_html, script_json  # noqa: E402
from neuronet.deploy.schemas import MAX_PIXELS  # noqa: E402
from neuronet.deploy.server import (  # noqa: E402
    MAX_BATCH_INSTANCES, MAX_UPLOAD_ROWS, MicroBatcher, check_port, create_app, serve)
from neuronet.errors import ConfigError  # noqa: E402

NEURONET = Path(sys.executable).parent / "neuronet"
LIMIT = 6 * 1024 * 1024  # the live server's body limit: 4096 rows fit, 7 MB do not
IDLE_S = 1.5  # the live server's wait for the next piece of a body
JSON = {"content-type": "application/json"}
LABELS = ["<!--<script>", "</script><script>alert(1)</script>", "\"quotes'", "emoji 😀🎉", "long " + "x" * 295,
          "amp & <b>bold</b> \u2028 \u2029 ]]>"]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def wait_ready(url: str) -> None:
    for _ in range(240):  # a bounded wait
        try:
            if httpx.get(url + "/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not become ready in 60 s")


class Live:
    """A real uvicorn server for `app` in a thread of this process (so caplog sees its log), on 127.0.0.1."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, access_log=False,
                                timeout_graceful_shutdown=5)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_ready(self.url)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)

    def raw(self, data: bytes, wait_s: float = 10) -> bytes:
        """Send raw bytes on a new connection; what comes back until the response is whole or the socket closes."""
        with socket.create_connection(("127.0.0.1", self.port)) as s:
            s.settimeout(wait_s)
            s.sendall(data)
            return _read_response(s)


def _read_response(s: socket.socket) -> bytes:
    out = b""
    try:
        while chunk := s.recv(65536):
            out += chunk
            head, _, body = out.partition(b"\r\n\r\n")
            length = re.search(rb"content-length: *(\d+)", head, re.I)
            if length and len(body) >= int(length.group(1)):
                break
    except socket.timeout:
        pass
    return out


@pytest.fixture(scope="module")
def table(table_run):
    """The table run and one of its rows as a JSON instance."""
    frame = table_run[1].drop(columns="target")
    row = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in frame.iloc[0].to_dict().items()}
    return table_run[0], row


@pytest.fixture(scope="module")
def live(table):
    server = Live(create_app(table[0], max_body_bytes=LIMIT, body_idle_s=IDLE_S))
    yield server
    server.stop()


@pytest.fixture
def log(caplog):
    """The server's log, from here on."""
    caplog.set_level(logging.INFO, logger="neuronet.serve")
    caplog.set_level(logging.INFO, logger="uvicorn.error")
    caplog.clear()
    return caplog


def served_lines(caplog: pytest.LogCaptureFixture, logger: str = "neuronet.serve", n: int = 1) -> list[str]:
    """The lines `logger` wrote, once there are `n` (the server logs just after it answers: a bounded wait)."""
    for _ in range(100):
        lines = [r.getMessage() for r in caplog.records if r.name == logger]
        if len(lines) >= n:
            break
        time.sleep(0.02)
    assert not [r for r in caplog.records if r.exc_info] and "Traceback" not in caplog.text, caplog.text
    return lines


def assert_refusal(answer: httpx.Response, status: int, fragment: str, caplog: pytest.LogCaptureFixture) -> str:
    """A `status` answer with one sentence containing `fragment`, and one log line for it with no traceback."""
    assert answer.status_code == status, (answer.status_code, answer.text[:500])
    detail = one_sentence(answer.json()["detail"])
    assert fragment.lower() in detail.lower(), detail
    lines = served_lines(caplog)
    assert len(lines) == 1, lines
    request = answer.request
    assert f"{request.method} {request.url.path[:60]}" in lines[0] and f" {status} " in lines[0], lines
    assert lines[0].endswith(detail[:100]) or detail[:100] in lines[0], (lines[0], detail)
    return detail


def chunks(total: int, size: int = 64 * 1024, start: bytes = b'{"instances": [', fill: bytes = b" "):
    """A body sent chunked (no Content-Length): `start`, then `fill` up to `total` bytes."""
    yield start
    for _ in range(total // size):
        yield fill * (size // len(fill))


UPLOAD = b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\nmean area\n'


def npy(array: np.ndarray, **options: Any) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, **options)
    return buffer.getvalue()


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def png(array: np.ndarray) -> str:
    return base64.b64encode(png_bytes(array)).decode()


# (name, method, path, request options from the row, status, a fragment of the sentence)
CASES = [
    ("chunked body over the limit", "POST", "/predict",
     lambda row: dict(content=chunks(LIMIT + 1_000_000), headers=JSON), 413, "The request body is over 6 MiB"),
    ("chunked batch over the limit", "POST", "/predict/batch",
     lambda row: dict(content=chunks(LIMIT + 1_000_000), headers=JSON), 413, "over 6 MiB"),
    ("chunked upload over the limit", "POST", "/predict/file",
     lambda row: dict(content=chunks(LIMIT + 1_000_000, start=UPLOAD, fill=b"1\n"),
                      headers={"content-type": "multipart/form-data; boundary=b"}), 413, "over 6 MiB"),
    ("Content-Length over the limit", "POST", "/predict",
     lambda row: dict(content=b" " * (LIMIT + 1), headers=JSON), 413, "over 6 MiB"),
    ("JSON nested 100,000 deep", "POST", "/predict",
     lambda row: dict(content=b"[" * 100_000 + b"]" * 100_000, headers=JSON), 400, "nested too deeply"),
    ("objects nested 100,000 deep", "POST", "/predict/batch",
     lambda row: dict(content=b'{"a":' * 100_000 + b"1" + b"}" * 100_000, headers=JSON), 400, "nested too deeply"),
    ("1e400 (infinite once read)", "POST", "/predict",
     lambda row: dict(content=json.dumps({**row, "mean texture": 0}).replace('"mean texture": 0', '"mean texture": 1e400')
                      .encode(), headers=JSON), 422, "'mean texture': Input should be a finite number"),
    ("a NaN literal", "POST", "/predict",
     lambda row: dict(content=json.dumps({**row, "mean area": float("nan")}).encode(), headers=JSON), 422,
     "'mean area': Input should be a finite number"),
    ("-Infinity in a batch", "POST", "/predict/batch",
     lambda row: dict(content=json.dumps({"instances": [row, {**row, "mean area": -math.inf}]}).encode(), headers=JSON),
     422, "'instances.1.mean area': Input should be a finite number"),
    ("an integer of 5,000 digits", "POST", "/predict",
     lambda row: dict(content=json.dumps(row).replace('"mean area": ', '"mean area": ' + "9" * 5000 + ', "x": ')
                      .encode(), headers=JSON), 400, "thousands of digits"),
    ("a finite number the model overflows on", "POST", "/predict",
     lambda row: dict(json={**row, "mean area": 1e300}), 422, "beyond the 3.4e+38 a feature can hold"),
    ("a 10 MB string for a number", "POST", "/predict",
     lambda row: dict(json={**row, "mean area": "1" * 5_000_000}), 422, "'mean area': Input should be a valid number"),
    ("a 1 MB string for a date", "POST", "/predict",
     lambda row: dict(json={**row, "visit": "2" * 1_000_000}), 422, "'visit': String should have at most 64 characters"),
    ("a list where a number goes", "POST", "/predict",
     lambda row: dict(json={**row, "mean area": [1, 2]}), 422, "'mean area': Input should be a valid number"),
    ("an object where a category goes", "POST", "/predict",
     lambda row: dict(json={**row, "site": {"a": 1}}), 422, "'site'"),
    ("a list as the body", "POST", "/predict",
     lambda row: dict(json=[row]), 422, "The body: Input should be a valid dictionary"),
    ("a bare string as the body", "POST", "/predict",
     lambda row: dict(json="hello"), 422, "The body: Input should be a valid dictionary"),
    ("an empty JSON body", "POST", "/predict",
     lambda row: dict(content=b"", headers=JSON), 422, "Field required"),
    (f"{MAX_BATCH_INSTANCES + 904} instances", "POST", "/predict/batch",
     lambda row: dict(json={"instances": [row] * (MAX_BATCH_INSTANCES + 904)}), 422,
     f"'instances': List should have at most {MAX_BATCH_INSTANCES} items"),
    ("no instances", "POST", "/predict/batch",
     lambda row: dict(json={"instances": []}), 422, "at least 1 item"),
    ("instances not a list", "POST", "/predict/batch",
     lambda row: dict(json={"instances": row}), 422, "'instances': Input should be a valid list"),
    ("bad UTF-8", "POST", "/predict",
     lambda row: dict(content=b'{"site": "\xff\xfe\xfa"}', headers=JSON), 400, "not valid UTF-8"),
    ("truncated JSON", "POST", "/predict",
     lambda row: dict(content=json.dumps(row)[:-20].encode(), headers=JSON), 400, "The body is not valid JSON"),
    ("text/plain", "POST", "/predict",
     lambda row: dict(content=json.dumps(row).encode(), headers={"content-type": "text/plain"}), 415,
     "Send the body as JSON with 'Content-Type: application/json' (got 'text/plain')"),
    ("no content type", "POST", "/predict/batch",
     lambda row: dict(content=json.dumps({"instances": [row]}).encode()), 415, "got 'no content type'"),
    ("a urlencoded form", "POST", "/predict",
     lambda row: dict(data={"mean area": "1"}), 415, "application/x-www-form-urlencoded"),
    ("a multipart upload to /predict", "POST", "/predict",
     lambda row: dict(files={"file": ("a.csv", b"a,b\n1,2\n")}), 415, "multipart/form-data"),
    ("JSON to /predict/file", "POST", "/predict/file",
     lambda row: dict(json=row), 415, "Send the file as multipart/form-data in the form field 'file'"),
    ("multipart with no file", "POST", "/predict/file",
     lambda row: dict(files={"other": ("a.csv", b"a,b\n1,2\n")}), 422, "'file': Field required; send the file"),
    ("multipart with two files", "POST", "/predict/file",
     lambda row: dict(files=[("file", ("a.csv", b"a\n1\n")), ("file", ("b.csv", b"a\n1\n"))]), 422,
     "one file per request in the form field 'file'; this request has 2"),
    ("a 0-byte file", "POST", "/predict/file",
     lambda row: dict(files={"file": ("rows.csv", b"")}), 422, "The uploaded file is empty"),
    ("a file named ../../etc/passwd", "POST", "/predict/file",
     lambda row: dict(files={"file": ("../../etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n")}), 422,
     "'../../etc/passwd'"),
    ("multipart without a boundary", "POST", "/predict/file",
     lambda row: dict(content=b"--x\r\n", headers={"content-type": "multipart/form-data"}), 400,
     "not valid multipart/form-data"),
    ("a corrupt .npy", "POST", "/predict/file",
     lambda row: dict(files={"file": ("rows.npy", b"\x93NUMPY garbage")}), 422, "'rows.npy'"),
    ("a .npy of pickled objects", "POST", "/predict/file",
     lambda row: dict(files={"file": ("rows.npy", npy(np.array([{"a": 1}], dtype=object), allow_pickle=True))}), 422,
     "'rows.npy'"),
    (f"a CSV of more than {MAX_UPLOAD_ROWS:,} rows", "POST", "/predict/file",
     lambda row: dict(files={"file": ("many.csv", b"mean area\n" + b"1\n" * (MAX_UPLOAD_ROWS + 1))}), 422,
     f"up to {MAX_UPLOAD_ROWS:,} per file"),
    ("a 10 KB path", "GET", "/" + "x" * 10_000, lambda row: {}, 404, "There is no /xxxx"),
    ("OPTIONS", "OPTIONS", "/predict", lambda row: {}, 405, "OPTIONS is not allowed on /predict"),
    ("PUT", "PUT", "/predict", lambda row: dict(json=row), 405, "PUT is not allowed on /predict"),
    ("DELETE", "DELETE", "/predict/batch", lambda row: {}, 405, "DELETE is not allowed on /predict/batch"),
    ("GET on a POST path", "GET", "/predict/file", lambda row: {}, 405, "GET is not allowed on /predict/file"),
]


@pytest.mark.parametrize("name, method, path, options, status, fragment", CASES, ids=[c[0] for c in CASES])
def test_a_hostile_request_gets_a_4xx_sentence_and_one_log_line(live, table, log, name, method, path, options, status,
                                                                  fragment):
    answer = httpx.request(method, live.url + path, timeout=60, **options(table[1]))
    assert_refusal(answer, status, fragment, log)
    assert httpx.get(live.url + "/health", timeout=10).status_code == 200
    assert len(served_lines(log, n=2)) == 2  # the server goes on, one line a request


def test_head_gets_a_405_without_a_body_and_the_reason_in_the_log(live, log):
    answer = httpx.head(live.url + "/predict", timeout=10)
    assert answer.status_code == 405 and answer.content == b""
    lines = served_lines(log)
    assert len(lines) == 1 and "HEAD /predict 405" in lines[0] and "HEAD is not allowed on /predict" in lines[0]


def test_an_unseen_5_mb_category_is_predicted(live, table, log):
    answer = httpx.post(live.url + "/predict", json={**table[1], "site": "x" * 5_000_000}, timeout=60)
    assert answer.status_code == 200 and set(answer.json()["probabilities"]) == {"benign", "malignant"}
    assert len(served_lines(log)) == 1


@pytest.mark.parametrize("request_bytes", [
    b"BREW /predict HTTP/1.1\r\nHost: x\r\n\r\n",  # a method the HTTP parser does not know
    b"GET /health?" + b"q" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",  # a 100 KB query string
    b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"GET /he\x00alth HTTP/1.1\r\nHost: x\r\n\r\n",
], ids=["unknown method", "100 KB query string", "negative Content-Length", "NUL in the path"])
def test_malformed_http_is_refused_by_the_http_layer_with_one_warning(live, log, request_bytes):
    answer = live.raw(request_bytes)
    assert answer.startswith(b"HTTP/1.1 400 ") and answer.endswith(b"Invalid HTTP request received."), answer[:300]
    lines = served_lines(log, "uvicorn.error")
    assert lines == ["Invalid HTTP request received."], lines
    assert httpx.get(live.url + "/health", timeout=10).status_code == 200
    assert len(served_lines(log)) == 1  # only the /health request reached the service


def test_a_10_kb_query_string_is_ignored(live, log):
    assert httpx.get(live.url + "/health?" + "q=" + "x" * 10_000, timeout=10).json() == {"status": "ok"}
    assert len(served_lines(log)) == 1


@pytest.mark.slow
def test_a_slow_client_does_not_block_others_and_a_stalled_body_gets_408(live, table, log):
    body = json.dumps(table[1]).encode()
    done: dict[str, Any] = {}

    def trickle() -> None:  # one byte a second, then nothing
        with socket.create_connection(("127.0.0.1", live.port)) as s:
            s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body))
            for byte in body[:3]:
                s.sendall(bytes([byte]))
                time.sleep(1.0)
            s.settimeout(IDLE_S + 10)
            done["answer"] = _read_response(s)

    slow = threading.Thread(target=trickle)
    slow.start()
    time.sleep(0.5)
    start = time.monotonic()
    answers = [httpx.post(live.url + "/predict", json=table[1], timeout=10) for _ in range(5)]
    assert all(a.status_code == 200 for a in answers) and time.monotonic() - start < 3  # not held up by the trickle
    slow.join(30)
    head, _, payload = done["answer"].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), done["answer"][:300]
    one_sentence(json.loads(payload)["detail"])
    lines = served_lines(log, n=6)
    assert len(lines) == 6 and sum(" 408 " in line and "stopped arriving" in line for line in lines) == 1, lines


@pytest.mark.slow
def test_a_body_shorter_than_its_content_length_gets_408(live, log):
    answer = live.raw(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n"
                      b'{"mean', wait_s=IDLE_S + 10)
    assert answer.startswith(b"HTTP/1.1 408 ") and b"stopped arriving for 1.5 s" in answer, answer[:300]
    assert len(served_lines(log)) == 1


def test_a_client_that_leaves_mid_body_is_one_line_and_the_server_goes_on(live, log):
    with socket.create_connection(("127.0.0.1", live.port)) as s:
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
                  b'{"mean area": 1')
        time.sleep(0.3)
    lines = served_lines(log)
    assert len(lines) == 1 and "POST /predict 400" in lines[0] and "closed the connection" in lines[0], lines
    assert httpx.get(live.url + "/health", timeout=10).status_code == 200
    assert len(served_lines(log, n=2)) == 2


@pytest.mark.slow
def test_concurrent_full_batches_are_all_answered(live, table, log):
    body = {"instances": [table[1]] * MAX_BATCH_INSTANCES}
    answers: list[Any] = [None] * 4

    def ask(i: int) -> None:
        answers[i] = httpx.post(live.url + "/predict/batch", json=body, timeout=120)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(answers))]
    for t in threads:
        t.start()
    health = httpx.get(live.url + "/health", timeout=30)
    for t in threads:
        t.join(120)
    assert health.status_code == 200
    assert [a.status_code for a in answers] == [200] * 4, [a.text[:200] for a in answers]
    assert all(len(a.json()["predictions"]) == MAX_BATCH_INSTANCES for a in answers)
    assert len(served_lines(log, n=5)) == 5


def test_a_bug_of_ours_is_a_500_sentence_and_one_traceback(table, caplog):
    caplog.set_level(logging.INFO, logger="neuronet.serve")
    app = create_app(table[0], batch_window_ms=0)

    def broken(instances: list[Any]) -> list[Any]:
        raise RuntimeError("a bug")

    with TestClient(app) as client:  # raises if an exception gets past the service
        app.state.batcher.predict = broken
        answer = client.post("/predict", json=table[1])
    assert answer.status_code == 500 and "bug in neuronet" in one_sentence(answer.json()["detail"])
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1 and tracebacks[0].name == "neuronet.serve"
    assert "RuntimeError: a bug" not in answer.text  # the details stay in the log


def test_the_micro_batcher_survives_a_request_cancelled_while_its_batch_is_retried():
    async def scenario() -> list[Any]:
        def predict(instances: list[int]) -> list[int]:
            if -1 in instances:
                raise ValueError("bad instance")
            return [x * 10 for x in instances]

        batcher = MicroBatcher(predict, window_s=0.05, max_batch=64)
        await batcher.start()
        bad = asyncio.create_task(batcher.submit([-1]))
        good = asyncio.create_task(batcher.submit([1, 2]))
        await asyncio.sleep(0.01)
        bad.cancel()  # its client left while the batch waits
        first = await asyncio.wait_for(good, 5)
        later = await asyncio.wait_for(batcher.submit([3]), 5)  # the loop is still alive
        await batcher.stop()
        return [first, later]

    assert asyncio.run(scenario()) == [[10, 20], [30]]


# --- images and texts (in-process; same service code) -------------------------------------------------------
@pytest.fixture(scope="module")
def image_client(tiny_run):
    with TestClient(create_app(tiny_run)) as client:
        yield client


@pytest.fixture(scope="module")
def text_client(text_run):
    with TestClient(create_app(text_run)) as client:
        yield client


def flat_png(width: int, height: int) -> bytes:
    """A black PNG: a few KB of file, `width` x `height` pixels once decoded."""
    return png_bytes(np.zeros((height, width), dtype=np.uint8))


@pytest.mark.parametrize("name, path, request_, fragment", [
    ("a decompression bomb", "/predict", lambda: dict(json={"image": base64.b64encode(flat_png(8000, 8000)).decode()}),
     "Instance 0: 'image' is 8000 x 8000 pixels"),
    ("too many pixels in one batch", "/predict/batch",
     lambda: dict(json={"instances": [{"image": base64.b64encode(flat_png(4000, 4000)).decode()}] * 4}),
     "Instance 3: 'image' is 4000 x 4000 pixels, which takes this request over"),
    ("an uploaded bomb", "/predict/file", lambda: dict(files={"file": ("huge.png", flat_png(9000, 9000))}),
     "The uploaded image 'huge.png' is 9000 x 9000 pixels"),
    ("a PNG with a broken chunk", "/predict",
     lambda: dict(json={"image": base64.b64encode(flat_png(8, 8)[:-20] + b"\x05(\x83\x85" * 5).decode()}),
     "not a readable image file"),
    ("base64 that is not", "/predict", lambda: dict(json={"image": "not base64 at all!"}), "not valid base64"),
])
def test_images_that_would_fill_memory_or_break_the_decoder_get_422(image_client, caplog, name, path, request_,
                                                                    fragment):
    answer = image_client.post(path, **request_())
    assert answer.status_code == 422 and fragment in one_sentence(answer.json()["detail"]), answer.text
    assert not [r for r in caplog.records if r.exc_info]


def test_the_pixel_budget_admits_a_large_photo(image_client):
    side = int(math.sqrt(MAX_PIXELS)) - 1
    assert image_client.post("/predict/file", files={"file": ("photo.png", flat_png(side, side))}).status_code == 200


@pytest.mark.parametrize("name, request_, fragment", [
    ("a lone surrogate", lambda: dict(content=b'{"text": "\\ud800"}', headers=JSON), "'text'"),
    ("100,001 characters", lambda: dict(json={"text": "a" * 100_001}), "at most 100000 characters"),
    ("a text file of 300,000 lines", lambda: dict(files={"file": ("many.txt", b"hi\n" * 300_000)}),
     "has 300,000 rows or lines"),
    ("the text under another name", lambda: dict(json={"tweet": "what a day"}), "send the text as 'text'"),
])
def test_texts_get_422_sentences(text_client, name, request_, fragment):
    path = "/predict/file" if "files" in request_() else "/predict"
    answer = text_client.post(path, **request_())
    assert answer.status_code == 422 and fragment in one_sentence(answer.json()["detail"]), answer.text


# --- the policy service -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def policy_client(train_small):
    pytest.importorskip("gymnasium", reason="gymnasium is not installed (neuronet[rl])")
    from neuronet.deploy.policy import create_policy_app

    run = train_small("policy", "env.id=CartPole-v1", "env.n_envs=2", "agent.type=ppo", "agent.n_steps=32",
                      "agent.batch_size=32", "agent.n_epochs=1", "train.steps=128", "train.log_every=64",
                      "train.eval_episodes=1")
    with TestClient(create_policy_app(run, max_body_bytes=1024 * 1024)) as client:
        yield client


@pytest.mark.parametrize("name, path, request_, status, fragment", [
    ("nested 100,000 deep", "/act", lambda: dict(content=b'{"observation": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                                                 headers=JSON), 400, "nested too deeply"),
    ("a NaN", "/act", lambda: dict(content=b'{"observation": [NaN, 0, 0, 0]}', headers=JSON), 422, "finite numbers"),
    ("an integer of 400 digits", "/act",
     lambda: dict(content=b'{"observation": [' + b"9" * 400 + b", 0, 0, 0]}", headers=JSON), 422, "fit a float"),
    ("text/plain", "/act", lambda: dict(content=b'{"observation": [0, 0, 0, 0]}', headers={"content-type": "text/plain"}),
     415, "Content-Type: application/json"),
    ("4,097 observations", "/act/batch", lambda: dict(json={"observations": [[0, 0, 0, 0]] * 4097}), 422, "at most 4096"),
    ("a chunked body over the limit", "/act/batch", lambda: dict(content=chunks(2 * 1024 * 1024), headers=JSON), 413,
     "over 1 MiB"),
    ("ragged observations", "/act/batch", lambda: dict(json={"observations": [[0, 0, 0, 0], [0]]}), 422,
     "nested lists of numbers shaped [4]"),
])
def test_the_policy_service_refuses_with_sentences(policy_client, caplog, name, path, request_, status, fragment):
    answer = policy_client.post(path, **request_())
    assert answer.status_code == status and fragment in one_sentence(answer.json()["detail"]), answer.text
    assert not [r for r in caplog.records if r.exc_info]


# --- where it listens -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("port", [99999, 65536, 0, -5, True, 80.5, "8000"])
def test_a_port_outside_1_to_65535_is_one_sentence(port):
    with pytest.raises(ConfigError) as error:
        check_port(port)
    assert str(error.value) == f"--port must be a whole number from 1 to 65535. Got {port!r} instead."


def test_ports_1_and_65535_are_accepted():
    assert (check_port(1), check_port(65535)) == (1, 65535)


def test_serving_on_a_taken_port_is_one_sentence_before_the_model_loads(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"^Port {port} on 127.0.0.1 is already in use"):
            serve(tmp_path / "no-such-run", port=port)  # refused before the run is even read


def test_neuronet_serve_port_99999_is_refused(table):
    assert_refused(cli("serve", table[0], "--port", "99999"), "--port must be a whole number from 1 to 65535",
                   "Got 99999 instead")


# --- the page, with hostile class labels ------------------------------------------------------------------------
@pytest.mark.parametrize("text", LABELS + ["</SCRIPT >", "<!-- -->", "\u2028\u2029", "&lt;&amp;", "\\u003c"])
def test_any_string_is_inert_inside_the_page_script(text):
    embedded = script_json({"classes": [text], "run": text})
    assert not set("<>&\u2028\u2029") & set(embedded) and json.loads(embedded) == {"classes": [text], "run": text}
    page = page_html({"run": text, "task": "classification", "model": "mlp", "data": "d", "classes": [text],
                      "input": {"kind": "table", "schema": {"properties": {}}}, "metrics": {}})
    script = page[page.index("<script>") + len("<script>"):page.rindex("</script>")]
    assert "</script" not in script.lower() and "<!--" not in script


@pytest.fixture(scope="module")
def labels_server(train_small, tmp_path_factory):
    """`neuronet serve` (a process) of a tiny table run whose class labels are hostile strings, its log in a file."""
    rng = np.random.default_rng(0)
    rows = [{"a": i + rng.normal(0, 0.1), "b": -i + rng.normal(0, 0.1), "label": label}
            for i, label in enumerate(LABELS) for _ in range(30)]
    path = tmp_path_factory.mktemp("labels") / "labels.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    run = train_small("labels", f"data.source={path}", "data.target=label", "model.type=mlp", "train.epochs=3")
    port = free_port()
    log = tempfile.TemporaryFile(mode="w+")  # not a pipe: an unread pipe fills up and blocks the server
    process = subprocess.Popen([str(NEURONET), "serve", str(run), "--port", str(port)], stdout=log,
                               stderr=subprocess.STDOUT, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        wait_ready(f"http://127.0.0.1:{port}")
        yield f"http://127.0.0.1:{port}", process, log
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(30)


@pytest.mark.slow
def test_the_page_shows_hostile_labels_as_text_in_a_real_browser(labels_server):
    chromium = "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); the page needs a real browser")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (neuronet[test])")
    url = labels_server[0]
    expected = httpx.post(url + "/predict", json={"a": 1.0, "b": -1.0}, timeout=30).json()
    assert set(expected["probabilities"]) == set(LABELS)
    errors: list[str] = []
    dialogs: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(url + "/", timeout=30_000)
            page.wait_for_selector("#predict", timeout=10_000)  # the form appeared: the script ran
            page.fill("[name='a']", "1")
            page.fill("[name='b']", "-1")
            page.click("#predict")
            page.wait_for_selector("#result:not([hidden])", timeout=30_000)
            assert page.text_content("#prediction") == expected["prediction"]
            shown = [s.text_content() for s in page.query_selector_all(".bar span:first-child")]
            assert sorted(shown) == sorted(LABELS)  # every label as the very text it is
            assert page.evaluate("document.scripts.length") == 1 and not page.query_selector("b")  # no markup from data
        finally:
            browser.close()
    assert not errors and not dialogs, (errors, dialogs)


@pytest.mark.slow
def test_the_served_process_logs_one_line_per_refusal_and_exits_cleanly(labels_server):
    url, process, log = labels_server
    bad = [httpx.post(url + "/predict", json={"a": "x", "b": 1}, timeout=30),
           httpx.post(url + "/predict", content=b"[" * 100_000, headers=JSON, timeout=30),
           httpx.post(url + "/predict/file", files={"file": ("x.npy", b"\x93NUMPY junk")}, timeout=30),
           httpx.post(url + "/predict", content=chunks(30 * 1024 * 1024), headers=JSON, timeout=30)]
    assert [a.status_code for a in bad] == [422, 400, 422, 413]
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) in (0, 128 + signal.SIGTERM, -signal.SIGTERM)  # -15: the signal came as Python shut down
    log.seek(0)
    text = log.read()
    assert "Traceback" not in text, text
    for answer in bad:
        detail = answer.json()["detail"]
        lines = [line for line in text.splitlines() if detail[:60] in line]
        assert len(lines) == 1 and f"{answer.request.method} {answer.request.url.path} {answer.status_code} " in lines[0]
