"""English → Spanish translation baselines, the bars a neural translator must clear: copy, word by word, Apertium.

- `copy_source`: the English sentence unchanged (shared names and numbers score a little).
- `WordByWord`: each word looked up in the FreeDict English-Spanish dictionary (Debian
  `dict-freedict-eng-spa`, dictd `.index` + `.dict.dz`), lower-cased, its first sense taken;
  unknown words copied, punctuation kept.
- `apertium`: the rule-based translator (Debian `apertium-eng-spa`), one sentence a line.

Run: python bench/translation_baselines.py  (scores each with sacrebleu's BLEU and chrF on the
first 500 test verses of verses_en_es: the test part of `split(val=0.1, test=0.1, seed=0)`).

Example:
    >>> copy_source(["In the beginning."])
    ['In the beginning.']
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["DICT_DIR", "WordByWord", "apertium", "copy_source", "score", "test_verses"]

DICT_DIR = Path("/usr/share/dictd")
_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")
_NO_SPACE_BEFORE = set(",.;:!?)]}”’»")
_NO_SPACE_AFTER = set("([{“‘«¿¡")


def copy_source(sources: Sequence[str]) -> list[str]:
    """The source sentences as their own translations (the lowest bar)."""
    return [str(s) for s in sources]


def _b64(text: str) -> int:
    """A dictd index number (base 64, most significant digit first)."""
    value = 0
    for ch in text:
        value = value * 64 + _B64[ch]
    return value


def detokenize(tokens: Sequence[str]) -> str:
    """Words and punctuation joined as text: no space before ',.;:!?' and closing quotes, none after opening ones.

    Example:
        >>> detokenize(["Dijo", ",", "“", "sea", "luz", "”", "."])
        'Dijo, “sea luz”.'
    """
    out = ""
    for token in tokens:
        if out and token not in _NO_SPACE_BEFORE and out[-1] not in _NO_SPACE_AFTER:
            out += " "
        out += token
    return out


class WordByWord:
    """Word-by-word translation with a dictd dictionary: lower-cased lookup, first sense, unknown words copied.

    Args:
        name: The dictionary's file name without suffix, in `folder`.
        folder: Where the `.index` and `.dict.dz` files are.

    Raises:
        FileNotFoundError: the dictionary is not installed (`sudo apt-get install dict-freedict-eng-spa`).

    Example:
        >>> WordByWord().translate(["God said, light."])  # doctest: +SKIP
        ['Dios decir, encender.']
    """

    def __init__(self, name: str = "freedict-eng-spa", folder: Path = DICT_DIR) -> None:
        index, data = folder / f"{name}.index", folder / f"{name}.dict.dz"
        if not index.is_file() or not data.is_file():
            raise FileNotFoundError(f"The dictionary {index} / {data.name} is not installed; install it with "
                                    "`sudo apt-get install dict-freedict-eng-spa`.")
        body = gzip.decompress(data.read_bytes())  # dictzip is gzip with a random-access table Python ignores
        best: dict[str, tuple[tuple[bool, int, int], str]] = {}
        for order, line in enumerate(index.read_text(encoding="utf-8").splitlines()):
            parts = line.split("\t")
            if len(parts) != 3 or parts[0].startswith("00database"):
                continue
            entry = body[_b64(parts[1]): _b64(parts[1]) + _b64(parts[2])].decode("utf-8", "replace")
            headline, _, senses = entry.partition("\n")
            headword, _, pronunciation = headline.partition(" /")
            sense = self._first_sense(senses)
            if not headword.strip() or not sense:
                continue
            # A multi-word entry ('the Netherlands') keeps only its first word in the index and the entry's head,
            # its pronunciation is the whole phrase's: the word itself is the entry with the shortest pronunciation,
            # a lower-case head ('the', not 'The' for 'The Hague') first, then the first listed.
            rank = (headword != headword.lower(), len(pronunciation), order)
            word = headword.strip().lower()
            if word not in best or rank < best[word][0]:
                best[word] = (rank, sense)
        self.words: dict[str, str] = {word: sense for word, (_, sense) in best.items()}

    @staticmethod
    def _first_sense(senses: str) -> str:
        """'1. a, dentro de\\n2. un' -> 'a'; 'Dios' -> 'Dios'."""
        first = next((line for line in senses.splitlines() if line.strip()), "")
        first = re.sub(r"^\s*\d+\.\s*", "", first)
        return first.split(",")[0].strip()

    def translate_one(self, sentence: str) -> str:
        """One sentence, word by word (a capitalised source word gives a capitalised translation)."""
        out = []
        for token in _TOKEN.findall(sentence):
            found = self.words.get(token.lower())
            if found is None:
                out.append(token)
            else:
                out.append(found[:1].upper() + found[1:] if token[:1].isupper() else found)
        return detokenize(out)

    def translate(self, sentences: Sequence[str]) -> list[str]:
        """Each sentence translated word by word."""
        return [self.translate_one(s) for s in sentences]


def apertium(sentences: Sequence[str], pair: str = "eng-spa", batch: int = 500, timeout: float = 600) -> list[str]:
    """Sentences translated by Apertium (`apertium -u eng-spa`), one a line, in batches; unknown words unmarked.

    Raises:
        FileNotFoundError: apertium is not installed (`sudo apt-get install apertium-eng-spa`).
        RuntimeError: apertium fails, or returns another number of lines than it was given.
    """
    program = shutil.which("apertium")
    if program is None:
        raise FileNotFoundError("apertium is not installed; install it with `sudo apt-get install apertium-eng-spa`.")
    lines = [" ".join(str(s).split()) for s in sentences]  # one line each
    todo = [i for i, line in enumerate(lines) if line]  # empty sentences stay empty (apertium merges blank lines)
    out = [""] * len(lines)
    for start in range(0, len(todo), batch):
        part = [lines[i] for i in todo[start:start + batch]]
        done = subprocess.run([program, "-u", pair], input="\n".join(part) + "\n", capture_output=True, text=True,
                              timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"apertium {pair} failed (exit {done.returncode}): {done.stderr.strip()[:200]}")
        got = done.stdout.removesuffix("\n").split("\n")
        if len(got) != len(part):
            raise RuntimeError(f"apertium {pair} returned {len(got)} lines for {len(part)} sentences "
                               f"(batch starting at {start}); the line count must round-trip.")
        for i, line in zip(todo[start:start + batch], got):
            out[i] = line.strip()
    return out


def score(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """sacrebleu's corpus BLEU and chrF of `hypotheses` against one reference each."""
    import sacrebleu

    return {"bleu": round(sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score, 2),
            "chrf": round(sacrebleu.corpus_chrf(list(hypotheses), [list(references)]).score, 2)}


