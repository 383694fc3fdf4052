"""Detection and segmentation end to end, from a user's folders: `neuronet train` on a YOLO folder and on an
images/ + masks/ folder, predict (a table, images drawn), evaluate on another folder, explain --boxes,
`nt.load(run).detect / segment`, the service's /predict and /predict/file, and the web page drawing boxes and
painting a mask over the image sent, in a real browser. The folders are the built-in Fashion-MNIST scenes written
in the users' layouts (skipped, saying why, without Debian's dataset-fashion-mnist)."""

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import neuronet as nt
from neuronet.cli import app
from neuronet.errors import DataError

pytestmark = [pytest.mark.slow]
pytest.importorskip("pycocotools", reason="detection metrics need pycocotools (neuronet[vision])")
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> tuple[Path, Path]:
    """A YOLO detection folder (its COCO file removed) and a segmentation folder of other scenes."""
    from neuronet.datasets.scenes import make_scenes, write_scenes

    try:
        train, held = make_scenes(48, seed=2, size=64), make_scenes(12, seed=3, size=64, split="test")
    except DataError as err:
        pytest.skip(str(err))
    root = tmp_path_factory.mktemp("vision")
    yolo = write_scenes(root / "shop", train, layouts=("yolo",))
    masks = write_scenes(root / "shop_masks", train, layouts=("masks",))
    write_scenes(root / "held", held)
    return yolo, masks, root / "held"


def train(source, out, name, *settings):
    result = invoke("train", "--set", f"data.source={source}", *[a for s in settings for a in ("--set", s)],
                    "--set", "train.epochs=2", "--set", "train.batch_size=16", "--set", f"output_dir={out}",
                    "--name", name, "-q")
    assert result.exit_code == 0, result.output
    return out / name


@pytest.fixture(scope="module")
def detector(folders, tmp_path_factory) -> Path:
    return train(folders[0], tmp_path_factory.mktemp("runs"), "shop", "model.channels=[8,16,16,16]", "model.width=16",
                 "train.augment=[{type: hflip}, {type: zoom}]")


@pytest.fixture(scope="module")
def segmenter(folders, tmp_path_factory) -> Path:
    return train(folders[1], tmp_path_factory.mktemp("runs"), "masks", "model.channels=[8,16]")


def test_a_yolo_folder_trains_a_detector_scored_by_coco_map(detector):
    metrics = json.loads((detector / "metrics.json").read_text())
    assert {"map", "map50", "loss"} <= set(metrics["test"])
    config = (detector / "config.yaml").read_text()
    assert "centernet" in config
    assert (detector / "detections.png").is_file() or (detector / "plots" / "detections.png").is_file()


def test_predict_draws_boxes_in_each_images_own_pixels(detector, folders, tmp_path):
    held = folders[2]
    big = tmp_path / "big.png"
    Image.open(held / "images" / "scene_00000.png").resize((128, 96)).save(big)
    out, drawn = tmp_path / "boxes.csv", tmp_path / "drawn"
    result = invoke("predict", detector, held / "images", big, "--threshold", "0.05", "-o", out, "--draw", drawn)
    assert result.exit_code == 0, result.output
    import pandas as pd

    table = pd.read_csv(out)
    assert list(table.columns) == ["input", "image", "class", "score", "x0", "y0", "x1", "y1", "objects"]
    assert table["input"].nunique() == 13 and (table["score"] >= 0.05).all()
    assert sorted(p.name for p in drawn.iterdir())[-1] == "scene_00011.png" and (drawn / "big.png").is_file()
    assert Image.open(drawn / "big.png").size == (128, 96)
    predictor = nt.load(detector)
    small = predictor.detect(str(held / "images" / "scene_00000.png"), threshold=0.05)[0]
    large = predictor.detect(str(big), threshold=0.05)[0]
    assert len(small) == len(large) > 0
    assert large[0]["x1"] == pytest.approx(small[0]["x1"] * 2, abs=0.05)
    assert large[0]["y1"] == pytest.approx(small[0]["y1"] * 1.5, abs=0.05)
    again = invoke("predict", detector, held / "images", "--draw", drawn)
    assert again.exit_code != 0 and "not an empty folder" in again.output


def test_an_edited_run_is_refused_in_one_sentence_and_a_data_folder_is_read_through_its_images(detector, folders,
                                                                                              tmp_path):
    import shutil

    for file, edit, message in (("preprocessing.json", lambda d: d["data"].update(class_names=["Bag"]), "name each"),
                                ("preprocessing.json", lambda d: d["data"]["inputs"].update(size=[30000, 30000]),
                                 "reads images at"),
                                ("model.json", lambda d: d.update(task="segmentation"), "cannot do")):
        copy = shutil.copytree(detector, tmp_path / f"edited-{file}-{message[:4]}")
        state = json.loads((copy / file).read_text())
        edit(state)
        (copy / file).write_text(json.dumps(state))
        with pytest.raises(DataError, match=message):
            nt.load(copy)
    table = tmp_path / "whole.csv"
    result = invoke("predict", detector, folders[2], "-o", table)  # the data folder itself: its images/ are read
    assert result.exit_code == 0, result.output
    assert "images/scene_00000.png" in table.read_text()


