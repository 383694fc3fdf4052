"""Text to model: a corpus cut into passages, and the user's own .txt files as language-modelling data.

A language-modelling data set is raw text in rows (`Dataset(x=passages, y=None,
task="language_modeling")`): a passage is a piece of the corpus of at most `max_chars`
characters, cut at blank lines, so that a single book still gives many rows to split into
train / validation / test. The tokenizer and the windows a model reads are fitted later.
"""

from __future__ import annotations

from pathlib import Path

from neuronet.datasets.dataset import Dataset
from neuronet.datasets.text import read_text
from neuronet.datasets.userfiles import check_folder, folder_entries, is_folder, shown_path
from neuronet.errors import ConfigError, DataError

__all__ = ["MAX_TEXT_FILES", "corpus_dataset", "load_text_corpus", "paragraphs", "passages"]

MAX_TEXT_FILES = 10_000  # .txt files a folder source reads at most (a larger folder is refused, saying so)
_GIVE = "a .txt file of UTF-8 text (or a folder of them)"


def paragraphs(text: str) -> list[str]:
    """`text` cut after each run of blank lines: joined in order they give `text` back exactly.

    Example:
        >>> paragraphs("To be.\\n\\nOr not.\\nThat is.\\n")
        ['To be.\\n\\n', 'Or not.\\nThat is.\\n']
    """
    lines = text.splitlines(keepends=True)
    out, current = [], []
    for i, line in enumerate(lines):
        current.append(line)
        blank = not line.strip()
        if blank and i + 1 < len(lines) and lines[i + 1].strip():
            out.append("".join(current))
            current = []
    if current:
        out.append("".join(current))
    return out


def _pack(pieces: list[str], max_chars: int) -> list[str]:
    """Consecutive pieces joined greedily into chunks of at most `max_chars` (a longer piece stays whole)."""
    out, current, size = [], [], 0
    for piece in pieces:
        if current and size + len(piece) > max_chars:
            out.append("".join(current))
            current, size = [], 0
        current.append(piece)
        size += len(piece)
    if current:
        out.append("".join(current))
    return out


def passages(text: str, max_chars: int = 4000) -> list[str]:
    """`text` cut into passages of at most `max_chars` characters, at blank lines where it can.

    Paragraphs (text up to and including a run of blank lines) are packed in order into
    passages; a paragraph longer than `max_chars` is cut at line ends, and a single line longer
    than `max_chars` is cut every `max_chars` characters. Joining the passages gives `text`
    back exactly; no passage is empty.

    Args:
        text: The corpus.
        max_chars: The longest passage, in characters (at least 1).

    Raises:
        ConfigError: `max_chars` is not a positive integer.

    Example:
        >>> passages("One.\\n\\nTwo.\\n\\nThree.\\n", max_chars=12)
        ['One.\\n\\nTwo.\\n\\n', 'Three.\\n']
        >>> "".join(passages("a" * 10, max_chars=4))
        'aaaaaaaaaa'
    """
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
        raise ConfigError(f"The 'max_chars' option of a text corpus must be an integer >= 1. Got {max_chars!r} instead.")
    pieces: list[str] = []
    for paragraph in paragraphs(text):
        if len(paragraph) <= max_chars:
            pieces.append(paragraph)
            continue
        for line in paragraph.splitlines(keepends=True):  # a long paragraph: its lines, long lines cut
            pieces.extend(line[i:i + max_chars] for i in range(0, len(line), max_chars))
    return _pack(pieces, max_chars)


def corpus_dataset(texts: list[str], name: str, notes: list[str] | None = None, max_chars: int = 4000) -> Dataset:
    """Raw language-modelling data: each text cut into `passages`, in order (no passage spans two texts).

    Example:
        >>> data = corpus_dataset(["Hello.\\n\\nWorld.\\n", "Bye.\\n"], "demo", max_chars=8)
        >>> data.x, data.task
        (['Hello.\\n\\n', 'World.\\n', 'Bye.\\n'], 'language_modeling')
    """
    rows = [p for text in texts for p in passages(text, max_chars)]
    return Dataset(rows, None, "language_modeling", name, inputs={"kind": "text"}, notes=list(notes or []))


def _text_files(folder: Path) -> list[Path]:
    """The .txt files in `folder` and its sub-folders, sorted by their path inside it (hidden ones skipped)."""
    found, stack = [], [folder]
    while stack:
        for entry in folder_entries(stack.pop(), "Text folder"):
            if is_folder(entry):
                stack.append(entry)
            elif entry.suffix.lower() == ".txt":
                found.append(entry)
                if len(found) > MAX_TEXT_FILES:
                    raise DataError(f"Text folder {shown_path(folder)} holds more than {MAX_TEXT_FILES:,} .txt files; "
                                    "join them into fewer files, or give a folder of at most that many.")
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


def load_text_corpus(path: str | Path, max_chars: int = 4000) -> Dataset:
    """A .txt file, or a folder of .txt files (read in name order), as language-modelling passages.

    Args:
        path: A .txt file, or a folder holding .txt files (sub-folders included).
        max_chars: The longest passage, in characters (see `passages`).

    Raises:
        DataError: a file that is empty, binary or not a regular file; a folder without .txt files
            or whose .txt files are all empty (each one sentence naming the file or folder).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "poem.txt"
        >>> _ = p.write_text("Roses.\\n\\nViolets.\\n")
        >>> load_text_corpus(p, max_chars=9).x
        ['Roses.\\n\\n', 'Violets.\\n']
    """
    path = Path(path)
    if is_folder(path):
        check_folder(path, "Text folder")
        files = _text_files(path)
        if not files:
            raise DataError(f"Text folder {shown_path(path)} holds no .txt files; put the text to learn from in "
                            "UTF-8 .txt files there, or give one .txt file as data.source.")
    else:
        files = [path]
    texts, empty = [], []
    for file in files:
        text = read_text(file, "Text file", _GIVE)
        (texts if text.strip() else empty).append(text if text.strip() else file)
    if not texts:
        where = f"Text file {shown_path(path)} is" if len(files) == 1 and files[0] == path else \
            f"Every .txt file in {shown_path(path)} ({len(files)}) is"
        raise DataError(f"{where} empty (or only blank lines); give UTF-8 text to learn from.")
    notes = [f"{len(empty)} empty .txt file(s) left out (e.g. {shown_path(empty[0])})"] if empty else []
    data = corpus_dataset(texts, path.stem or "corpus", notes, max_chars)
    size = sum(map(len, texts))
    data.notes.insert(0, f"{len(texts)} text file(s), {size:,} characters in {len(data):,} passages of at most "
                         f"{max_chars:,} characters (data.options.max_chars)")
    return data

