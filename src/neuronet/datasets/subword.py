"""`TextTokenizer`: characters or subwords (byte-level BPE) learnt from the training texts with Hugging Face `tokenizers`.

The special tokens are the same in every vocabulary, at fixed ids: `<pad>` 0, `<unk>` 1,
`<bos>` 2 (start of a sequence), `<eos>` 3 (end of a sequence or document). The trained
tokenizer is kept as the `tokenizers` library's own JSON (`Tokenizer.to_str`), so a run's
preprocessing.json holds everything prediction and serving need, and
`tokenizers.Tokenizer.from_str` reads it back outside neuronet too.

Example:
    >>> tok = TextTokenizer("char").fit(["to be or not to be"])
    >>> ids = tok.encode(["to be"])[0]
    >>> ids, tok.decode(ids)
    ([6, 5, 4, 7, 8], 'to be')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from neuronet.errors import ConfigError, DataError, NotFittedError

__all__ = ["BOS", "EOS", "PAD", "SPECIAL_TOKENS", "TextTokenizer", "UNK"]

SPECIAL_TOKENS = ["<pad>", "<unk>", "<bos>", "<eos>"]
PAD, UNK, BOS, EOS = 0, 1, 2, 3
KINDS = ("char", "bpe")


class TextTokenizer:
    """Texts ↔ token ids, trained on the training texts only.

    Args:
        kind: "char" (one token per character: bits per character are measurable; characters not
            seen in training are `<unk>`) or "bpe" (byte-level byte-pair encoding as GPT-2's: no
            unknown characters, common words become one token).
        vocab_size: The largest vocabulary of "bpe", special tokens included (ignored for "char", which
            keeps every character of the training text: `size` says how many).
    """

    pad_index: int = PAD

    def __init__(self, kind: str = "char", vocab_size: int | None = 4000) -> None:
        if kind not in KINDS:
            raise ConfigError(f"The 'tokens' of a text must be one of {', '.join(KINDS)}. Got {kind!r} instead.")
        if kind == "bpe" and (not isinstance(vocab_size, int) or isinstance(vocab_size, bool) or vocab_size < 300):
            raise ConfigError(f"The 'vocab_size' of a bpe tokenizer must be an int >= 300 (256 bytes and the special "
                              f"tokens come first). Got {vocab_size!r} instead.")
        self.kind = kind
        self.vocab_size = vocab_size if kind == "bpe" else None  # characters: as many as the text has

    def fit(self, texts: Sequence[str]) -> TextTokenizer:
        """Learn the characters (or merges) of `texts`; returns self."""
        from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

        if not any(texts):
            raise DataError("The training texts are empty; a tokenizer needs text to learn its vocabulary from.")
        if self.kind == "char":
            tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
            tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"(?m:.)"), behavior="isolated")  # every character, \n too
            tok.decoder = decoders.Fuse()
            trainer: Any = trainers.WordLevelTrainer(special_tokens=SPECIAL_TOKENS, min_frequency=1)
        else:
            tok = Tokenizer(models.BPE())
            tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
            tok.decoder = decoders.ByteLevel()
            trainer = trainers.BpeTrainer(vocab_size=self.vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                          initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tok.train_from_iterator(list(texts), trainer)
        self.tokenizer_ = tok
        return self

    @property
    def size(self) -> int:
        """Tokens in the vocabulary, special tokens included."""
        return self._fitted().get_vocab_size()

    def _fitted(self) -> Any:
        if not hasattr(self, "tokenizer_"):
            raise NotFittedError("This TextTokenizer is not fitted yet; call fit(texts) first.")
        return self.tokenizer_

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text (no special tokens added)."""
        return [e.ids for e in self._fitted().encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        """The text of token ids; special tokens (padding, start, end, unknown) are left out."""
        return self._fitted().decode([int(i) for i in ids], skip_special_tokens=True)

    def token(self, index: int) -> str:
        """The token of one id, as the vocabulary writes it."""
        return self._fitted().id_to_token(int(index)) or ""

    def unknown(self, text: str) -> list[str]:
        """The characters of `text` this tokenizer cannot represent (always none for "bpe")."""
        if self.kind != "char":
            return []
        vocab = self._fitted().get_vocab()
        return sorted({c for c in text if c not in vocab})

    def to_dict(self) -> dict[str, Any]:
        import json

        return {"kind": self.kind, "vocab_size": self.vocab_size, "tokenizer": json.loads(self._fitted().to_str())}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> TextTokenizer:
        import json

        from tokenizers import Tokenizer

        tok = cls(state["kind"], state["vocab_size"])
        try:
            tok.tokenizer_ = Tokenizer.from_str(json.dumps(state["tokenizer"]))
        except Exception as err:  # noqa: BLE001 - the library's own parse error, said in one line
            raise DataError(f"The stored tokenizer cannot be read ({str(err).splitlines()[0][:120]}).") from None
        specials = [tok.tokenizer_.token_to_id(t) for t in SPECIAL_TOKENS]
        if specials != [PAD, UNK, BOS, EOS]:
            raise DataError(f"The stored tokenizer has its special tokens at ids {specials}, not {[PAD, UNK, BOS, EOS]}.")
        return tok
