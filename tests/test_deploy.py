"""The prediction service over real HTTP: every endpoint and bad input, torch and ONNX backends agreeing with
`neuronet predict`, micro-batching, graceful shutdown, schemathesis, the page in a real browser."""

from __future__ import annotations

import base64
import io
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import neuronet as nt

pytest.importorskip("fastapi", reason="the serving extras are not installed (pip install 'neuronet[serve]')")
pytest.importorskip("onnxruntime", reason="the serving extras are not installed (pip install 'neuronet[serve]')")
httpx = pytest.importorskip("httpx", reason="the test extras are not installed")

from neuronet.deploy.export import export_run  # noqa: E402

NEURONET = Path(sys.executable).parent / "neuronet"



@pytest.fixture(scope="module")
def table(table_run):
    """The table run, and the raw rows it is served (without their target)."""
    return table_run[0], table_run[1].drop(columns="target")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`neuronet serve` in a subprocess on 127.0.0.1, ready when /ready says so (a bounded wait)."""

    def __init__(self, run_dir, *options):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        self.log = tempfile.TemporaryFile(mode="w+")  # not a pipe: an unread pipe fills up and blocks the server
        self.process = subprocess.Popen([str(NEURONET), "serve", str(run_dir), "--port", str(self.port), *options],
                                        stdout=self.log, stderr=subprocess.STDOUT, text=True, env=env)
        for _ in range(240):
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(self.log.read())
            try:
                if httpx.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError("the server did not become ready in 60 s")

    def post(self, path, **kwargs):
        return httpx.post(self.url + path, timeout=30, **kwargs)

    def get(self, path):
        return httpx.get(self.url + path, timeout=30)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.returncode


@pytest.fixture(scope="module")
def table_server(table):
    server = Server(table[0])
    yield server
    server.stop()


def png(array) -> str:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def rows(frame, n):
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in frame.head(n).to_dict("records")]


# --- the service --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_table_service_answers_every_endpoint(table_server, table):
    run_dir, frame = table
    assert table_server.get("/health").json() == {"status": "ok"} and table_server.get("/ready").json() == {"ready": True}
    meta = table_server.get("/metadata").json()
    assert meta["task"] == "classification" and meta["classes"] == ["benign", "malignant"]
    properties = meta["input"]["schema"]["properties"]
    assert {"mean radius", "site", "visit"} <= set(properties) and "accuracy" in meta["metrics"]
    schema = table_server.get("/openapi.json").json()
    body = schema["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/Row") and "mean radius" in schema["components"]["schemas"]["Row"]["properties"]
    assert {"400", "413", "422"} <= set(schema["paths"]["/predict"]["post"]["responses"])
    records = rows(frame, 5)
    one = table_server.post("/predict", json=records[0])
    assert one.status_code == 200, one.text
    assert set(one.json()["probabilities"]) == {"benign", "malignant"}
    batch = table_server.post("/predict/batch", json={"instances": records}).json()["predictions"]
    expected = nt.load(run_dir).predict_frame(frame.head(5))
    assert [p["prediction"] for p in batch] == expected["prediction"].tolist()
    assert np.allclose([p["probabilities"]["benign"] for p in batch], expected["p_benign"], atol=1e-6)
    frame.head(3).to_csv(Path(run_dir) / "rows.csv", index=False)
    with open(Path(run_dir) / "rows.csv", "rb") as f:
        uploaded = table_server.post("/predict/file", files={"file": ("rows.csv", f, "text/csv")})
    assert [p["prediction"] for p in uploaded.json()["predictions"]] == expected["prediction"].tolist()[:3]
    page = table_server.get("/")
    assert page.status_code == 200 and "<form" in page.text and "mean radius" in page.text


def test_bad_requests_get_one_sentence_and_the_server_keeps_serving(table_server, table):
    record = rows(table[1], 1)[0]
    cases = [
        (dict(content=b'{"mean radius": 1', headers={"content-type": "application/json"}), 400, "not valid JSON"),
        (dict(json={k: v for k, v in record.items() if k != "mean texture"}), 422, "'mean texture': Field required"),
        (dict(json={**record, "mean texture": "thick"}), 422, "'mean texture': Input should be a valid number"),
        (dict(content=json.dumps({**record, "mean texture": float("nan")}).encode(),
              headers={"content-type": "application/json"}), 422, "'mean texture': Input should be a finite number"),
        (dict(json=[record]), 422, "The body: Input should be a valid dictionary"),
        (dict(json={**record, "mean texture": True}), 422, "'mean texture': Input should be a valid number"),
        (dict(json={**record, "mean texture": "n/a"}), 422, "or null for a missing value"),
        (dict(json={**record, "visit": "yesterday"}), 422, "'visit': is not a date; give one like 2024-05-31"),
        (dict(json={**{k: v for k, v in record.items() if k != "mean area"}, "mean aera": 1.0}), 422,
         "'mean area': Field required; the body has 'mean aera': is it misspelt?"),
        (dict(content=json.dumps(record).encode(), headers={"content-type": "text/plain"}), 415,
         "Send the body as JSON with 'Content-Type: application/json'"),
    ]
    for request, status, message in cases:
        answer = table_server.post("/predict", **request)
        assert answer.status_code == status and message in answer.json()["detail"], (message, answer.text)
        assert len(answer.json()["detail"]) < 300
    empty = table_server.post("/predict/batch", json={"instances": []})
    assert empty.status_code == 422 and "at least 1 item" in empty.json()["detail"]
    assert table_server.post("/predict/file", files={"file": ("x.csv", b"", "text/csv")}).status_code == 422
    lacking = table[1].drop(columns="mean area").head(2).to_csv(index=False).encode()
    answer = table_server.post("/predict/file", files={"file": ("mine.csv", lacking, "text/csv")})
    assert answer.status_code == 422 and answer.json()["detail"].startswith("'mine.csv' lacks 1 column(s)"), answer.text
    wrong_method = table_server.get("/predict")
    assert wrong_method.status_code == 405 and "GET is not allowed on /predict" in wrong_method.json()["detail"]
    assert table_server.get("/health").status_code == 200


@pytest.mark.slow
def test_image_and_text_services_and_their_bad_inputs(digits_run, text_run, digits):
    server = Server(digits_run)
    try:
        for path in ("/health", "/ready", "/metadata", "/", "/openapi.json"):
            assert server.get(path).status_code == 200, path
        picture = (digits.x[0, 0].numpy() * 255).astype(np.uint8)
        answer = server.post("/predict", json={"image": png(picture)})
        assert answer.status_code == 200 and answer.json()["prediction"] == nt.load(digits_run).predict([picture])[0]
        big = np.kron(picture, np.ones((8, 8), dtype=np.uint8))  # another size: resized as in training
        assert server.post("/predict", json={"image": "data:image/png;base64," + png(big)}).status_code == 200
        colour = np.stack([picture] * 3, axis=-1)  # another mode: converted as in training
        assert server.post("/predict", json={"image": png(colour)}).status_code == 200
        upload = server.post("/predict/file", files={"file": ("d.png", base64.b64decode(png(picture)), "image/png")})
        assert upload.json()["predictions"][0]["prediction"] == answer.json()["prediction"]
        batch = server.post("/predict/batch", json={"instances": [{"image": png(picture)}] * 3}).json()["predictions"]
        assert [p["prediction"] for p in batch] == [answer.json()["prediction"]] * 3
        for body, message in (({"image": "not base64!"}, "not valid base64"),
                              ({"image": base64.b64encode(b"GIF89a broken").decode()}, "not a readable image"),
                              ({"image": ""}, "at least 1 character")):
            bad = server.post("/predict", json=body)
            assert bad.status_code == 422 and message in bad.json()["detail"], bad.text
        corrupt = server.post("/predict/file", files={"file": ("d.png", b"\x89PNG garbage", "image/png")})
        assert corrupt.status_code == 422 and "cannot be read" in corrupt.json()["detail"]
    finally:
        assert server.stop() in (0, 128 + signal.SIGTERM, -signal.SIGTERM)  # uvicorn re-raises the signal once it has shut down
    server = Server(text_run)
    try:
        for path in ("/health", "/ready", "/metadata", "/", "/openapi.json"):
            assert server.get(path).status_code == 200, path
        assert server.get("/metadata").json()["input"]["schema"]["required"] == ["text"]
        answer = server.post("/predict", json={"text": "what a lovely day"})
        assert answer.status_code == 200 and answer.json()["prediction"] in ("negative", "neutral", "positive")
        texts = ["what a lovely day", "worst service ever", "ok"]
        batch = server.post("/predict/batch", json={"instances": [{"text": t} for t in texts]}).json()["predictions"]
        assert [p["prediction"] for p in batch] == nt.load(text_run).predict(texts).tolist()
        upload = server.post("/predict/file", files={"file": ("t.txt", "\n".join(texts).encode(), "text/plain")})
        assert [p["prediction"] for p in upload.json()["predictions"]] == [p["prediction"] for p in batch]
        assert server.post("/predict", json={"text": ""}).status_code == 422
        assert server.post("/predict", json={"text": 5}).status_code == 422
        named = server.post("/predict", json={"tweet": "what a lovely day"})  # the training file's column name
        assert named.status_code == 422 and named.json()["detail"] == ("'text': Field required; send the text as "
                                                                       "'text' (the body has 'tweet').")
    finally:
        server.stop()


@pytest.mark.slow
def test_torch_and_onnx_backends_give_what_neuronet_predict_gives(table, tmp_path):
    run_dir, frame = table
    frame.head(20).to_csv(tmp_path / "rows.csv", index=False)
    cli = subprocess.run([str(NEURONET), "predict", str(run_dir), str(tmp_path / "rows.csv")], capture_output=True,
                         text=True, check=True)
    expected = pd.read_csv(io.StringIO(cli.stdout))
    (run_dir / "export").exists() or export_run(run_dir)
    server = Server(run_dir, "--backend", "onnx")
    try:
        assert server.get("/metadata").json()["backend"] == "onnx"
        onnx = server.post("/predict/batch", json={"instances": rows(frame, 20)}).json()["predictions"]
    finally:
        server.stop()
    assert [p["prediction"] for p in onnx] == expected["prediction"].tolist()
    assert np.allclose([p["probabilities"]["malignant"] for p in onnx], expected["p_malignant"], atol=1e-5)


@pytest.mark.slow
def test_concurrent_requests_are_micro_batched_and_shutdown_finishes_them(table):
    run_dir, frame = table
    server = Server(run_dir, "--batch-window-ms", "3000", "--max-batch", "64")
    records = rows(frame, 12)
    answers = [None] * len(records)

    def ask(i):
        answers[i] = server.post("/predict", json=records[i])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(records))]
    for t in threads:
        t.start()
    time.sleep(1.0)  # the requests are in flight, waiting in the 3 s window
    server.process.send_signal(signal.SIGTERM)  # graceful: they are still answered
    for t in threads:
        t.join(30)
    assert server.process.wait(30) in (0, 128 + signal.SIGTERM, -signal.SIGTERM)  # after a graceful shutdown
    assert all(a is not None and a.status_code == 200 for a in answers)
    expected = nt.load(run_dir).predict(frame.head(12))
    assert [a.json()["prediction"] for a in answers] == expected.tolist()


@pytest.mark.slow
def test_micro_batching_joins_concurrent_requests(table):
    run_dir, frame = table
    server = Server(run_dir, "--batch-window-ms", "100")
    try:
        records = rows(frame, 10)
        threads = [threading.Thread(target=server.post, args=("/predict",), kwargs={"json": r}) for r in records]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert server.get("/metadata").json()["forward_passes"] < len(records)  # several requests per pass
    finally:
        server.stop()


@pytest.mark.slow
def test_a_body_over_the_limit_is_413(table):
    server = Server(table[0], "--max-body-mb", "0.01")
    try:
        answer = server.post("/predict/batch", json={"instances": rows(table[1], 1) * 200})
        assert answer.status_code == 413 and "over" in answer.json()["detail"]
        assert server.get("/health").status_code == 200
    finally:
        server.stop()


@pytest.mark.slow
def test_serving_imports_no_training_code(table):
    code = ("import sys; from neuronet.deploy.server import create_app; create_app(sys.argv[1]); "
            "bad = [m for m in sys.modules if m.startswith(('neuronet.train', 'neuronet.runs.train', "
            "'neuronet.runs.build', 'neuronet.plots', 'matplotlib'))]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code, str(table[0])], check=True)


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_schema_violation(table_server):
    schemathesis = Path(sys.executable).parent / "schemathesis"
    if not schemathesis.exists():
        pytest.skip("schemathesis is not installed (pip install 'neuronet[test]')")
    done = subprocess.run([str(schemathesis), "run", f"{table_server.url}/openapi.json", "--max-examples", "15",
                           "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                           "response_schema_conformance", "--request-timeout", "20", "--generation-deterministic",
                           "--no-color"],
                          capture_output=True, text=True, timeout=400, env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert table_server.get("/health").status_code == 200


@pytest.mark.slow
def test_train_then_serve_in_one_command(tmp_path):
    port = free_port()
    process = subprocess.Popen([str(NEURONET), "train", "--set", "data.source=iris", "--set", "model.type=mlp",
                                "--set", "train.epochs=3", "--output-dir", str(tmp_path), "--name", "iris", "-q",
                                "--serve", "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        for _ in range(480):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.25)
        answer = httpx.post(f"http://127.0.0.1:{port}/predict", json={
            "sepal length (cm)": 5.1, "sepal width (cm)": 3.5, "petal length (cm)": 1.4, "petal width (cm)": 0.2})
        assert answer.status_code == 200 and answer.json()["prediction"] == "setosa"
        assert (tmp_path / "iris" / "export" / "model.onnx").is_file()
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
    assert f"serving {tmp_path / 'iris'} at http://127.0.0.1:{port}/" in " ".join(output.split()), output


def _browser():
    import shutil

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); the page needs a real browser")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (neuronet[test])")
    return sync_api, chromium


@pytest.mark.slow
def test_the_web_page_works_in_a_real_browser(table_server, table, digits_run, digits, tmp_path):
    sync_api, chromium = _browser()
    frame = table[1]
    expected = nt.load(table[0]).predict(frame.head(1))[0]
    server = Server(digits_run)
    errors = []
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(table_server.url + "/", timeout=30_000)
            columns = table_server.get("/metadata").json()["input"]["schema"]["properties"]  # what the model reads
            assert "record" not in columns  # an identifier column: left out by the model, so no field for it
            for column, value in rows(frame, 1)[0].items():  # fill the form as a person would
                if column in columns:
                    page.fill(f"[name='{column}']", "" if value is None else str(value))
            page.click("#predict")
            page.wait_for_selector("#result:not([hidden])", timeout=30_000)
            assert page.text_content("#prediction") == expected
            assert len(page.query_selector_all(".bar")) == 2  # a bar per class
            page.screenshot(path=str(tmp_path / "table.png"), full_page=True)
            page.fill("[name='mean texture']", "thick")  # a wrong value: the page shows the one sentence
            page.click("#predict")
            page.wait_for_function("document.getElementById('error').textContent.length > 0", timeout=30_000)
            assert "'mean texture'" in page.text_content("#error")
            errors.clear()  # the 422 above is logged by the browser as a failed request, by design

            picture = (digits.x[0, 0].numpy() * 255).astype(np.uint8)
            Image.fromarray(picture).resize((64, 64)).save(tmp_path / "digit.png")
            page.goto(server.url + "/", timeout=30_000)
            page.set_input_files("[name='image']", str(tmp_path / "digit.png"))
            page.click("#predict")
            page.wait_for_selector("#result:not([hidden])", timeout=30_000)
            shown = page.text_content("#prediction")
            assert shown == nt.load(digits_run).predict([np.asarray(Image.open(tmp_path / "digit.png"))])[0]
            assert len(page.query_selector_all(".bar")) == 10
            page.screenshot(path=str(tmp_path / "image.png"), full_page=True)
            browser.close()
    finally:
        server.stop()
    assert not errors, errors
    assert (tmp_path / "table.png").stat().st_size > 5000 and (tmp_path / "image.png").stat().st_size > 5000


@pytest.mark.slow
def test_series_and_audio_services_and_several_workers(tmp_path, train_small):
    import shutil

    series_run = train_small("airline", "data.source=airline", "model.type=lstm", "model.hidden=8",
                     "train.epochs=2")
    history = nt.datasets.load("airline").official_test.x[0, :, 0].numpy()
    server = Server(series_run, "--workers", "2")  # two processes behind one port
    try:
        answers = [server.post("/predict", json={"series": history.tolist()}) for _ in range(4)]
        assert all(a.status_code == 200 for a in answers)
        assert answers[0].json()["prediction"] == pytest.approx(float(nt.load(series_run).predict(history)[0, 0]), abs=1e-5)
        short = server.post("/predict", json={"series": history[:5].tolist()})
        assert short.status_code == 422 and "at least 24 items" in short.json()["detail"]
    finally:
        server.stop()
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: no spoken words to serve")
    from neuronet.datasets.audio import read_wav, synthesize_spoken_digits

    root = synthesize_spoken_digits(tmp_path / "sd", ["en-us+m1", "en-gb+f2"], speeds=(160,), pitches=(50,))
    audio_run = train_small("audio", f"data.source={root}", "data.val=0", "data.test=0.5",
                    "model.channels=[8]", "model.hidden=16", "train.epochs=2")
    server = Server(audio_run)
    try:
        wav = root / "7" / "en-us+m1_160_50.wav"
        expected = nt.load(audio_run).predict(str(wav))[0]
        upload = server.post("/predict/file", files={"file": ("seven.wav", wav.read_bytes(), "audio/wav")})
        assert upload.status_code == 200 and upload.json()["predictions"][0]["prediction"] == expected
        wave_, rate = read_wav(wav)
        answer = server.post("/predict", json={"waveform": wave_.tolist(), "rate": rate})
        assert answer.json()["prediction"] == expected
        broken = server.post("/predict/file", files={"file": ("x.wav", b"RIFF....WAVE", "audio/wav")})
        assert broken.status_code == 422 and "cannot be read as WAV" in broken.json()["detail"]
    finally:
        server.stop()
