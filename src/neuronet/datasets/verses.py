"""English-Spanish parallel text: the World English Bible and the Reina-Valera 1909, aligned verse by verse.

Both translations are public domain and ship as SWORD modules in Debian (`sword-text-web`,
`sword-text-sparv`); `mod2imp` (`libsword-utils`) prints a module as `$$$Book C:V` keys each
followed by the verse in OSIS markup. Notes and titles are dropped, the other tags stripped,
and the two texts joined on the verse key, in the English Bible's book order. The parsed
pairs are cached as a TSV file (never a pickle) keyed by the modules' versions.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
from pathlib import Path

from neuronet.datasets.builtin import DATASETS
from neuronet.datasets.dataset import Dataset
from neuronet.datasets.literature import cache_dir
from neuronet.datasets.pairs import pairs_dataset
from neuronet.errors import DataError

__all__ = ["SWORD_DIR", "clean_osis", "read_module", "sword_module", "verse_pairs"]

SWORD_DIR = Path("/usr/share/sword")
ENGLISH = "engWEB2015eb"
_INSTALL = "sudo apt-get install sword-text-web sword-text-sparv libsword-utils"
_DROPPED = re.compile(r"<(note|title)\b[^>]*?(?:/>|>.*?</\1\s*>)", re.S)  # an element with its text
_BLOCK = re.compile(r"</?(?:l|lb|lg|div|p|item|list|chapter|milestone|verse)\b[^>]*>")  # line / paragraph marks
_TAG = re.compile(r"<[^>]*>")
_VERSE = re.compile(r"^\S.* \d+:[1-9]\d*$")  # 'Genesis 1:1'; 'Genesis 1:0' (a chapter heading) is not a verse
_PARSER = 1  # bump when clean_osis changes, so cached pairs are parsed again


def clean_osis(markup: str) -> str:
    """A verse's OSIS markup as plain text: notes and titles dropped, tags stripped, whitespace made single spaces.

    Example:
        >>> clean_osis('<w lemma="x">In</w> the <w>beginning</w>, God<note placement="foot">A note.</note>'
        ...            '<w>created</w>.<l eID="a"/><l sID="b"/>Amen')
        'In the beginning, God created. Amen'
    """
    text = _DROPPED.sub("\x00", markup)
    text = _BLOCK.sub(" ", text)
    text = _TAG.sub("", text)
    text = re.sub(r"\x00+(?=[\w“‘(¿¡])", " ", text).replace("\x00", "")  # a note between two words: a space
    return " ".join(text.split())


def sword_module(lang: str, root: Path = SWORD_DIR) -> tuple[str, str]:
    """The name and version of the installed SWORD Bible module in language `lang` ('en' is the WEB),
    read from the `.conf` files in `root/mods.d`.

    Raises:
        DataError: no module in that language is installed; the message says how to install it.
    """
    for conf in sorted((root / "mods.d").glob("*.conf")) if (root / "mods.d").is_dir() else []:
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        try:
            parser.read_string(conf.read_text(encoding="utf-8", errors="replace"))
        except configparser.Error:
            continue
        for name in parser.sections():
            if parser[name].get("Lang") == lang and (lang != "en" or name == ENGLISH):
                return name, parser[name].get("Version", "0")
    raise DataError(f"No SWORD Bible module in language '{lang}' is installed in {root / 'mods.d'}; install the "
                    f"English and Spanish ones with `{_INSTALL}`.")


def read_module(name: str) -> dict[str, str]:
    """Every verse of SWORD module `name` (through `mod2imp`), by key ('Genesis 1:1'), in the module's order.

    Raises:
        DataError: `mod2imp` is missing or fails.
    """
    program = shutil.which("mod2imp")
    if program is None:
        raise DataError(f"The program mod2imp is not installed, so the SWORD module {name} cannot be read; install it "
                        f"with `{_INSTALL}`.")
    done = subprocess.run([program, name], capture_output=True, timeout=300, check=False)
    if done.returncode != 0 or not done.stdout:
        raise DataError(f"`mod2imp {name}` failed (exit {done.returncode}: "
                        f"{done.stderr.decode(errors='replace').strip()[:200] or 'no output'}); reinstall it with "
                        f"`{_INSTALL}`.")
    parts = re.split(r"^\$\$\$(.*)\n", done.stdout.decode("utf-8", errors="replace"), flags=re.M)
    return {key: clean_osis(body) for key, body in zip(parts[1::2], parts[2::2]) if _VERSE.match(key)}


def verse_pairs(refresh: bool = False) -> list[tuple[str, str, str]]:
    """(verse key, English, Spanish) for every verse in both Bibles, English book order, cached as a TSV file.

    Verses empty on either side (merged into a neighbour by that translation) are left out.
    The cache, `verses_en_es-<english version>-<spanish version>-p<parser>.tsv` in
    `cache_dir()`, is written when it cannot be read; `refresh` parses the modules again.
    """
    (english, en_version), (spanish, es_version) = sword_module("en"), sword_module("es")
    cache = cache_dir() / f"verses_en_es-{english}-{en_version}-{spanish}-{es_version}-p{_PARSER}.tsv"
    if cache.is_file() and not refresh:
        rows = [line.split("\t") for line in cache.read_text(encoding="utf-8").split("\n") if line]
        if rows and all(len(row) == 3 for row in rows):
            return [(k, en, es) for k, en, es in rows]
    en, es = read_module(english), read_module(spanish)
    rows = [(key, text, es[key]) for key, text in en.items() if text and es.get(key)]
    try:  # a cache that cannot be written is only slower next time
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        tmp.write_text("".join(f"{k}\t{a}\t{b}\n" for k, a, b in rows), encoding="utf-8")
        os.replace(tmp, cache)
    except OSError:
        pass
    return rows


@DATASETS.register("verses_en_es", "English-Spanish translation: 31,077 Bible verse pairs (World English Bible, "
                                   "Reina-Valera 1909; Debian sword-text-web, sword-text-sparv).")
def verses_en_es(limit: int | None = None, max_words: int = 60) -> Dataset:
    """English → Spanish verse pairs for translation (seq2seq), in book order.

    Args:
        limit: Keep only the first `limit` pairs (after leaving out the long ones).
        max_words: Pairs with more words than this on either side are left out (and said in a note).

    Raises:
        DataError: a SWORD module or mod2imp is missing; the message says how to install them.

    Example:
        >>> data = verses_en_es(limit=1)  # doctest: +SKIP
        >>> data.x[0], data.y[0][:20]  # doctest: +SKIP
        ('In the beginning, God created the heavens and the earth.', 'EN el principio crió')
    """
    rows = verse_pairs()
    data = pairs_dataset([r[1] for r in rows], [r[2] for r in rows], "verses_en_es", "en", "es", max_words,
                         what="verse pairs", ids=[r[0] for r in rows])
    if limit is not None and limit < len(data):
        notes = [*data.notes, f"the first {limit:,} pairs used (data.limit)"]
        data = data.subset(list(range(limit)))
        data.notes = notes
    return data
