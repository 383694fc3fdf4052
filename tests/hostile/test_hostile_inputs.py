"""Hostile and broken data files meet one sentence: `neuronet train / predict / evaluate` on what users really hold.

Every refusal is exit code 1 and one `Error:` sentence that names the file and what is wrong
with it (and what would be right); nothing is written where a command is refused. Files that
are odd but readable (UTF-16, Latin-1, duplicate column names, macOS '._' companions) are
read. Nothing blocks: a FIFO is refused by `os.stat` before anything opens it (a writer
thread unblocks a reader after 20 s, so a regression fails instead of hanging the suite).
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import tempfile
import threading
import wave
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from hostile.hostile_helpers import NEURONET, assert_refused, cli, snapshot
from neuronet.datasets import load, read_inputs, read_table
from neuronet.errors import DataError, DataNote

pytestmark = pytest.mark.hostile("inputs")

# --- files as users hold them ----------------------------------------------------------------


def _table(rows: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=rows).round(3), "b": rng.normal(size=rows).round(3),
                          "c": rng.choice(["x", "y"], rows)})
    frame["target"] = np.where(frame.a + frame.b > 0, "yes", "no")
    return frame


def _write_wav(path: Path, samples: np.ndarray | bytes, rate: int = 8000, width: int = 2, channels: int = 1) -> Path:
    data = samples if isinstance(samples, bytes) else (np.asarray(samples) * 3000).astype("<i2").tobytes()
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(data)
    return path


def _patched_wav(path: Path, **fields: int) -> Path:
    """A valid 16-bit WAV whose header fields (format, channels, rate, bits, frames) are then overwritten."""
    raw = bytearray(_write_wav(path, np.zeros(800)).read_bytes())
    offsets = {"format": (20, "<H"), "channels": (22, "<H"), "rate": (24, "<I"), "bits": (34, "<H")}
    for name, value in fields.items():
        if name == "frames":  # the data chunk claims `value` frames and holds none
            raw = raw[:44]
            struct.pack_into("<I", raw, 40, value * 2)
            struct.pack_into("<I", raw, 4, 36 + value * 2 & 0xFFFFFFFF)
        else:
            offset, layout = offsets[name]
            struct.pack_into(layout, raw, offset, value)
    path.write_bytes(bytes(raw))
    return path


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height pixels and holds one tiny compressed row: a decompression bomb's header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def _encoded(fmt: str, size: tuple[int, int] = (48, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray((np.random.default_rng(0).random((*size[::-1], 3)) * 255).astype(np.uint8)).save(buffer, fmt)
    return buffer.getvalue()


def _image_folder(root: Path, classes: tuple[str, ...] = ("cat", "dog"), n: int = 4) -> Path:
    for name in classes:
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.fromarray(np.full((8, 8), 30 * i % 256, np.uint8)).save(root / name / f"{i}.png")
    return root


def _audio_folder(root: Path, n: int = 6) -> Path:
    rng = np.random.default_rng(0)
    for name, tone in (("high", 1200.0), ("low", 300.0)):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            t = np.arange(4000) / 8000
            _write_wav(root / name / f"{i}.wav", np.sin(2 * np.pi * tone * t) + 0.1 * rng.normal(size=t.size))
    return root


@contextmanager
def unblocked(fifo: Path, after: float = 20.0) -> Iterator[None]:
    """If a regression opens the FIFO to read, a writer opens and closes it after `after` s: the test fails, not hangs."""
    done = threading.Event()

    def release() -> None:
        if not done.wait(after):
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # no reader: nothing to release
                pass

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _sets(*pairs: str) -> list[str]:
    return [a for pair in pairs for a in ("--set", pair)]


# --- the runs that predict / evaluate meet the files -------------------------------------------


@pytest.fixture(scope="module")
def table_run(tmp_path_factory) -> Path:
    """A tiny MLP on a clean three-column table (a, b numeric; c categorical)."""
    folder = tmp_path_factory.mktemp("table-data")
    _table().to_csv(folder / "t.csv", index=False)
    out = tmp_path_factory.mktemp("table-run")
    ran = cli("train", *_sets(f"data.source={folder / 't.csv'}", "data.target=target", "model.type=mlp",
                              "model.hidden=[8]", "train.epochs=1"), "--output-dir", out, "--name", "table", "-q")
    assert ran.exit_code == 0, ran.output
    return out / "table"


@pytest.fixture(scope="module")
def audio_run(tmp_path_factory) -> Path:
    """A tiny CNN on a folder of 16-bit WAV files at 8 kHz (two tones)."""
    source = _audio_folder(tmp_path_factory.mktemp("audio-data"))
    out = tmp_path_factory.mktemp("audio-run")
    ran = cli("train", *_sets(f"data.source={source}", "model.type=cnn", "model.channels=[4]", "model.hidden=8",
                              "train.epochs=1"), "--output-dir", out, "--name", "audio", "-q")
    assert ran.exit_code == 0, ran.output
    return out / "audio"


def _train(tmp_path: Path, source: Path | str, *overrides: str):
    """`neuronet train` on `source`; returns what it did and the output folder (which must stay empty when refused)."""
    out = tmp_path / "runs"
    return cli("train", *_sets(f"data.source={source}", "train.epochs=1", *overrides), "--output-dir", out, "-q"), out


def _nothing_written(out: Path) -> None:
    assert not out.exists() or not any(out.iterdir()), sorted(map(str, out.rglob("*")))


TABLE = ("data.target=target", "model.type=mlp")

# --- training on a table that is not one ------------------------------------------------------


def _fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "pipe.csv")
    return tmp / "pipe.csv"


def _zero(tmp: Path) -> Path:
    (tmp / "zero.csv").symlink_to("/dev/zero")
    return tmp / "zero.csv"


def _write(name: str, content: bytes | str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return path

    return make


def _frame(name: str, frame: pd.DataFrame, **options) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / name
        frame.to_parquet(path, **options) if name.endswith(".parquet") else frame.to_csv(path, index=False)
        return path

    return make


def _folder_named(name: str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        (tmp / name).mkdir()
        return tmp / name

    return make


def _dangling(tmp: Path) -> Path:
    (tmp / "gone.csv").symlink_to(tmp / "never-there.csv")
    return tmp / "gone.csv"


def _loop(tmp: Path) -> Path:
    (tmp / "one.csv").symlink_to(tmp / "two.csv")
    (tmp / "two.csv").symlink_to(tmp / "one.csv")
    return tmp / "one.csv"


_RANDOM = np.random.default_rng(7).integers(0, 256, 4000, dtype=np.uint8).tobytes()
_CLEAN = _table().to_csv(index=False)

TRAIN_TABLE_CASES = {
    "symlink-to-dev-zero": (_zero, ("not a regular file", "character device", "/dev/zero")),
    "fifo": (_fifo, ("not a regular file", "FIFO", ".csv")),
    "empty-file": (_write("empty.csv", b""), ("is empty", "header row")),
    "random-binary-bytes": (_write("noise.csv", _RANDOM), ("NUL bytes", "UTF-8 CSV")),
    "nul-bytes-in-text": (_write("nul.csv", _CLEAN[:40] + "\x00" + _CLEAN[40:]), ("NUL bytes", "byte 40")),
    "excel-workbook-named-csv": (_write("book.csv", b"PK\x03\x04" + _RANDOM), ("zip archive", "Excel")),
    "only-the-target-column": (_write("one.csv", "target\n" + "yes\nno\n" * 20), ("no feature columns", "'target'")),
    "only-a-header": (_write("header.csv", "a,b,target\n"), ("no data rows",)),
    "100000-columns": (_write("wide.csv", ",".join(f"c{i}" for i in range(100_000)) + ",target\n"
                              + "1," * 100_000 + "yes\n"), ("100,001 columns", "at most 10,000")),
    "10-MB-single-line-of-commas": (_write("line.csv", "1," * 5_000_000), ("columns", "at most 10,000")),
    "10-MB-single-line-of-text": (_write("text.csv", "a" * 10_000_000), ("no data rows",)),
    "ragged-rows": (_write("ragged.csv", "a,b,target\n1,2,yes\n3,4,no,5,6\n"), ("cannot read", "fields")),
    "rows-with-two-fields-too-many": (_write("shifted.csv", "a,b,target\n" + "r,1,2,3,yes\n" * 20),
                                      ("2 fields more than its header",)),
    "one-class-target": (_frame("same.csv", _table().assign(target="yes")), ("single value", "'yes'", "nothing to learn")),
    "infinite-regression-target": (_write("inf.csv", "a,b,target\n" + "".join(f"{i},{i % 3},{i * 1.5}\n" for i in range(30))
                                          + "7,1,1e400\n"), ("infinite", "data row 31", "'target'")),
    "corrupt-parquet": (_write("broken.parquet", b"PAR1" + _RANDOM + b"PAR1"), ("damaged", "to_parquet")),
    "text-named-parquet": (_write("table.parquet", _CLEAN), ("not a Parquet file", "name it .csv")),
    "parquet-with-list-cells": (_frame("nested.parquet", _table().assign(a=[[1, 2]] * 60)), ("'a'", "lists")),
    "folder-named-csv": (_folder_named("folder.csv"), ("is a folder", "table file")),
    "dangling-symlink": (_dangling, ("symbolic link", "never-there.csv", "does not exist")),
    "symlink-loop": (_loop, ("loop of symbolic links",)),
}


@pytest.mark.parametrize("case", list(TRAIN_TABLE_CASES))
def test_training_on_a_broken_table_is_one_sentence_and_writes_nothing(tmp_path, case):
    make, fragments = TRAIN_TABLE_CASES[case]
    source = make(tmp_path)
    with unblocked(source) if case == "fifo" else _nothing():
        ran, out = _train(tmp_path, source, *TABLE)
    message = assert_refused(ran, *fragments)
    assert source.name in message or "single value" in message  # the file is named
    _nothing_written(out)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def test_a_file_name_of_5000_characters_is_one_short_sentence(tmp_path):
    ran, out = _train(tmp_path, tmp_path / ("x" * 5000 + ".csv"), *TABLE)
    message = assert_refused(ran, "too long", "5,0")
    assert len(message) < 400
    _nothing_written(out)


def test_a_source_that_is_a_file_where_a_folder_is_expected_is_named(tmp_path):
    photo = tmp_path / "photo.png"
    photo.write_bytes(_encoded("PNG"))
    ran, out = _train(tmp_path, photo)
    assert_refused(ran, "photo.png", "folder of images")
    _nothing_written(out)


@pytest.mark.parametrize("target", [None, "target"])
def test_a_folder_of_tables_is_not_taken_for_images(tmp_path, target):
    folder = tmp_path / "mydata"  # it said "data.target does not apply to image folder source"
    folder.mkdir()
    for name in ("january.csv", "february.csv"):
        _table().to_csv(folder / name, index=False)
    ran, out = _train(tmp_path, folder, *([f"data.target={target}"] if target else []))
    assert_refused(ran, "folder of 2 table file(s) and no images", "february.csv")
    _nothing_written(out)


# --- odd but readable tables: read, and what was done is said ----------------------------------


def test_utf16_with_a_byte_order_mark_and_latin1_tables_are_read(tmp_path):
    frame = _table().assign(c=["café", "naïve"] * 30)
    utf16, latin1 = tmp_path / "utf16.csv", tmp_path / "latin1.csv"
    frame.to_csv(utf16, index=False, encoding="utf-16")
    frame.to_csv(latin1, index=False, encoding="latin-1")
    assert load(str(utf16), target="target").x["c"].tolist() == frame["c"].tolist()
    with pytest.warns(DataNote, match="not valid UTF-8"):
        data = load(str(latin1), target="target")
    assert data.x["c"].tolist() == frame["c"].tolist()  # read as Windows-1252: 'é' stays 'é'


def test_semicolon_tables_with_decimal_commas_and_r_row_names_are_read(tmp_path):
    semicolons = tmp_path / "excel-de.csv"  # decimal commas in some rows only: the header decides the separator
    semicolons.write_text("a;b;target\n" + "".join(f"{i},5;{i};{'xy'[i % 2]}\n" if i % 3 else f"{i};{i};{'xy'[i % 2]}\n"
                                                   for i in range(30)))
    data = load(str(semicolons), target="target")
    assert data.x["a"].tolist()[:3] == [0.0, 1.5, 2.5]
    r_style = tmp_path / "write-csv.csv"  # R's write.csv: a row name first, with no header of its own
    r_style.write_text('"a","b","target"\n' + "".join(f'"{i + 1}",{i},{i % 3},"{"xy"[i % 2]}"\n' for i in range(30)))
    with pytest.warns(DataNote, match="row name"):
        assert load(str(r_style), target="target").feature_names == ["a", "b"]


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_carriage_returns_inside_fields_stay_text_and_cut_no_rows(tmp_path, line_end):
    # pandas' to_csv leaves a lone \r in a field unquoted (tweets and e-mails hold them): read at line feeds only,
    # such a file gave extra rows cut at each \r, or "Buffer overflow caught"
    frame = pd.DataFrame({"text": ["it's all\rcomplicated", 'a, "b"\r\nc', "plain"] * 20,
                          "target": ["x", "y", "z"] * 20, "score": [1.5, 2.0, None] * 20})
    path = tmp_path / "posts.csv"
    frame.to_csv(path, index=False, lineterminator=line_end)
    assert line_end == "\r\n" or b'"it' not in path.read_bytes()  # unquoted, as pandas writes it
    read = read_table(path)
    assert list(read.columns) == ["text", "target", "score"] and len(read) == 60
    assert read["text"].tolist() == frame["text"].tolist() and read["target"].tolist() == frame["target"].tolist()
    assert read["score"].dtype == float and read["score"].isna().sum() == 20  # the last column keeps its type


def test_a_number_column_given_as_the_text_is_said(tmp_path):
    csv = tmp_path / "posts.csv"  # data.text=confidence: it trained on the numbers as words without a word
    pd.DataFrame({"text": ["good", "bad"] * 20, "confidence": np.linspace(0, 1, 40), "label": ["p", "n"] * 20}).to_csv(
        csv, index=False)
    data = load(str(csv), target="label", text="confidence")
    assert any("column 'confidence' (data.text) holds numbers" in note for note in data.notes), data.notes
    assert not any("holds numbers" in note for note in load(str(csv), target="label", text="text").notes)


def test_a_column_name_given_twice_is_said(tmp_path):
    csv = tmp_path / "wine.csv"  # pandas reads the second as 'alcohol.1', a feature the user never named
    csv.write_text("alcohol,alcohol,hue,target\n" + "".join(f"{i},{i + 1},{i % 3},{'xy'[i % 2]}\n" for i in range(30)))
    with pytest.warns(DataNote, match="more than once.*'alcohol'.*'alcohol.1'"):
        data = load(str(csv), target="target")
    assert data.feature_names == ["alcohol", "alcohol.1", "hue"]


def test_a_feature_too_large_for_float32_is_refused_before_it_overflows(tmp_path):
    source = tmp_path / "huge.csv"
    source.write_text("a,b,target\n" + "".join(f"{i},{i % 3},{'xy'[i % 2]}\n" for i in range(40)) + "1e300,1,x\n")
    ran, out = _train(tmp_path, source, *TABLE)
    assert_refused(ran, "'a'", "1e+300", "beyond")
    _nothing_written(out)


def test_duplicate_and_control_character_column_names_are_made_plain_and_unique(tmp_path):
    csv = tmp_path / "dup.csv"
    csv.write_text('a,a,"b\nc",target\n' + "".join(f"{i},{i + 1},{i % 3},{'xy'[i % 2]}\n" for i in range(30)))
    with pytest.warns(DataNote, match="control characters"):
        data = load(str(csv), target="target")
    assert data.feature_names == ["a", "a.1", "b c"]
    parquet = tmp_path / "dup.parquet"
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table([pa.array(range(20)), pa.array(range(20)), pa.array(["x", "y"] * 10)],
                            names=["a", "a", "target"]), parquet)
    assert load(str(parquet), target="target").feature_names == ["a", "a.1"]


# --- predicting and evaluating a table run on what is not a table -----------------------------


class _Payload:
    """Unpickling this runs a command: a .npy of it must never be loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _npy(name: str, array: np.ndarray) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        np.save(tmp / name, array)
        return tmp / name

    return make


