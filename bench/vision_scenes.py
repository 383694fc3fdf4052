"""Detection and segmentation on the built-in Fashion-MNIST scenes: the examples' runs against the classical baseline.

Each section trains the example config (`examples/centernet_scenes.yaml`, `examples/unet_scenes.yaml`) with
`neuronet train` exactly as a user would (2 torch threads), reads its test metrics on the 500 held-out
scenes (garments never seen in training), and measures in the same process the classical baseline
(`vision_baseline.ClassicalDetector`: threshold + connected components + nearest class centroid) on the same
scenes. Detection also measures speed: `nt.load(run).detect` on PNG files (1 thread, images/s) and
`neuronet serve` answering `POST /predict` with a base64 PNG (1 worker, 1 thread, 4 clients, requests/s).

Run through bench/vision.py: python bench/vision.py --only detection (or segmentation).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import neuronet as nt
from neuronet.datasets.scenes import make_scenes, write_scenes
from neuronet.datasets.vision import HELD_OUT, boxes_tensor
from neuronet.tasks.detection import coco_map
from neuronet.tasks.segmentation_metrics import confusion, iou_per_class, mean_dice, mean_iou
from serve import EXE, load, start_server
from vision_baseline import ClassicalDetector

EXAMPLES = Path(__file__).parents[1] / "examples"
TRAIN_SCENES = 4000  # as the built-in sets hold (seed 0): the baseline fits on the same training scenes


def train_example(config: str, out: str, threads: int, extra: list[str]) -> tuple[Path, dict[str, Any]]:
    """`neuronet train examples/<config>` in a child process with `threads` torch threads; the run and its metrics."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    name = Path(config).stem
    started = time.perf_counter()
    subprocess.run([EXE, "train", str(EXAMPLES / config), "--output-dir", out, "--name", name, "-q",
                    *[a for s in extra for a in ("--set", s)]], check=True, env=env)
    wall = time.perf_counter() - started
    run = Path(out) / name
    metrics = json.loads((run / "metrics.json").read_text())
    return run, {**metrics, "wall_s": round(wall, 1)}


def baseline_scenes() -> tuple[Any, Any]:
    """The training and test scenes of the built-in sets (seed 0), with their instance masks for the baseline."""
    return make_scenes(TRAIN_SCENES, seed=0, size=96, split="train"), make_scenes(HELD_OUT, seed=0, size=96, split="test")


def detection(threads: int = 2, extra: list[str] | None = None, requests: int = 200) -> dict[str, Any]:
    """The detector's test mAP and training time, the baseline's, and prediction / serving speed."""
    train, test = baseline_scenes()
    started = time.perf_counter()
    classical = ClassicalDetector().fit(train.images, train.instances, train.classes, len(train.class_names))
    fit_s = time.perf_counter() - started
    found = classical.detect(test.images)
    truth = boxes_tensor(test.boxes, test.classes)
    base = coco_map(torch.from_numpy(found), truth, len(train.class_names))
    with tempfile.TemporaryDirectory() as out:
        run, metrics = train_example("centernet_scenes.yaml", out, threads, extra or [])
        speed = detection_speed(run, test, Path(out), requests)
    return {"network": {"map": metrics["test"]["map"], "map50": metrics["test"]["map50"],
                        "train_s": round(metrics["train_time_s"], 1), "epochs": metrics["epochs_run"],
                        "wall_s": metrics["wall_s"], "per_class50": metrics.get("examples")},
            "baseline": {"map": base["map"], "map50": base["map50"], "fit_s": round(fit_s, 1),
                         "threshold": classical.threshold_},
            "speed": speed}


def detection_speed(run: Path, test: Any, folder: Path, requests: int) -> dict[str, float]:
    """Images per second of `detect` on PNG files (1 thread, one call per image after a warm-up) and requests per
    second of the served model (POST /predict, base64 PNG, 4 clients)."""
    scenes = write_scenes(folder / "test_scenes", test, layouts=())
    paths = sorted((scenes / "images").iterdir())[:100]
    torch.set_num_threads(1)
    predictor = nt.load(run)
    predictor.detect(str(paths[0]))  # warm-up
    started = time.perf_counter()
    for path in paths:
        predictor.detect(str(path))
    one_by_one = len(paths) / (time.perf_counter() - started)
    started = time.perf_counter()
    predictor.detect([str(p) for p in paths])
    batched = len(paths) / (time.perf_counter() - started)
    bodies = [{"image": base64.b64encode(p.read_bytes()).decode()} for p in paths]
    process, url = start_server(run, "torch", 5.0)
    try:
        load(url, "/predict", bodies[:8], 2)  # warm-up
        wall, latencies = load(url, "/predict", [bodies[i % len(bodies)] for i in range(requests)], 4)
    finally:
        process.kill()
    return {"images_per_s": round(one_by_one, 1), "images_per_s_batched": round(batched, 1),
            "served_per_s": round(requests / wall, 1), "p50_ms": round(1000 * float(np.median(latencies)), 1),
            "p99_ms": round(1000 * float(np.percentile(latencies, 99)), 1)}


def segmentation(threads: int = 2, extra: list[str] | None = None) -> dict[str, Any]:
    """The U-Net's test mean IoU and Dice and training time, beside the baseline's on the same scenes."""
    train, test = baseline_scenes()
    classical = ClassicalDetector().fit(train.images, train.instances, train.classes, len(train.class_names))
    masks = torch.from_numpy(classical.segment(test.images)).long()
    conf = confusion(masks, torch.from_numpy(test.semantic).long(), len(train.mask_names), ignore_index=None)
    with tempfile.TemporaryDirectory() as out:
        _, metrics = train_example("unet_scenes.yaml", out, threads, extra or [])
    return {"network": {"mean_iou": metrics["test"]["mean_iou"], "dice": metrics["test"]["dice"],
                        "train_s": round(metrics["train_time_s"], 1), "epochs": metrics["epochs_run"],
                        "wall_s": metrics["wall_s"], "per_class": metrics.get("examples")},
            "baseline": {"mean_iou": round(mean_iou(conf), 6), "dice": round(mean_dice(conf), 6),
                         "per_class_iou": [round(v, 4) for v in iou_per_class(conf).tolist()]}}
