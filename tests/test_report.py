"""`neuronet explain` and `neuronet report` on real runs: the PNGs, the one HTML page, and that page in a real
browser (Debian's headless chromium through Playwright)."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from typer.testing import CliRunner

from neuronet.cli import app

runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def cnn_run(train_small):
    return train_small("digits-cnn", "data.source=digits", "model.type=cnn", "train.epochs=3")


@pytest.fixture(scope="module")
def text_run(train_small):
    return train_small("tweets-transformer", "data.source=tweets", "data.limit=800", "model.type=transformer",
                       "model.dim=32", "model.layers=2", "model.heads=2", "train.epochs=2",
                       "data.preprocess={max_len: 24}")


@pytest.mark.slow
def test_explain_a_cnn_writes_tsne_lrp_and_its_mistakes(cnn_run):
    result = cli("explain", cnn_run)
    assert result.exit_code == 0, result.output
    folder = cnn_run / "explain"
    for name in ("tsne.png", "attribution.png", "wrong.png"):
        assert (folder / name).stat().st_size > 5000, name
    summary = json.loads((folder / "explain.json").read_text())
    assert summary["attribution"]["method"] == "lrp"  # a network of ReLU modules: LRP by default
    assert summary["tsne"]["layer"].startswith("head.") and summary["tsne"]["points"] == 360
    assert "attention" in summary["skipped"] and "self-attention" in summary["skipped"]["attention"]
    probabilities = [m["probability"] for m in summary["wrong"]]
    assert probabilities == sorted(probabilities, reverse=True) and all(m["true"] != m["predicted"]
                                                                         for m in summary["wrong"])
    assert "per-class metrics" in result.output and "precision" in result.output


def test_explain_options_that_do_not_fit_exit_1_with_one_sentence(cnn_run):
    for args, message in [(["--attention"], "self-attention"), (["--attribution", "shap"], "Valid: integrated_gradients"),
                          (["--tsne", "--layer", "nowhere"], "nowhere"), (["--examples", "a,b"], "--examples"),
                          (["--attribution", "lrp", "--examples", "3,999"], "Example 999 is outside the test split")]:
        result = cli("explain", cnn_run, *args)
        assert result.exit_code == 1 and message in result.output, (args, result.output)
        assert "Traceback" not in result.output


@pytest.mark.slow
def test_explain_a_text_transformer_shows_attention_over_tokens(text_run):
    result = cli("explain", text_run, "--attention", "--attribution", "integrated_gradients", "--examples", "0,1")
    assert result.exit_code == 0, result.output
    summary = json.loads((text_run / "explain" / "explain.json").read_text())
    assert [m["example"] for m in summary["attention"]] == [0, 1]
    assert all(m["tokens"] and "<pad>" not in m["tokens"] for m in summary["attention"])
    assert all((text_run / m["path"]).stat().st_size > 5000 for m in summary["attention"])
    assert summary["attribution"]["method"] == "integrated_gradients"


@pytest.mark.slow
def test_the_report_is_one_self_contained_page_that_renders_in_chromium(cnn_run, tmp_path):
    result = cli("report", cnn_run)
    assert result.exit_code == 0, result.output
    page_path = cnn_run / "report.html"
    text = page_path.read_text()
    for section in ("Metrics", "Training curves", "Doctor", "Test predictions", "Per-class metrics",
                    "t-SNE of the learned features", "Attributions", "Most confidently wrong", "Config"):
        assert f"<h2>{section}" in text, section
    sources = re.findall(r'<img src="([^"]{0,30})', text)
    assert len(sources) >= 7 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r'(src|href)="(https?:)?//', text) and "<script" not in text  # nothing from a network

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (neuronet[test])")
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: errors.append(f"request {r.url}") if not r.url.startswith(("file:", "data:"))
                else None)
        page.goto(page_path.as_uri(), timeout=30_000)
        widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
        assert len(widths) == len(sources) and min(widths) > 100  # every picture decoded
        assert page.title() == f"neuronet run {cnn_run.name}"
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert not errors, errors
    assert (tmp_path / "report.png").stat().st_size > 50_000