def test_verses(n: int = 500, seed: int = 0) -> tuple[list[str], list[str]]:
    """The first `n` verses of the test part of verses_en_es (`split(val=0.1, test=0.1, seed=seed)`)."""
    import neuronet as nt

    _, _, test = nt.datasets.load("verses_en_es").split(val=0.1, test=0.1, seed=seed)
    return test.x[:n], test.y[:n]


test_verses.__test__ = False  # not a pytest test


def main() -> None:
    from common import print_table, write_json

    sources, references = test_verses()
    systems = {"copy": copy_source, "word by word (FreeDict)": WordByWord().translate, "Apertium eng-spa": apertium}
    rows, results = [], {}
    for name, translate in systems.items():
        start = time.perf_counter()
        hypotheses = translate(sources)
        seconds = time.perf_counter() - start
        results[name] = {**score(hypotheses, references), "seconds": round(seconds, 2), "example": hypotheses[0]}
        rows.append([name, results[name]["bleu"], results[name]["chrf"], f"{seconds:.2f}"])
    print(f"source:    {sources[0]}\nreference: {references[0]}")
    print_table(f"English -> Spanish, {len(sources)} test verses of verses_en_es (seed 0)",
                ["system", "BLEU", "chrF", "seconds"], rows)
    write_json("translation_baselines", {"verses": len(sources), "results": results})


if __name__ == "__main__":
    main()
