"""Hypothesis fuzzing of the served request models: whatever JSON a client sends, the answer is a 200 or a
4xx with one sentence, never a 5xx or an exception.

For a table run, a text run and an image run, POST /predict and /predict/batch get generated bodies: any
JSON (nested dicts, lists, strings, huge integers, NaN and Infinity literals, null) and near-valid
instances (a real instance of the run with some fields replaced, dropped or added); POST /predict/file
gets near-valid files (a real one with a byte changed or cut short, random bytes, other formats' magic
numbers) under any name. The server must log no error either. Derandomized, so every run tries the same
examples.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

pytestmark = pytest.mark.hostile("fuzz")

pytest.importorskip("fastapi", reason="the serving extras are not installed (pip install 'neuronet[serve]')")
from fastapi.testclient import TestClient  # noqa: E402

from neuronet.deploy.server import create_app  # noqa: E402

from hostile.hostile_helpers import FUZZ_EXAMPLES, one_sentence  # noqa: E402

FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])
DROP = object()  # a field to leave out

numbers = (st.integers() | st.floats() | st.sampled_from([10 ** 400, -(10 ** 400), 2 ** 64, 1e308, -0.0, 5e-324]))
leaves = st.none() | st.booleans() | numbers | st.text(max_size=30) | st.sampled_from(
    ["", " ", "\x00", "\ud800", "2024-02-30", "NaN", "1e400", "<!--<script>", "😀" * 3, "x" * 5000])
anything = st.recursive(leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                           max_size=4), max_leaves=12)


def mutated(valid: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """`valid` with up to three fields replaced (or dropped) and up to two fields added."""

    def build(changes: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        out = {**valid, **extra}
        for key, value in changes.items():
            if value is DROP:
                out.pop(key, None)
            else:
                out[key] = value
        return out

    return st.builds(build, st.dictionaries(st.sampled_from(sorted(valid)), st.just(DROP) | anything, max_size=3),
                     st.dictionaries(st.text(max_size=8), anything, max_size=2))


def check(client: TestClient, path: str, body: Any, caplog: pytest.LogCaptureFixture, **upload: Any) -> None:
    """POST `body` (NaN and Infinity as JSON literals; or `upload` as multipart) and check the answer is a 200 or a
    4xx sentence, and that the server logged no error (a traceback is logged at ERROR)."""
    caplog.clear()
    if upload:
        answer = client.post(path, **upload)
    else:
        answer = client.post(path, content=json.dumps(body, allow_nan=True).encode(),
                             headers={"content-type": "application/json"})
    event(f"status {answer.status_code}")
    assert answer.status_code == 200 or 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], caplog.text[-2000:]
    if answer.status_code == 200:
        predictions = answer.json()["predictions"] if path != "/predict" else [answer.json()]
        assert all("prediction" in p for p in predictions)
        assert all(math.isfinite(v) for p in predictions for v in p.get("probabilities", {}).values())
    else:
        one_sentence(answer.json()["detail"])


def png(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture(scope="module")
def table_client(table_run):
    frame = table_run[1].drop(columns="target")
    row = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in frame.iloc[0].to_dict().items()}
    with TestClient(create_app(table_run[0])) as client:
        yield client, row


@pytest.fixture(scope="module")
def text_client(text_run):
    with TestClient(create_app(text_run)) as client:
        yield client, {"text": "what a lovely day"}


@pytest.fixture(scope="module")
def image_client(tiny_run):
    picture = (np.arange(64, dtype=np.uint8).reshape(8, 8) * 4)
    with TestClient(create_app(tiny_run)) as client:
        yield client, {"image": png(picture)}


def images(valid: str) -> st.SearchStrategy[str]:
    """Near-valid images: the real PNG with bytes flipped or cut, random bytes, data: URLs, not base64 at all."""
    raw = base64.b64decode(valid)

    def flipped(at: int, byte: int) -> str:
        data = bytearray(raw)
        data[at % len(data)] = byte
        return base64.b64encode(bytes(data)).decode()

    return (st.builds(flipped, st.integers(0, 10_000), st.integers(0, 255))
            | st.integers(0, len(raw)).map(lambda n: base64.b64encode(raw[:n]).decode())
            | st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode())
            | st.sampled_from(["data:", "data:,", f"data:image/png;base64,{valid}", valid + "=", "!!", valid[:-1]])
            | st.text(max_size=20))


@FUZZ
@given(body=st.data())
def test_table_predict_answers_every_body_with_200_or_a_4xx_sentence(table_client, body, caplog):
    client, row = table_client
    check(client, "/predict", body.draw(mutated(row) | anything), caplog)


@FUZZ
@given(body=st.data())
def test_table_batch_answers_every_body_with_200_or_a_4xx_sentence(table_client, body, caplog):
    client, row = table_client
    instances = st.lists(mutated(row) | anything, max_size=4)
    check(client, "/predict/batch", body.draw(st.fixed_dictionaries({"instances": instances}) | anything), caplog)


@FUZZ
@given(body=st.data())
def test_text_predict_answers_every_body_with_200_or_a_4xx_sentence(text_client, body, caplog):
    client, valid = text_client
    check(client, "/predict", body.draw(mutated(valid) | anything), caplog)


@FUZZ
@given(body=st.data())
def test_text_batch_answers_every_body_with_200_or_a_4xx_sentence(text_client, body, caplog):
    client, valid = text_client
    instances = st.lists(mutated(valid) | anything, max_size=4)
    check(client, "/predict/batch", body.draw(st.fixed_dictionaries({"instances": instances}) | anything), caplog)


@FUZZ
@given(body=st.data())
def test_image_predict_answers_every_body_with_200_or_a_4xx_sentence(image_client, body, caplog):
    client, valid = image_client
    near = st.fixed_dictionaries({"image": images(valid["image"])})
    check(client, "/predict", body.draw(near | mutated(valid) | anything), caplog)


@FUZZ
@given(body=st.data())
def test_image_batch_answers_every_body_with_200_or_a_4xx_sentence(image_client, body, caplog):
    client, valid = image_client
    instances = st.lists(st.fixed_dictionaries({"image": images(valid["image"])}) | mutated(valid) | anything, max_size=4)
    check(client, "/predict/batch", body.draw(st.fixed_dictionaries({"instances": instances}) | anything), caplog)


SUFFIXES = [".csv", ".tsv", ".parquet", ".pq", ".npy", ".txt", ".png", ".jpg", ".gif", ".bmp", ".wav", ".json", "",
            ".CSV", ".c\x00sv", "/../../etc/passwd", ".x" * 40]


def files(valid: bytes) -> st.SearchStrategy[bytes]:
    """Near-valid file contents: `valid` with a byte changed or cut short, random bytes, other files' magic numbers."""

    def flipped(at: int, byte: int) -> bytes:
        data = bytearray(valid)
        data[at % len(data)] = byte
        return bytes(data)

    return (st.builds(flipped, st.integers(0, 10_000), st.integers(0, 255))
            | st.integers(0, len(valid)).map(lambda n: valid[:n])
            | st.binary(max_size=256)
            | st.sampled_from([b"\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order': False, 'shape': (3,), }",
                               b"PAR1\x00\x00PAR1", b"RIFF\x00\x00\x00\x00WAVEfmt ", b"\x89PNG\r\n\x1a\n",
                               b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"\xef\xbb\xbftext\n\xff\xfe", b"a,b\n" * 50]))


@pytest.fixture(scope="module")
def uploads(table_client, text_client, image_client, table_run):
    """For each run: its client and a real file it reads (a CSV of the table, a .txt of texts, a PNG)."""
    table = table_run[1].drop(columns="target").head(3).to_csv(index=False).encode()
    picture = base64.b64decode(image_client[1]["image"])
    return {"table": (table_client[0], table, ".csv"), "text": (text_client[0], b"what a day\nworst ever\n", ".txt"),
            "image": (image_client[0], picture, ".png")}


@pytest.mark.parametrize("kind", ["table", "text", "image"])
@FUZZ
@given(body=st.data())
def test_uploads_get_200_or_a_4xx_sentence(uploads, kind, body, caplog):
    client, valid, suffix = uploads[kind]
    name = body.draw(st.sampled_from([suffix, *SUFFIXES]).map(lambda s: "upload" + s) | st.text(max_size=20))
    data = body.draw(files(valid))
    check(client, "/predict/file", None, caplog, files={"file": (name, data, "application/octet-stream")})