def test_evaluate_on_another_folder_and_explain_a_box(detector, folders):
    result = invoke("evaluate", detector, "--data", folders[2])
    assert result.exit_code == 0, result.output
    assert "map50" in result.output
    explained = invoke("explain", detector, "--boxes", "--examples", "0,1")
    assert explained.exit_code == 0, explained.output
    assert (detector / "explain" / "boxes.png").is_file()
    wrong = invoke("explain", detector, "--alignment")
    assert wrong.exit_code != 0 and "boxes" in wrong.output


def test_segmentation_from_images_and_masks(segmenter, folders, tmp_path):
    metrics = json.loads((segmenter / "metrics.json").read_text())
    assert {"mean_iou", "dice"} <= set(metrics["test"])
    predictor = nt.load(segmenter)
    image = folders[2] / "images" / "scene_00003.png"
    wide = tmp_path / "wide.png"
    Image.open(image).resize((100, 64)).save(wide)
    masks = predictor.segment([str(image), str(wide)])
    assert masks[0].shape == (64, 64) and masks[1].shape == (64, 100) and masks[0].dtype == np.uint8
    result = invoke("predict", segmenter, wide, "-o", tmp_path / "m.csv", "--draw", tmp_path / "drawn")
    assert result.exit_code == 0, result.output
    import pandas as pd

    row = pd.read_csv(tmp_path / "m.csv").iloc[0]
    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(row["mask"]))))
    assert decoded.shape == (64, 100) and np.array_equal(decoded, masks[1])
    assert row[[c for c in row.index if c.startswith("share_")]].sum() == pytest.approx(1, abs=1e-3)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "drawn" / "wide_mask.png")), masks[1])
    assert Image.open(tmp_path / "drawn" / "wide.png").size == (100, 64)
    evaluated = invoke("evaluate", segmenter, "--data", folders[2])
    assert evaluated.exit_code == 0 and "mean_iou" in evaluated.output, evaluated.output


def test_the_service_returns_boxes_and_masks_and_refuses_what_is_not_an_image(detector, segmenter, folders):
    from test_deploy import Server

    image = folders[2] / "images" / "scene_00001.png"
    encoded = base64.b64encode(image.read_bytes()).decode()
    for run, field in ((detector, "boxes"), (segmenter, "mask")):
        server = Server(run)
        try:
            answer = server.post("/predict", json={"image": encoded})
            assert answer.status_code == 200, answer.text
            assert field in answer.json() and "summary" in answer.json()
            upload = server.post("/predict/file", files={"file": ("scene.png", image.read_bytes(), "image/png")})
            assert upload.status_code == 200 and upload.json()["predictions"][0] == answer.json(), upload.text
            refused = server.post("/predict/file", files={"file": ("scene.png", b"not a png", "image/png")})
            assert refused.status_code == 422, refused.text
        finally:
            server.stop()


def test_the_page_draws_boxes_and_paints_the_mask(detector, segmenter, folders, tmp_path):
    from test_deploy import Server, _browser

    sync_api, chromium = _browser()
    image = folders[2] / "images" / "scene_00002.png"
    errors = []
    for run in (detector, segmenter):
        server = Server(run)
        try:
            with sync_api.sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
                page = browser.new_page()
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(server.url + "/", timeout=30_000)
                page.set_input_files("[name='image']", str(image))
                page.click("#predict")
                page.wait_for_selector("#picture:not([hidden])", timeout=30_000)
                page.wait_for_timeout(300)
                drawn = page.evaluate("""() => { const c = document.getElementById('picture');
                    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let s = 0;
                    for (let i = 0; i < d.length; i += 4) s += d[i] + d[i + 1] + d[i + 2]; return [c.width, s]; }""")
                assert drawn[0] == 320 and drawn[1] > 0  # a 64 px scene shown 5 times as large
                if run == detector:  # a box drawn where the response puts it, in its class's colour
                    colour = page.evaluate("""async () => { await drawBoxes([{label: 'Bag', score: 0.9,
                        box: [10, 10, 40, 40]}]); return Array.from(document.getElementById('picture')
                        .getContext('2d').getImageData(50, 125, 1, 1).data.slice(0, 3)); }""")
                    assert colour == [31, 119, 180]  # #1f77b4 on the box's left edge, x 10 * 5, y 25 * 5
                else:
                    assert page.evaluate("document.querySelector('canvas#canvas') === null")  # no drawing pad
                assert page.text_content("#error") == ""
                page.screenshot(path=str(tmp_path / f"{run.name}.png"), full_page=True)
                browser.close()
        finally:
            server.stop()
    assert not errors, errors
