"""Speech to text: neuronet's CTC model trained for a fixed time vs PocketSphinx and an empty transcript, on the
same held-out voices; real-time factors; PocketSphinx's own real recordings; served requests per second.

Corpora (built in, spoken by espeak-ng, `neuronet.datasets.speech`): digit strings of 1-7 words
(4,000 training clips, test 500) and fortunes sentences of 3-14 words (6,000 training clips,
test 500, sentences never heard in training). Validation and test are each spoken by 10 voice
variants training never hears. The model is `speech_ctc`: for digit strings a bidirectional GRU
(160 units, 2 layers, float32), for sentences a Transformer encoder (width 256, 4 layers, no
dropout, bfloat16 autocast: a step of 32 clips takes 0.7 s instead of 3.6 s for a 3-layer GRU of
256 units). Each is trained with the Trainer's `train_step` (and its volume / noise / speed
augmentations) until the time budget is spent: AdamW, the learning rate warmed up over 200 steps
and decayed (cosine) over the budget, gradients clipped at 1; the weights with the best
validation loss are kept.

Baselines on the same test clips: PocketSphinx 5 (PyPI; its bundled US-English acoustic model
and, for digit strings, a grammar of the ten digit words; for sentences its general language
model) and the empty transcript. Real speech: the 10 recordings with transcripts that Debian's
`pocketsphinx-testdata` ships (LibriVox sentences and card names), transcribed by both.

Speed: real-time factor (compute seconds per second of audio, one torch thread, batches of 32
clips) for greedy and beam decoding; served requests per second for 5-second WAV clips posted to
`neuronet serve` (one worker, one thread) by 4 clients, on a run with the same architecture.

Goal (the issue): digit strings WER <= 0.03 after at most 10 minutes; sentences CER <= 0.15 after
at most 20 minutes.

Run: python bench/speech.py [--corpora digits sentences] [--minutes 10 20] [--threads 2]
Writes bench/results/speech.json (speech_<corpus>.json for one corpus).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np
import torch

from common import print_table, train_for_time, write_json
import neuronet as nt
from neuronet.datasets.transcripts import SpeechTranscripts
from neuronet.models import SpeechCTC
from neuronet.predict.speech import lexicon, transcribe_waves
from neuronet.tasks.transcription import error_rates

import pocketsphinx_baseline as sphinx

CORPORA = {"digits": "spoken_digit_strings", "sentences": "spoken_sentences"}
MODEL = {"digits": dict(encoder="gru", hidden=160, layers=2),
         "sentences": dict(encoder="transformer", hidden=256, layers=4, dropout=0.0)}
PRECISION = {"digits": "32", "sentences": "bf16"}  # a Transformer's matrix products run ~8x faster in bfloat16 (AMX)
AUGMENT = [{"type": "volume", "db": 6}, {"type": "noise", "snr_db": [15, 40]}, {"type": "speed", "factors": [0.9, 1.1]}]
PEAK_LR, WARMUP, BATCH, EVAL_EVERY = 2e-3, 200, 32, 200


def prepared(corpus: str, test_clips: int):
    data = nt.datasets.load(CORPORA[corpus])
    train, val, test = data.split()
    test = test.subset(range(min(test_clips, len(test))))
    step = SpeechTranscripts().fit(train)
    return step, step.transform(train), step.transform(val), step.transform(test), test


def train_model(corpus: str, minutes: float, train, val, vocab: int) -> tuple[SpeechCTC, dict]:
    model = SpeechCTC(tuple(train.x.shape[1:]), vocab, seed=0, **MODEL[corpus])
    trainer = nt.Trainer(model, task="transcription", optimizer="adamw", lr=PEAK_LR, batch_size=BATCH, grad_clip=1.0,
                         augment=AUGMENT, doctor=False, seed=0, precision=PRECISION[corpus])
    trainer.setup(train)

    def report(steps: int, seconds: float, loss: float) -> None:
        print(f"  {corpus}: step {steps:5d}  {seconds:6.0f} s  val loss {loss:.4f}", flush=True)

    run = train_for_time(trainer, train, val, minutes, PEAK_LR, WARMUP, EVAL_EVERY, report, keep_best=True)
    run["parameters"] = sum(p.numel() for p in model.parameters())
    return model, run


def score(model: SpeechCTC, step: SpeechTranscripts, test, raw_test, beam: int, words: bool = False) -> dict[str, float]:
    torch.set_num_threads(1)
    start = time.perf_counter()
    heard = transcribe_waves(model, test.x, step.alphabet, beam, lexicon=lexicon(step) if words else None)
    seconds = time.perf_counter() - start
    audio = sum(len(w) for w in raw_test.x) / raw_test.inputs["rate"]
    return {**error_rates(list(raw_test.y), heard), "rtf": seconds / audio, "examples": list(zip(raw_test.y[:3], heard[:3]))}


def wav_files(raw_test, folder: Path) -> list[Path]:
    """The test clips as 16 kHz WAV files, for PocketSphinx (which reads the same audio the model reads)."""
    paths = []
    for i, wave_ in enumerate(raw_test.x):
        path = folder / f"{i:05d}.wav"
        with wave.open(str(path), "wb") as f:
            f.setnchannels(1), f.setsampwidth(2), f.setframerate(raw_test.inputs["rate"])
            f.writeframes((wave_.clamp(-1, 1) * 32767).round().short().numpy().tobytes())
        paths.append(path)
    return paths


def pocketsphinx(raw_test, digits: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        paths = wav_files(raw_test, Path(folder))
        start = time.perf_counter()
        heard = sphinx.transcribe(paths, digits=digits)
        seconds = time.perf_counter() - start
    audio = sum(len(w) for w in raw_test.x) / raw_test.inputs["rate"]
    return {**error_rates(list(raw_test.y), heard), "rtf": seconds / audio}


def real_speech(model: SpeechCTC, step: SpeechTranscripts) -> dict[str, dict[str, float]]:
    """Both systems on pocketsphinx-testdata's real recordings (references normalised as training transcripts)."""
    from neuronet.datasets.audio import read_wav, resample_wave
    from neuronet.datasets.transcripts import normalize_transcript

    clips = sphinx.testdata_clips()
    if not clips:
        return {}
    said = [normalize_transcript(text) for _, text in clips]
    waves = [resample_wave(*read_wav(path), 16_000) for path, _ in clips]
    x = torch.zeros(len(waves), max(len(w) for w in waves))
    for i, w in enumerate(waves):
        x[i, : len(w)] = w
    ours = transcribe_waves(model, x, step.alphabet)
    theirs = [normalize_transcript(t) for t in sphinx.transcribe([p for p, _ in clips])]
    return {"clips": len(clips), "seconds": round(sum(len(w) for w in waves) / 16_000, 1),
            "neuronet": error_rates(said, ours), "pocketsphinx": error_rates(said, theirs),
            "examples": [{"said": s, "neuronet": o, "pocketsphinx": p} for s, o, p in zip(said, ours, theirs)]}


