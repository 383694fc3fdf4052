"""Serving throughput and latency: `neuronet serve` on 127.0.0.1 under a bounded load loop.

For the digits CNN and a tweets GRU, each backend (torch, onnx), with and without
micro-batching, it sends a fixed number of requests from concurrent clients, one instance each
(`/predict`), and batches of 32 (`/predict/batch`), and reports requests/s, instances/s and
p50 / p99 latency. Reference, in the same run: the same instances predicted in-process with
`Predictor.predict`, one call per instance (what a user does without a service); the ratio is
instances/s against it. Server: one worker, one torch thread; clients share the 2 cores.
Run: python bench/serve.py [--requests 300] [--clients 8]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from common import print_table, write_json

EXE = str(Path(sys.executable).parent / "neuronet")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(run: Path, backend: str, window_ms: float) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([EXE, "serve", str(run), "--port", str(port), "--backend", backend,
                                "--batch-window-ms", str(window_ms)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"})
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):  # a bounded wait for /ready
        try:
            if httpx.get(url + "/ready", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.25)
    process.kill()
    raise RuntimeError(f"the server for {run} did not start")


def load(url: str, path: str, bodies: list, clients: int) -> tuple[float, list[float]]:
    """Send every body once from `clients` threads; wall seconds and per-request latencies."""
    latencies: list[float] = []
    lock = threading.Lock()
    todo = iter(range(len(bodies)))

    def client() -> None:
        with httpx.Client(timeout=60) as session:
            while True:
                with lock:
                    i = next(todo, None)
                if i is None:
                    return
                start = time.perf_counter()
                answer = session.post(url + path, json=bodies[i])
                took = time.perf_counter() - start
                answer.raise_for_status()
                with lock:
                    latencies.append(took)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--window-ms", type=float, default=5.0)
    args = parser.parse_args()
    import base64
    import io

    import torch
    from PIL import Image

    import neuronet as nt

    torch.set_num_threads(1)
    rows, results = [], []
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        for name, options in {"digits CNN": ["train.epochs=5"],
                              "tweets GRU": ["data.source=tweets", "data.limit=3000", "model.type=gru",
                                             "model.hidden=64", "train.epochs=2"]}.items():
            run = Path(out) / name.replace(" ", "-")
            subprocess.run([EXE, "train", *[a for o in options for a in ("--set", o)], "--output-dir", out,
                            "--name", run.name, "-q"], check=True, capture_output=True, env=env)
            subprocess.run([EXE, "export", str(run)], check=True, capture_output=True, env=env)
            predictor = nt.load(run)
            if name == "digits CNN":
                images = [(nt.datasets.load("digits").x[i, 0].numpy() * 255).astype(np.uint8)
                          for i in range(args.requests)]
                inputs = images
                bodies = []
                for image in images:
                    buffer = io.BytesIO()
                    Image.fromarray(image).save(buffer, "PNG")
                    bodies.append({"image": base64.b64encode(buffer.getvalue()).decode()})
            else:
                from neuronet.datasets.text import tweets_frame

                inputs = tweets_frame().sample(n=args.requests, random_state=0)["text"].tolist()
                bodies = [{"text": t} for t in inputs]
            start = time.perf_counter()
            for item in inputs:  # the reference: one in-process call per instance
                predictor.predict([item])
            reference = len(inputs) / (time.perf_counter() - start)
            rows.append([name, "in-process Predictor.predict (reference)", "-", "-", "-", f"{reference:.0f}", "-", "-",
                         "1.00x"])
            results.append({"model": name, "setting": "reference", "instances_per_s": reference})
            batch_bodies = [{"instances": bodies[i:i + 32]} for i in range(0, len(bodies), 32)]
            for backend in ("torch", "onnx"):
                for window in (0.0, args.window_ms):
                    process, url = start_server(run, backend, window)
                    try:
                        for kind, path, payload, clients, per in (
                                ("single", "/predict", bodies, args.clients, 1),
                                ("batch of 32", "/predict/batch", batch_bodies, 2, 32)):
                            load(url, path, payload[:8], clients)  # warm-up
                            seconds, latencies = load(url, path, payload, clients)
                            rps = len(payload) / seconds
                            instances = sum(len(b.get("instances", [b])) for b in payload) / seconds
                            p50, p99 = np.percentile(latencies, [50, 99]) * 1000
                            rows.append([name, f"{backend}, {'batching ' + str(window) + ' ms' if window else 'no batching'}",
                                         kind, str(clients), f"{rps:.0f}", f"{instances:.0f}", f"{p50:.1f}", f"{p99:.1f}",
                                         f"{instances / reference:.2f}x"])
                            results.append({"model": name, "backend": backend, "window_ms": window, "requests": kind,
                                            "clients": clients, "requests_per_s": rps, "instances_per_s": instances,
                                            "p50_ms": p50, "p99_ms": p99, "vs_reference": instances / reference})
                    finally:
                        process.send_signal(signal.SIGTERM)
                        process.wait(30)
    print_table(f"serving on 127.0.0.1, {args.requests} instances per setting (server: 1 worker, 1 torch thread)",
                ["model", "server", "requests", "clients", "req/s", "inst/s", "p50 ms", "p99 ms", "inst/s vs ref"], rows)
    write_json("serve", {"requests": args.requests, "clients": args.clients, "results": results})


if __name__ == "__main__":
    main()