def _truncated_npy(tmp: Path) -> Path:
    np.save(tmp / "cut.npy", np.zeros((1000, 3)))
    raw = (tmp / "cut.npy").read_bytes()
    (tmp / "cut.npy").write_bytes(raw[:len(raw) // 2])
    return tmp / "cut.npy"


PREDICT_TABLE_CASES = {
    "npy-wrong-shape": (_npy("wide.npy", np.zeros((4, 7))), ("shape (4, 7)", "rows of 3 values")),
    "npy-3d": (_npy("cube.npy", np.zeros((2, 3, 4))), ("shape (2, 3, 4)",)),
    "npy-of-strings": (_npy("words.npy", np.array([["a", "b", "c"]])), ("not numbers", "numpy.save")),
    "npy-that-is-not-npy": (_write("fake.npy", b"\x80\x04garbage"), ("not a .npy array",)),
    "npy-truncated": (_truncated_npy, ("truncated", "(1000, 3)")),
    "csv-of-binary": (_write("noise.csv", _RANDOM), ("NUL bytes",)),
    "csv-empty": (_write("empty.csv", b""), ("is empty",)),
    "csv-only-header": (_write("header.csv", "a,b,c\n"), ("no data rows",)),
    "csv-lacking-columns": (_write("other.csv", "x,y\n1,2\n"), ("lacks 3 column(s)", "a, b, c")),
    "csv-symlink-to-dev-zero": (_zero, ("not a regular file", "/dev/zero")),
    "csv-fifo": (_fifo, ("not a regular file", "FIFO")),
    "a-folder": (_folder_named("batch"), ("is a folder", "table file")),
}


@pytest.mark.parametrize("case", list(PREDICT_TABLE_CASES))
def test_predicting_a_table_run_on_a_broken_input_is_one_sentence(table_run, tmp_path, case):
    make, fragments = PREDICT_TABLE_CASES[case]
    source, before = make(tmp_path), snapshot(table_run)
    with unblocked(source) if case == "csv-fifo" else _nothing():
        ran = cli("predict", table_run, source, "-o", tmp_path / "out.csv")
    assert source.name in assert_refused(ran, *fragments)
    assert not (tmp_path / "out.csv").exists() and snapshot(table_run) == before


def test_a_pickled_npy_is_refused_from_its_header_and_never_unpickled(table_run, tmp_path):
    marker = tmp_path / "PWNED"
    np.save(tmp_path / "evil.npy", np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    assert_refused(cli("predict", table_run, tmp_path / "evil.npy"), "evil.npy", "pickle", "never loads")
    assert not marker.exists()


@pytest.mark.parametrize("case", ["binary", "folder", "dev-zero", "fifo"])
def test_evaluating_a_table_run_on_a_broken_file_is_one_sentence(table_run, tmp_path, case):
    source = {"binary": _write("noise.csv", _RANDOM), "folder": _folder_named("labelled.csv"), "dev-zero": _zero,
              "fifo": _fifo}[case](tmp_path)
    with unblocked(source) if case == "fifo" else _nothing():
        ran = cli("evaluate", table_run, "--data", source)
    assert_refused(ran, source.name, {"binary": "NUL bytes", "folder": "is a folder", "dev-zero": "character device",
                                      "fifo": "FIFO"}[case])


def test_a_file_name_with_a_line_break_stays_one_line(table_run, tmp_path):
    source = tmp_path / "new\nline.csv"
    source.write_bytes(_RANDOM)
    assert_refused(cli("predict", table_run, source), "new\\nline.csv", "NUL bytes")


# --- images ------------------------------------------------------------------------------------


def _halved(raw: bytes) -> bytes:
    return raw[:len(raw) // 2]


def _image(name: str, content: bytes | Callable[[], bytes]) -> Callable[[Path], Path]:
    return _write(name, content if isinstance(content, bytes) else content())


PREDICT_IMAGE_CASES = {
    "zero-byte-png": (_image("empty.png", b""), ("is empty (0 bytes)",)),
    "png-that-is-text": (_image("note.png", b"this is not a picture\n"), ("not an image", "PNG / JPEG")),
    "truncated-png": (_image("cut.png", lambda: _halved(_encoded("PNG"))), ("truncated or damaged",)),
    "truncated-jpeg": (_image("cut.jpg", lambda: _halved(_encoded("JPEG"))), ("truncated or damaged",)),
    "20000x20000-png": (_image("big.png", _png_header(20_000, 20_000)), ("too large", "400,000,000", "89,478,485")),
    "10000x10000-png": (_image("large.png", _png_header(10_000, 10_000)), ("too large", "10,000 x 10,000")),
    "png-symlink-to-dev-zero": (lambda tmp: (tmp / "z.png").symlink_to("/dev/zero") or tmp / "z.png",
                                ("not a regular file", "character device")),
    "folder-without-images": (_folder_named("album"), ("has no images",)),
    "npy-with-2-channels": (_npy("two.npy", np.zeros((2, 8, 8, 2), np.float32)), ("1, 3 or 4 channels",)),
    "npy-pickle": (_npy("objects.npy", np.array([{"a": 1}], dtype=object)), ("pickle",)),
}


@pytest.mark.parametrize("case", list(PREDICT_IMAGE_CASES))
def test_predicting_an_image_run_on_a_broken_image_is_one_sentence(tiny_run, tmp_path, case):
    make, fragments = PREDICT_IMAGE_CASES[case]
    source = make(tmp_path)
    assert source.name in assert_refused(cli("predict", tiny_run, source, "-o", tmp_path / "p.csv"), *fragments)
    assert not (tmp_path / "p.csv").exists()


def test_evaluating_on_one_image_file_asks_for_class_folders(tiny_run, tmp_path):
    (tmp_path / "one.png").write_bytes(_encoded("PNG"))
    message = assert_refused(cli("evaluate", tiny_run, "--data", tmp_path / "one.png"), "one.png", "class sub-folders")
    assert "PosixPath" not in message


def _folder_case(name: str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        root = tmp / "pictures"
        if name == "no-class-folders":
            root.mkdir()
            Image.new("L", (8, 8)).save(root / "loose.png")
        elif name == "empty-class-folder":
            _image_folder(root)
            (root / "bird").mkdir()
        elif name == "one-class":
            _image_folder(root, ("cat",), n=8)
        elif name == "fifo-named-png":
            _image_folder(root)
            os.mkfifo(root / "dog" / "stream.png")
        elif name == "folder-named-png":
            _image_folder(root)
            (root / "dog" / "album.png").mkdir()
        elif name == "a-file-that-is-text":
            _image_folder(root)
            (root / "cat" / "notes.png").write_text("not an image")
        return root

    return make


IMAGE_FOLDER_CASES = {
    "no-class-folders": ("pictures", "no class sub-folders"),
    "empty-class-folder": ("bird", "has no images"),
    "one-class": ("pictures", "single value"),
    "fifo-named-png": ("stream.png", "not a regular file (a FIFO)"),
    "folder-named-png": ("album.png", "is a folder"),
    "a-file-that-is-text": ("notes.png", "not an image"),
}


@pytest.mark.parametrize("case", list(IMAGE_FOLDER_CASES))
def test_training_on_a_broken_image_folder_is_one_sentence(tmp_path, case):
    root = _folder_case(case)(tmp_path)
    fifo = root / "dog" / "stream.png"
    with unblocked(fifo) if case == "fifo-named-png" else _nothing():
        ran, out = _train(tmp_path, root, "model.type=cnn", "model.channels=[4]", "model.hidden=8")
    assert_refused(ran, *IMAGE_FOLDER_CASES[case])
    _nothing_written(out)


def test_hidden_files_in_an_image_folder_are_not_read(tmp_path):
    root = _image_folder(tmp_path / "pictures")
    (root / "cat" / "._0.png").write_bytes(b"\x00\x05\x16\x07Mac OS X resource fork")  # what macOS leaves on USB disks
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    assert len(load(str(root))) == 8


def test_an_unreadable_class_folder_is_one_sentence(tmp_path):
    """chmod 000 stops everyone but root: as root, the command runs as `nobody` (skipped where it cannot)."""
    world = Path(tempfile.mkdtemp(prefix="neuronet-hostile-"))
    try:
        world.chmod(0o755)
        root = _image_folder(world / "pictures")
        (root / "dog").chmod(0o000)
        args = ["train", "--set", f"data.source={root}", "--set", "model.type=cnn", "--output-dir", world / "runs", "-q"]
        if os.geteuid() != 0:
            ran = cli(*args)
        else:
            try:
                done = subprocess.run([str(NEURONET), *map(str, args)], capture_output=True, text=True, timeout=300,
                                      user="nobody", env={**os.environ, "HOME": str(world), "OMP_NUM_THREADS": "1"})
            except (OSError, subprocess.SubprocessError) as err:
                pytest.skip(f"root is not stopped by chmod 000, and the command cannot run as nobody here ({err})")
            if "Permission denied" in done.stderr and "neuronet" not in done.stderr.lower():
                pytest.skip("nobody cannot run this checkout's Python")
            from hostile.hostile_helpers import Ran

            ran = Ran(done.returncode, done.stdout, done.stderr)
        assert_refused(ran, "dog", "cannot be listed", "permission denied")
        assert not (world / "runs").exists()
    finally:
        (world / "pictures" / "dog").chmod(0o755)
        shutil.rmtree(world)


def test_an_unlistable_class_folder_is_one_sentence_where_root_cannot_meet_one(tmp_path, monkeypatch):
    """The same refusal as above, with the listing failing as it does for a user (root is never refused one)."""
    import errno

    from neuronet.datasets import userfiles

    root = _image_folder(tmp_path / "pictures")
    listdir = os.listdir

    def refusing(path):
        if Path(path).name == "dog":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return listdir(path)

    monkeypatch.setattr(userfiles.os, "listdir", refusing)
    ran, out = _train(tmp_path, root, "model.type=cnn")
    assert_refused(ran, "dog", "cannot be listed", "permission denied")
    _nothing_written(out)


# --- audio -------------------------------------------------------------------------------------


WAV_CASES = {
    "header-claims-a-billion-frames": ({"frames": 1_000_000_000}, ("truncated", "1,000,000,000 frames")),
    "zero-channels": ({"channels": 0}, ("0 channels",)),
    "sample-rate-0": ({"rate": 0}, ("0 Hz", "damaged")),
    "32-bit-float": ({"format": 3, "bits": 32}, ("floating-point", "16-bit PCM")),
    "compressed-adpcm": ({"format": 2}, ("compressed",)),
}


@pytest.mark.parametrize("case", list(WAV_CASES))
def test_predicting_an_audio_run_on_a_broken_wav_is_one_sentence(audio_run, tmp_path, case):
    fields, fragments = WAV_CASES[case]
    source = _patched_wav(tmp_path / f"{case}.wav", **fields)
    assert source.name in assert_refused(cli("predict", audio_run, source, "-o", tmp_path / "p.csv"), *fragments)
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize("case", ["8-bit", "24-bit", "no-frames", "zero-bytes", "text", "folder-without-wavs"])
def test_other_wavs_an_audio_run_cannot_hear_are_one_sentence(audio_run, tmp_path, case):
    source = tmp_path / f"{case}.wav"
    if case == "8-bit":
        _write_wav(source, bytes(800), width=1)
    elif case == "24-bit":
        _write_wav(source, bytes(2400), width=3)
    elif case == "no-frames":
        _write_wav(source, b"")
    elif case == "zero-bytes":
        source.write_bytes(b"")
    elif case == "text":
        source.write_text("RIFF? no, a shopping list")
    else:
        source = tmp_path / "recordings"
        source.mkdir()
    fragment = {"8-bit": "8-bit samples", "24-bit": "24-bit samples", "no-frames": "no samples",
                "zero-bytes": "is empty", "text": "not a WAV file", "folder-without-wavs": "no .wav files"}[case]
    assert_refused(cli("predict", audio_run, source), source.name, fragment)


def test_a_lying_wav_in_a_training_folder_is_refused_before_a_run_starts(tmp_path):
    root = _audio_folder(tmp_path / "sounds", n=3)
    _patched_wav(root / "low" / "liar.wav", frames=1_000_000_000)
    ran, out = _train(tmp_path, root, "model.type=cnn")
    assert_refused(ran, "liar.wav", "truncated", "header says 1,000,000,000 frames")
    _nothing_written(out)


# --- texts to predict ----------------------------------------------------------------------------

TEXT_META = {"inputs": {"kind": "text", "column": "text", "target": "label"}, "task": "classification",
             "name": "notes", "class_names": ["neg", "pos"]}


def test_a_txt_file_is_read_as_text_or_refused_in_one_sentence(tmp_path):
    """Through `read_inputs` (what `neuronet predict` calls for a text run): binary and devices refused, UTF-16 read."""
    (tmp_path / "u16.txt").write_bytes("good morning\nbad night\n".encode("utf-16"))
    assert read_inputs(str(tmp_path / "u16.txt"), TEXT_META).x == ["good morning", "bad night"]
    long_text = "a long review, " * 40  # longer than a file name can be: a text, not a path to look up
    assert read_inputs(long_text, TEXT_META).x == [long_text]
    (tmp_path / "noise.txt").write_bytes(_RANDOM)
    (tmp_path / "blank.txt").write_text("\n  \n")
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    for name, fragment in (("noise.txt", "binary"), ("blank.txt", "holds no text"), ("zero.txt", "not a regular file")):
        with pytest.raises(DataError, match=fragment) as caught:
            read_inputs(str(tmp_path / name), TEXT_META)
        assert name in str(caught.value) and "\n" not in str(caught.value)