def served(raw_test, requests: int, clients: int) -> dict[str, float]:
    """Requests per second of `neuronet serve` (torch, one worker, one thread) transcribing 5-second WAV uploads, and
    the same clips transcribed in-process one call each (the reference). The run: the digit strings' architecture,
    trained briefly (speed does not depend on the weights)."""
    import os
    import subprocess
    import threading

    import httpx

    from serve import EXE, start_server

    rate = raw_test.inputs["rate"]
    clips, joined = [], torch.zeros(0)
    for w in raw_test.x:  # test clips joined with 0.2 s pauses, cut into 5-second recordings
        joined = torch.cat([joined, w, torch.zeros(rate // 5)])
        if len(joined) >= 5 * rate:
            clips.append(joined[: 5 * rate])
            joined = torch.zeros(0)
        if len(clips) == 20:
            break
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        subprocess.run([EXE, "train", str(Path(__file__).parents[1] / "examples" / "ctc_digit_strings.yaml"), "--set",
                        "data.limit=40", "--set", "train.epochs=1", "--output-dir", out, "--name", "served", "-q"],
                       check=True, capture_output=True, env=env)
        run = Path(out) / "served"
        paths = wav_files(type(raw_test)(clips, None, "transcription", inputs=raw_test.inputs), Path(out))
        bodies = [p.read_bytes() for p in paths]
        predictor = nt.load(run)
        torch.set_num_threads(1)
        predictor.predict(str(paths[0]))  # warm-up, as the server's first request is
        start = time.perf_counter()
        for p in paths:
            predictor.predict(str(p))
        reference = len(paths) / (time.perf_counter() - start)
        process, url = start_server(run, "torch", 0.0)
        latencies: list[float] = []
        lock = threading.Lock()
        todo = iter(range(requests))

        def client() -> None:
            with httpx.Client(timeout=60) as session:
                while (i := next(todo, None)) is not None:
                    began = time.perf_counter()
                    answer = session.post(url + "/predict/file", files={"file": ("clip.wav", bodies[i % len(bodies)],
                                                                                  "audio/wav")})
                    answer.raise_for_status()
                    with lock:
                        latencies.append(time.perf_counter() - began)

        try:
            threads = [threading.Thread(target=client) for _ in range(clients)]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            seconds = time.perf_counter() - start
        finally:
            process.terminate()
            process.wait(30)
    return {"requests": requests, "clients": clients, "requests_per_s": requests / seconds,
            "in_process_per_s": reference, "p50_ms": 1000 * float(np.percentile(latencies, 50)),
            "p99_ms": 1000 * float(np.percentile(latencies, 99)), "clip_seconds": 5.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", nargs="+", default=["digits", "sentences"], choices=list(CORPORA))
    parser.add_argument("--minutes", nargs="+", type=float, default=[10.0, 20.0], help="Training minutes per corpus.")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--requests", type=int, default=100, help="Requests to the server (5-second clips).")
    parser.add_argument("--test-clips", type=int, default=500, help="The first N test clips are transcribed.")
    args = parser.parse_args()
    results, rows = {}, []
    for corpus, minutes in zip(args.corpora, args.minutes):
        torch.set_num_threads(args.threads)
        step, train, val, test, raw_test = prepared(corpus, args.test_clips)
        print(f"{corpus}: {len(train):,} training clips ({step.seconds_ / 3600:.2f} h), {len(val)} validation, "
              f"{len(test)} test; {args.threads} threads, {minutes:g} minutes", flush=True)
        model, run = train_model(corpus, minutes, train, val, len(step.alphabet))
        model.eval()
        greedy, beam = score(model, step, test, raw_test, 1), score(model, step, test, raw_test, 8)
        in_words = score(model, step, test, raw_test, 8, words=True)
        baseline = pocketsphinx(raw_test, digits=corpus == "digits")
        empty = error_rates(list(raw_test.y), [""] * len(raw_test.y))
        results[corpus] = {"minutes": minutes, "train": {k: v for k, v in run.items() if k != "curve"},
                           "curve": run["curve"], "neuronet_greedy": greedy, "neuronet_beam8": beam,
                           "neuronet_beam8_words": in_words, "training_words": len(step.words_),
                           "pocketsphinx": baseline, "empty": empty, "test_clips": len(test),
                           "model": MODEL[corpus], "precision": PRECISION[corpus]}
        systems = (("neuronet greedy", greedy), ("neuronet beam 8", beam),
                   (f"neuronet beam 8, training words ({len(step.words_):,})", in_words),
                   ("pocketsphinx" + (" (digit grammar)" if corpus == "digits" else ""), baseline),
                   ("empty transcript", {**empty, "rtf": 0.0}))
        for name, r in systems:
            rows.append([corpus, name, f"{r['wer']:.4f}", f"{r['cer']:.4f}", f"{r['rtf']:.4f}"])
        print_table(f"{corpus}: held-out voices, {len(test)} test clips", ["corpus", "system", "WER", "CER", "RTF"],
                    rows[-len(systems):])
        for said, heard in greedy["examples"]:
            print(f"  said {said!r}\n  heard {heard!r}")
        if corpus == "sentences" or len(args.corpora) == 1:
            real = real_speech(model, step)  # {} without pocketsphinx-testdata
            results["real_speech"] = {**real, "model_from": corpus} if real else {}
    print_table("all corpora", ["corpus", "system", "WER", "CER", "RTF"], rows)
    results["served"] = served(raw_test, args.requests, 4)
    r = results["served"]
    print_table("served: 5-second WAV uploads to POST /predict/file (torch, 1 worker, 1 thread, 4 clients)",
                ["requests/s", "p50 ms", "p99 ms", "in-process clips/s (reference)", "ratio"],
                [[f"{r['requests_per_s']:.2f}", f"{r['p50_ms']:.0f}", f"{r['p99_ms']:.0f}", f"{r['in_process_per_s']:.2f}",
                  f"{r['requests_per_s'] / r['in_process_per_s']:.2f}x"]])
    if results.get("real_speech"):
        r = results["real_speech"]
        print_table(f"real speech: pocketsphinx-testdata, {r['clips']} clips, {r['seconds']} s (neuronet trained on "
                    f"{r['model_from']})", ["system", "WER", "CER"],
                    [[name, f"{r[name]['wer']:.3f}", f"{r[name]['cer']:.3f}"] for name in ("neuronet", "pocketsphinx")])
    write_json("speech" if len(args.corpora) > 1 else f"speech_{args.corpora[0]}", results)


if __name__ == "__main__":
    sys.exit(main())
