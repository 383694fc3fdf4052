"""Recordings with transcripts in their three layouts (LJSpeech, a path/text table, name.wav beside name.txt), and
what a received folder must not make neuronet read."""

from pathlib import Path

import pytest

from neuronet.datasets.transcribed import transcribed_clips
from neuronet.errors import DataError


def _wav(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF")  # only which file says what is read here
    return path


def test_ljspeech_layout(tmp_path):
    for clip in ("LJ001", "LJ002"):
        _wav(tmp_path / "wavs" / f"{clip}.wav")
    (tmp_path / "metadata.csv").write_text("LJ001|Printing, in 1450.|printing in fourteen fifty\nLJ002|Hello\n"
                                           "LJ404|no clip\n\n")
    found = transcribed_clips(tmp_path)
    assert found.layout == "ljspeech" and found.texts == ["Printing, in 1450.", "Hello"]
    assert [p.name for p in found.paths] == ["LJ001.wav", "LJ002.wav"]
    assert found.notes == ["1 clip(s) of metadata.csv have no WAV file and were left out (e.g. 'LJ404')"]


def test_a_table_of_paths_and_texts(tmp_path):
    _wav(tmp_path / "clips" / "a.wav")
    _wav(tmp_path / "b.wav")
    (tmp_path / "transcripts.tsv").write_text("path\ttext\nclips/a.wav\tfour one\nb.wav\t seven \nc.wav\tgone\n")
    found = transcribed_clips(tmp_path)
    assert found.layout == "table" and found.texts == ["four one", "seven"] and len(found.notes) == 1


def test_wav_files_beside_their_text_files(tmp_path):
    _wav(tmp_path / "x" / "one.wav")
    (tmp_path / "x" / "one.txt").write_text("first\nline\n")
    _wav(tmp_path / "two.wav")
    _wav(tmp_path / "three.wav")
    (tmp_path / "three.txt").write_text("   ")
    found = transcribed_clips(tmp_path)
    assert found.layout == "wav+txt" and found.texts == ["first line"]
    assert found.notes == ["1 WAV file(s) without a .txt transcript beside them were left out",
                           "1 clip(s) with an empty transcript were left out"]


@pytest.mark.parametrize("layout", ["metadata", "table"])
def test_a_path_leading_outside_the_folder_is_refused(tmp_path, layout):
    secret = _wav(tmp_path / "secret.wav")
    root = tmp_path / "received"
    root.mkdir()
    if layout == "metadata":
        (root / "metadata.csv").write_text("../secret|stolen\n")
    else:
        (root / "data.csv").write_text(f"path,text\n{secret},stolen\n")
    with pytest.raises(DataError, match="outside"):
        transcribed_clips(root)


def test_a_link_out_of_the_folder_is_refused(tmp_path):
    secret = _wav(tmp_path / "secret.wav")
    root = tmp_path / "received"
    root.mkdir()
    (root / "clip.wav").symlink_to(secret)
    (root / "clip.txt").write_text("stolen")
    with pytest.raises(DataError, match="outside"):
        transcribed_clips(root)


@pytest.mark.parametrize("make, fragment", [
    (lambda root: (root / "metadata.csv").write_text("no bar here\n"), "Line 1 of .*has no '\\|'"),
    (lambda root: (root / "data.csv").write_text("file,words\na.wav,hi\n"), "no 'path' or 'text' column"),
    (lambda root: _wav(root / "lonely.wav"), "holds no recording with a transcript"),
    (lambda root: None, "holds no recording with a transcript"),
])
def test_a_folder_that_fits_no_layout_is_one_sentence(tmp_path, make, fragment):
    make(tmp_path)
    with pytest.raises(DataError, match=fragment):
        transcribed_clips(tmp_path)


def test_no_folder_is_one_sentence(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        transcribed_clips(tmp_path / "nowhere")
