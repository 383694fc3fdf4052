"""Export: every architecture ONNX can express, checked against PyTorch with ONNX Runtime; one sentence for
what cannot be exported; a mismatch names the largest difference."""

from __future__ import annotations

import json

import numpy as np
import pytest

import neuronet as nt

pytest.importorskip("onnxruntime", reason="the serving extras are not installed (pip install 'neuronet[serve]')")

from neuronet.deploy.export import ExportError, _compare, export_run  # noqa: E402


@pytest.mark.slow
def test_every_architecture_onnx_can_express_exports_and_matches_pytorch(table_run, text_run, digits_run, train_small):
    runs = {"mlp (table)": table_run[0], "gru (text)": text_run, "cnn": digits_run,
            "transformer (text)": train_small("tr", "data.source=tweets", "data.limit=300",
                                      "model.type=transformer", "train.epochs=1"),
            "lstm (series)": train_small("lstm", "data.source=airline", "model.type=lstm", "train.epochs=1"),
            "resnet": train_small("resnet", "model.type=resnet", "train.epochs=1"),
            "vgg": train_small("vgg", "model.type=vgg", "train.epochs=1"),
            "vae": train_small("vae", "model.type=vae", "train.epochs=1")}
    for name, run_dir in runs.items():
        result = export_run(run_dir)
        assert result.max_abs_diff < 1e-3 and result.checked_examples > 10, name
        saved = json.loads((run_dir / "export" / "export.json").read_text())
        assert saved["input"]["shape"][0] == "batch" and (run_dir / "export" / "preprocessing.json").is_file()
        assert sorted(p.name for p in (run_dir / "export").iterdir()) == ["export.json", "model.onnx",
                                                                         "preprocessing.json"], name
    assert json.loads((text_run / "export" / "export.json").read_text())["input"]["shape"] == ["batch", "time"]
    traced = export_run(digits_run, "torchscript")  # replaces the ONNX export whole
    assert traced.path.name == "model.pt" and traced.max_abs_diff < 1e-5


def test_what_cannot_be_exported_says_so_in_one_sentence(train_small):
    gan = train_small("gan", "model.type=dcgan", "train.epochs=1")
    with pytest.raises(nt.ConfigError, match="A GAN is not exported"):
        export_run(gan)
    bi = train_small("bi", "data.source=tweets", "data.limit=300", "model.type=gru", "model.hidden=8",
             "model.bidirectional=true", "train.epochs=1")
    with pytest.raises(ExportError, match="bidirectional recurrent model over padded text cannot be exported"):
        export_run(bi)
    assert not (bi / "export").exists()  # nothing half-written


def test_a_mismatch_names_the_largest_difference():
    import torch

    reference = torch.zeros(4, 3)
    got = np.zeros((4, 3), dtype=np.float32)
    got[2, 1] = 0.5
    with pytest.raises(ExportError, match=r"differs from PyTorch by up to 0.5 \(output 0, index \(2, 1\)\)"):
        _compare([got], reference, "onnx")
    assert _compare([got * 0 + 1e-6], reference, "onnx") == pytest.approx(1e-6)


