"""An n-gram language model with interpolated Kneser-Ney smoothing: the classical bar a neural language model must clear.

Pure NumPy over integer token ids. An n-gram is numbered by its prefix's number and its last
token (`key = prefix_id * V + token`), so every count is a `np.unique` / `np.bincount` over the
whole corpus at once and a lookup is a `np.searchsorted`: 4.5 M characters of Shakespeare at
order 5 fit in seconds.

The smoothing (Chen & Goodman's interpolated Kneser-Ney, one discount per order):

    P_n(w | h) = max(c_n(h w) - D_n, 0) / c_n(h •)  +  D_n * N_n(h •) / c_n(h •) * P_{n-1}(w | h')

where h' is h without its first token, c_n(h •) = sum over w of c_n(h w), N_n(h •) the number of
distinct w with c_n(h w) > 0, and D_n = n1 / (n1 + 2 n2) from the numbers of n-grams counted once
and twice. At the highest order c_n is the raw count; at lower orders it is the continuation
count, the number of distinct tokens seen before the n-gram (the start of a sequence counts as
one). A context never seen passes P_{n-1} on unchanged. The unigram level interpolates with the
uniform distribution over the vocabulary, so no token has probability 0:

    P_1(w) = max(c_1(w) - D_1, 0) / C_1  +  D_1 * N_1 / C_1 / V

(with `order=1`, c_1 is the raw count: absolutely discounted unigram frequencies). The first
tokens of a sequence are scored with the shorter contexts they have, by P_k of the matching
lower order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neuronet.errors import ConfigError, DataError, NotFittedError

__all__ = ["NGramLM"]


class NGramLM:
    """An interpolated Kneser-Ney n-gram language model over token ids 0 .. vocab_size - 1.

    Args:
        order: The n of the n-grams (1: unigrams; 5: up to four tokens of context).

    Attributes (after `fit`):
        vocab_size_: The number of token ids.
        discounts_: D_n for n = 1 .. order.

    Example:
        >>> lm = NGramLM(order=2).fit([[0, 1, 0, 1, 0, 1]], vocab_size=3)
        >>> probs = lm.next_token_probs([0])
        >>> round(float(probs.sum()), 9), int(probs.argmax())
        (1.0, 1)
        >>> lm.nll([[0, 1, 0]]) < lm.nll([[0, 2, 0]])
        True
    """

    def __init__(self, order: int = 5) -> None:
        self.order = order

    # --- fitting -------------------------------------------------------------------
    def fit(self, sequences: Sequence[Sequence[int]] | Sequence[np.ndarray], vocab_size: int) -> NGramLM:
        """Count the n-grams of `sequences` (each a list or 1-D array of token ids) and set the discounts.

        Raises:
            ConfigError: `order` or `vocab_size` is not a positive integer.
            DataError: no tokens, or a token id outside 0 .. vocab_size - 1.
        """
        if isinstance(self.order, bool) or not isinstance(self.order, int) or self.order < 1:
            raise ConfigError(f"The 'order' parameter of NGramLM must be an integer >= 1. Got {self.order!r} instead.")
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 1:
            raise ConfigError(f"The 'vocab_size' of NGramLM.fit must be an integer >= 1. Got {vocab_size!r} instead.")
        V, N = int(vocab_size), self.order
        tokens, pos = self._join(sequences, V, "fit")
        if not len(tokens):
            raise DataError("NGramLM.fit was given no tokens; give at least one non-empty sequence of token ids.")
        grams = [np.empty(0, np.int64), tokens]  # grams[n][i]: number of the n-gram ending at i (-1: none)
        self.keys_ = [np.empty(0, np.int64), np.arange(V, dtype=np.int64)]
        for n in range(2, N + 1):
            at = np.flatnonzero(pos >= n - 1)
            at = at[grams[n - 1][at - 1] >= 0]
            keys, ids = np.unique(grams[n - 1][at - 1] * V + tokens[at], return_inverse=True)
            grams.append(np.full(len(tokens), -1, np.int64))
            grams[n][at] = ids
            self.keys_.append(keys)
        self.counts_ = [np.empty(0)]
        for n in range(1, N + 1):
            if n == N:  # the highest order: raw counts
                g = grams[n][grams[n] >= 0]
                self.counts_.append(np.bincount(g, minlength=len(self.keys_[n])).astype(np.float64))
            else:  # lower orders: continuation counts (distinct left neighbours, the start of a sequence one of them)
                longer = np.flatnonzero(grams[n + 1] >= 0)
                _, first = np.unique(grams[n + 1][longer], return_index=True)
                cont = np.bincount(grams[n][longer[first]], minlength=len(self.keys_[n])).astype(np.float64)
                cont[np.unique(grams[n][pos == n - 1])] += 1
                self.counts_.append(cont)
        self.vocab_size_ = V
        self._contexts()
        return self

    def _contexts(self) -> None:
        """Per order: each context's total count and number of distinct followers, and the discount."""
        V = self.vocab_size_
        self.totals_, self.types_, self.discounts_ = [np.empty(0)], [np.empty(0)], []
        for n in range(1, self.order + 1):
            counts = self.counts_[n]
            seen = counts > 0
            if n == 1:
                self.totals_.append(np.array([counts.sum()]))
                self.types_.append(np.array([float(seen.sum())]))
            else:
                prefix = self.keys_[n] // V
                size = len(self.keys_[n - 1])
                self.totals_.append(np.bincount(prefix, weights=counts, minlength=size))
                self.types_.append(np.bincount(prefix, weights=seen.astype(np.float64), minlength=size))
            n1, n2 = int((counts == 1).sum()), int((counts == 2).sum())
            self.discounts_.append(min(max(n1 / (n1 + 2 * n2), 0.05), 0.95) if n1 + n2 else 0.5)

    @staticmethod
    def _join(sequences: Sequence, V: int, where: str) -> tuple[np.ndarray, np.ndarray]:
        """All sequences end to end (int64), and each token's position inside its own sequence."""
        arrays = [np.asarray(s, dtype=np.int64).reshape(-1) for s in sequences]
        arrays = [a for a in arrays if len(a)]
        if not arrays:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        tokens = np.concatenate(arrays)
        bad = (tokens < 0) | (tokens >= V)
        if bad.any():
            raise DataError(f"NGramLM.{where} got token id {int(tokens[bad][0])}, outside 0 .. {V - 1} (vocab_size "
                            f"{V}); encode the text with the vocabulary the model was fitted with.")
        lengths = np.array([len(a) for a in arrays])
        starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
        return tokens, np.arange(len(tokens)) - starts

    # --- scoring -------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "vocab_size_"):
            raise NotFittedError("This NGramLM is not fitted yet; call fit(sequences, vocab_size) first.")

    def _find(self, n: int, prefix: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        """The numbers of the n-grams (prefix n-1-gram number, last token); -1 where not seen in training."""
        if n == 1:
            return tokens.copy()
        keys = self.keys_[n]
        wanted = prefix * self.vocab_size_ + tokens
        at = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
        found = (prefix >= 0) & (len(keys) > 0)
        found &= keys[at] == wanted if len(keys) else False
        return np.where(found, at, -1)

    def _interpolate(self, n: int, p: np.ndarray, context: np.ndarray, gram: np.ndarray) -> np.ndarray:
        """P_n from P_{n-1} (`p`), for contexts numbered `context` (-1: unseen) and n-grams numbered `gram`."""
        D = self.discounts_[n - 1]
        if n == 1:
            total, types = self.totals_[1][0], self.types_[1][0]
            return np.maximum(self.counts_[1][gram] - D, 0) / total + D * types / total / self.vocab_size_
        ok = context >= 0
        total = np.where(ok, self.totals_[n][np.maximum(context, 0)], 0.0)
        ok &= total > 0
        count = np.where(gram >= 0, self.counts_[n][np.maximum(gram, 0)], 0.0)
        safe = np.where(ok, total, 1.0)
        types = np.where(ok, self.types_[n][np.maximum(context, 0)], 0.0)
        return np.where(ok, np.maximum(count - D, 0) / safe + D * types / safe * p, p)

    def log_probs(self, sequence: Sequence[int] | np.ndarray) -> np.ndarray:
        """ln P(token_i | up to order-1 previous tokens) for each token of `sequence` (the first ones with
        the shorter contexts they have).

        Raises:
            NotFittedError: before `fit`.
            DataError: a token id outside the vocabulary.
        """
        self._check_fitted()
        tokens, pos = self._join([sequence], self.vocab_size_, "log_probs")
        if not len(tokens):
            return np.empty(0)
        p = self._interpolate(1, np.empty(0), np.empty(0), tokens)
        prev = tokens  # numbers of the (n-1)-grams ending at each position
        for n in range(2, self.order + 1):
            context = np.full(len(tokens), -1, np.int64)
            context[1:] = prev[:-1]
            context[pos < n - 1] = -1
            gram = self._find(n, context, tokens)
            has = pos >= n - 1  # a position with a context this long; others keep their shorter-context P
            p = np.where(has, self._interpolate(n, p, context, gram), p)
            prev = gram
        return np.log(p)

    def next_token_probs(self, context: Sequence[int] | np.ndarray) -> np.ndarray:
        """P(w | the last order-1 tokens of `context`) for every token id w: an array of vocab_size summing to 1.

        Example:
            >>> lm = NGramLM(order=3).fit([[1, 2, 3, 1, 2, 3]], vocab_size=4)
            >>> int(lm.next_token_probs([1, 2]).argmax())
            3
        """
        self._check_fitted()
        V = self.vocab_size_
        ctx = np.asarray(context, dtype=np.int64).reshape(-1)[max(0, len(context) - self.order + 1):]
        self._join([ctx], V, "next_token_probs")
        everything = np.arange(V, dtype=np.int64)
        p = self._interpolate(1, np.empty(0), np.empty(0), everything)
        for n in range(2, len(ctx) + 2):
            number = self._number(ctx[len(ctx) - n + 1:])  # the n-1-gram of the last n-1 tokens
            p = self._interpolate(n, p, np.full(V, number), self._find(n, np.full(V, number), everything))
        return p

    def _number(self, gram: np.ndarray) -> int:
        """The number of the n-gram `gram` (its tokens) in training, -1 if it was not seen."""
        number = int(gram[0])
        for k, token in enumerate(gram[1:], start=2):
            number = int(self._find(k, np.array([number]), np.array([int(token)]))[0])
            if number < 0:
                return -1
        return number

    def nll(self, sequences: Sequence[Sequence[int]] | Sequence[np.ndarray]) -> float:
        """Mean negative log-likelihood, in nats per token, of every token of `sequences`.

        Raises:
            DataError: no tokens to score.
        """
        scores = [self.log_probs(s) for s in sequences]
        total = sum(len(s) for s in scores)
        if not total:
            raise DataError("NGramLM.nll was given no tokens; give at least one non-empty sequence of token ids.")
        return float(-sum(s.sum() for s in scores) / total)
