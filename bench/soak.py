"""A soak of the prediction server: `neuronet serve` on 127.0.0.1 under a bounded, mixed, partly hostile load.

It trains a small table run (or takes one with --run), starts `neuronet serve RUN` as a process (one
worker, one torch thread, a 1 MiB body limit so that huge bodies are cheap to send), and drives it for
--minutes from client threads: good single and batch requests, bad ones (422, 400, 415), bodies over the
limit (413, with a Content-Length and chunked), slow clients (a body trickled over seconds), bursts of
concurrent batches. It records the answers by status, the latency of good requests, the 5xx (must be 0)
and the server's memory (VmRSS) at start, after warm-up, each minute and at the end; then it sends
SIGTERM while requests are in flight and counts the accepted requests that went unanswered (must be 0).
Run: python bench/soak.py [--minutes 10] [--clients 6] [--run RUN --csv TABLE]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from common import print_table, write_json

EXE = str(Path(sys.executable).parent / "neuronet")
LIMIT_MB = 1.0
LIMIT = int(LIMIT_MB * 1024 * 1024)
# kind of request -> weight in the mix (a client picks one at random, seeded, then sends it)
MIX = {"single": 40, "batch": 15, "bad 422": 10, "bad 400": 5, "bad 415": 5, "413 length": 3, "413 chunked": 3,
       "slow": 2, "burst": 2}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """The resident memory of process `pid` in MiB (VmRSS of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def train_table(out: Path) -> Path:
    """A small MLP on the breast-cancer table with a category column; its CSV is kept beside it."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame["site"] = np.random.default_rng(0).choice(["north", "south"], len(frame))
    frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
    frame.to_csv(out / "cancer.csv", index=False)
    subprocess.run([EXE, "train", "--set", f"data.source={out / 'cancer.csv'}", "--set", "data.target=target",
                    "--set", "model.type=mlp", "--set", "train.epochs=3", "--output-dir", str(out), "--name", "soak",
                    "-q"], check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return out / "soak"


def rows_of(run: Path, csv: Path) -> list[dict[str, Any]]:
    """Instances to send: rows of the run's table without its target (NaN as null)."""
    import pandas as pd

    meta = json.loads((run / "preprocessing.json").read_text())["data"]
    frame = pd.read_csv(csv)
    target = meta["inputs"].get("target")
    frame = frame.drop(columns=[target] if isinstance(target, str) else list(target or []))
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in
            frame.head(256).to_dict("records")]


def raw_request(port: int, path: str, body: bytes, pieces: int = 1, pause_s: float = 0.0,
                timeout: float = 90.0) -> tuple[bool, int | None]:
    """POST `body` on a new connection (in `pieces`, `pause_s` apart); (accepted, status or None if dropped).

    Accepted means the connection was made: from then on the server owes an answer.
    """
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError:
        return False, None
    with s:
        s.settimeout(timeout)
        try:
            s.sendall(f"POST {path} HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\nConnection: close\r\n"
                      f"Content-Length: {len(body)}\r\n\r\n".encode())
            step = max(1, -(-len(body) // pieces))
            for i in range(0, len(body), step):
                s.sendall(body[i:i + step])
                if pause_s and i + step < len(body):
                    time.sleep(pause_s)
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
        except OSError:  # reset, or a timeout: no answer
            return True, None
    if not answer.startswith(b"HTTP/1.1 "):
        return True, None
    return True, int(answer[9:12])


class Load:
    """Client threads sending the mix until a deadline; what came back, by kind and status."""

    def __init__(self, url: str, port: int, rows: list[dict[str, Any]]) -> None:
        self.url, self.port, self.rows = url, port, rows
        self.lock = threading.Lock()
        self.status: collections.Counter[str] = collections.Counter()
        self.wrong: collections.Counter[str] = collections.Counter()  # a status other than the one expected
        self.errors: collections.Counter[str] = collections.Counter()  # no answer at all
        self.latency: dict[str, list[float]] = {"single": [], "batch": []}

    def run(self, clients: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        threads = [threading.Thread(target=self._client, args=(i, deadline)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def _client(self, seed: int, deadline: float) -> None:
        rng = random.Random(seed)
        kinds, weights = list(MIX), list(MIX.values())
        with httpx.Client(timeout=120) as client:
            while time.monotonic() < deadline:
                kind = rng.choices(kinds, weights)[0]
                try:
                    self._one(client, kind, rng)
                except httpx.HTTPError as error:
                    with self.lock:
                        self.errors[f"{kind}: {type(error).__name__}"] += 1

    def _one(self, client: httpx.Client, kind: str, rng: random.Random) -> None:
        row = self.rows[rng.randrange(len(self.rows))]
        start = time.perf_counter()
        if kind == "single":
            self._record(kind, 200, client.post(self.url + "/predict", json=row).status_code, start)
        elif kind == "batch":
            body = {"instances": rng.sample(self.rows, 32)}
            self._record(kind, 200, client.post(self.url + "/predict/batch", json=body).status_code, start)
        elif kind == "bad 422":
            bad = rng.choice([{**row, "mean area": "thick"}, {k: v for k, v in row.items() if k != "mean area"},
                              {**row, "mean area": [1, 2]}, {"instances": []}])
            self._record(kind, 422, client.post(self.url + "/predict", json=bad).status_code, start)
        elif kind == "bad 400":
            answer = client.post(self.url + "/predict", content=json.dumps(row)[:-9].encode(),
                                 headers={"content-type": "application/json"})
            self._record(kind, 400, answer.status_code, start)
        elif kind == "bad 415":
            answer = client.post(self.url + "/predict", content=json.dumps(row).encode(),
                                 headers={"content-type": "text/plain"})
            self._record(kind, 415, answer.status_code, start)
        elif kind == "413 length":
            answer = client.post(self.url + "/predict", content=b" " * (LIMIT + 1),
                                 headers={"content-type": "application/json"})
            self._record(kind, 413, answer.status_code, start)
        elif kind == "413 chunked":
            chunks = (b" " * 65536 for _ in range(LIMIT // 65536 + 2))
            answer = client.post(self.url + "/predict/batch", content=chunks,
                                 headers={"content-type": "application/json"})
            self._record(kind, 413, answer.status_code, start)
        elif kind == "slow":  # a good body trickled over 3 s
            accepted, status = raw_request(self.port, "/predict", json.dumps(row).encode(), pieces=7, pause_s=0.5)
            self._record(kind, 200, status if accepted else -1, start)
        else:  # a burst of four concurrent batches of 512
            answers: list[int] = []
            body = {"instances": [self.rows[i % len(self.rows)] for i in range(512)]}

            def ask() -> None:
                answers.append(httpx.post(self.url + "/predict/batch", json=body, timeout=120).status_code)

            burst = [threading.Thread(target=ask) for _ in range(4)]
            for t in burst:
                t.start()
            for t in burst:
                t.join()
            for status in answers:
                self._record(kind, 200, status, start)

    def _record(self, kind: str, expected: int, status: int | None, start: float) -> None:
        took = time.perf_counter() - start
        with self.lock:
            self.status[f"{status // 100}xx" if status and status > 0 else "none"] += 1
            self.status[str(status)] += 1
            if status != expected:
                self.wrong[f"{kind}: {status} (expected {expected})"] += 1
            elif kind in self.latency:
                self.latency[kind].append(took)


def shutdown_under_load(process: subprocess.Popen, port: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """SIGTERM with requests in flight: every accepted request must be answered; new ones are refused."""
    batch = json.dumps({"instances": [rows[i % len(rows)] for i in range(512)]}).encode()
    outcomes: list[tuple[str, bool, int | None]] = []
    lock = threading.Lock()

    def send(kind: str, body: bytes, pieces: int = 1, pause_s: float = 0.0) -> None:
        result = raw_request(port, "/predict/batch" if kind == "batch" else "/predict", body, pieces, pause_s)
        with lock:
            outcomes.append((kind, *result))

    in_flight = [threading.Thread(target=send, args=("batch", batch)) for _ in range(12)]
    in_flight += [threading.Thread(target=send, args=("slow", json.dumps(rows[0]).encode(), 7, 0.5)) for _ in range(2)]
    for t in in_flight:
        t.start()
    time.sleep(0.5)  # connected and sent (the batches queue behind each other; the slow ones are mid-body)
    sent_at = time.monotonic()
    process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    late = [threading.Thread(target=send, args=("after SIGTERM", json.dumps(rows[0]).encode())) for _ in range(3)]
    for t in late:
        t.start()
    for t in in_flight + late:
        t.join(120)
    code = process.wait(120)
    accepted = [o for o in outcomes if o[0] != "after SIGTERM" and o[1]]
    return {"in_flight": len(in_flight), "accepted": len(accepted),
            "answered": sum(o[2] is not None for o in accepted),
            "answered_200": sum(o[2] == 200 for o in accepted),
            "dropped": sum(o[2] is None for o in accepted),
            "after_sigterm_refused": sum(not o[1] for o in outcomes if o[0] == "after SIGTERM"),
            "after_sigterm_answered": sum(o[2] is not None for o in outcomes if o[0] == "after SIGTERM"),
            "exit_code": code, "exit_s": round(time.monotonic() - sent_at, 1)}


def start_server(run: Path, folder: Path) -> tuple[subprocess.Popen, int, Any]:
    """`neuronet serve RUN` on a free port of 127.0.0.1, its log in a file; once /ready says so (a bounded wait)."""
    port = free_port()
    log = open(folder / "server.log", "w+")  # noqa: SIM115 - read at the end
    process = subprocess.Popen([EXE, "serve", str(run), "--port", str(port), "--max-body-mb", str(LIMIT_MB)],
                               stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"})
    for _ in range(240):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return process, port, log
        except httpx.HTTPError:
            time.sleep(0.25)
    process.kill()
    raise SystemExit("the server did not start in 60 s")


def soak(load: Load, pid: int, clients: int, total_s: float) -> dict[str, float]:
    """Drive the load for `total_s`; the server's RSS at start, after warm-up, at each minute and at the end."""
    memory = {"start": rss_mb(pid)}
    started = time.monotonic()
    load.run(clients, min(60.0, total_s / 5))  # warm-up: caches, allocator pools, the first batches
    memory["after warm-up"] = rss_mb(pid)
    for minute in range(1, int(total_s // 60) + 1):
        if (left := minute * 60 - (time.monotonic() - started)) > 0:
            load.run(clients, left)
        memory[f"minute {minute}"] = rss_mb(pid)
    if (left := total_s - (time.monotonic() - started)) > 0:
        load.run(clients, left)
    memory["end"] = rss_mb(pid)
    return memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--run", type=Path, help="a trained table run to serve (default: train a small one)")
    parser.add_argument("--csv", type=Path, help="with --run: the table it was trained on")
    args = parser.parse_args()
    if args.run and not args.csv:
        raise SystemExit("--run needs --csv, the table it was trained on (its rows are the good requests)")
    with tempfile.TemporaryDirectory() as out:
        run, csv = (args.run, args.csv) if args.run else (train_table(Path(out)), Path(out) / "cancer.csv")
        rows = rows_of(run, csv)
        process, port, log = start_server(run, Path(out))
        load = Load(f"http://127.0.0.1:{port}", port, rows)
        started = time.monotonic()
        memory = soak(load, process.pid, args.clients, args.minutes * 60)
        shutdown = shutdown_under_load(process, port, rows)
        log.seek(0)
        server_log = log.read()
        log.close()
    report(args, load, memory, shutdown, server_log, time.monotonic() - started)


def report(args: argparse.Namespace, load: Load, memory: dict[str, float], shutdown: dict[str, Any], server_log: str,
           seconds: float) -> None:
    """Print the table and write bench/results/soak.json."""
    growth = memory["end"] - memory["after warm-up"]
    flat = growth <= max(0.10 * memory["after warm-up"], 16.0)
    latency = {k: (np.percentile(v, [50, 99]) * 1000).round(1).tolist() if v else [None, None]
               for k, v in load.latency.items()}
    fives = sum(n for k, n in load.status.items() if k.startswith("5") and len(k) == 3)
    rows = [["requests answered", sum(n for k, n in load.status.items() if k.endswith("xx"))],
            *[[f"  {k}", n] for k, n in sorted(load.status.items()) if k.endswith("xx") or k == "none"],
            *[[f"  status {k}", n] for k, n in sorted(load.status.items()) if k.isdigit()],
            ["5xx (must be 0)", fives],
            ["unexpected status", sum(load.wrong.values())], ["no answer (client error)", sum(load.errors.values())],
            ["good single p50 / p99 ms", f"{latency['single'][0]} / {latency['single'][1]}"],
            ["good batch of 32 p50 / p99 ms", f"{latency['batch'][0]} / {latency['batch'][1]}"],
            *[[f"server RSS {k} (MiB)", f"{v:.1f}"] for k, v in memory.items()],
            ["RSS growth after warm-up (MiB)",
             f"{growth:+.1f} ({'flat' if flat else 'GROWING'}: margin max(10%, 16 MiB))"],
            ["SIGTERM: in flight / accepted / answered", f"{shutdown['in_flight']} / {shutdown['accepted']} / "
                                                         f"{shutdown['answered']} ({shutdown['answered_200']} with 200)"],
            ["SIGTERM: accepted but dropped (must be 0)", shutdown["dropped"]],
            ["SIGTERM: new connections refused after", f"{shutdown['after_sigterm_refused']} of 3"],
            ["server exit code / seconds to exit", f"{shutdown['exit_code']} / {shutdown['exit_s']}"],
            ["tracebacks in the server log", server_log.count("Traceback")]]
    print_table(f"soak: neuronet serve on 127.0.0.1 for {args.minutes:g} min, {args.clients} clients "
                f"(server: 1 worker, 1 torch thread, {LIMIT_MB:g} MiB body limit)", ["measure", "value"], rows)
    if load.wrong or load.errors:
        print("\nunexpected:", dict(load.wrong), dict(load.errors))
    write_json("soak", {"minutes": args.minutes, "clients": args.clients, "seconds": seconds, "mix": MIX,
                        "status": dict(load.status), "unexpected_status": dict(load.wrong),
                        "client_errors": dict(load.errors), "five_xx": fives,
                        "latency_ms": {k: {"p50": v[0], "p99": v[1]} for k, v in latency.items()},
                        "rss_mib": memory, "rss_growth_after_warmup_mib": growth, "memory_flat": flat,
                        "shutdown": shutdown, "server_log_tracebacks": server_log.count("Traceback")})


if __name__ == "__main__":
    main()
