"""Repetition guards for sampling: no phrase said twice within a line, no line said twice.

A small model loops. It writes an abstract that says "cross linking cross linking …", a title
that names "a pump head" three times, or claims that copy claim 2 word for word. The vetting
checks catch all of these, but each catch throws away a whole sample and the compute it cost.
A :class:`RepeatGuard` stops the loop where it starts: it names the tokens that may not come
next, and the decoding loop pushes them far down before sampling.

The unit is the line, because the patent skeleton puts the title, the abstract and each claim on
a line of their own. Within a line no token ``n``-gram may occur twice (``ngram_size``), and with
``distinct_lines`` a line may not end while it repeats an earlier line word for word (a claim's
number aside). Claims repeat short phrases by nature ("The device of claim 1, wherein the"), so
the n-gram guard never crosses a line end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

#: Added to the logits of banned tokens. A finite push rather than ``-inf``: if a grammar allows
#: nothing but banned tokens, one of them is still sampled instead of none.
BAN_LOGIT = -1e4


class RepeatGuard:
    """One sequence's repetition state; feed it every token, ask it what is banned next.

    Args:
        line_end_ids: tokens that end a line (every token holding a line break, and the end of
            text): they start a new line, and ``distinct_lines`` bans them.
        has_word: whether a token holds a letter; a line's leading tokens without one (a claim's
            ``"2. "``) are not compared by ``distinct_lines``.
        ngram_size: no token n-gram of this size twice within a line (0: off).
        distinct_lines: no line may end as a copy of an earlier one.
    """

    def __init__(
        self,
        line_end_ids: Iterable[int],
        has_word: Callable[[int], bool],
        *,
        ngram_size: int = 0,
        distinct_lines: bool = False,
    ) -> None:
        self.line_end_ids = sorted(set(line_end_ids))
        self._line_ends = frozenset(self.line_end_ids)
        self._has_word = has_word
        self.ngram_size = ngram_size
        self.distinct_lines = distinct_lines
        self.fed = 0
        self._line: list[int] = []
        self._body_start: int | None = None
        self._followers: dict[tuple[int, ...], set[int]] = {}
        self._lines: set[tuple[int, ...]] = set()

    @property
    def active(self) -> bool:
        return self.ngram_size > 0 or self.distinct_lines

    def feed(self, tokens: Iterable[int]) -> None:
        """Advance by ``tokens`` (the prompt first, then each token as it is chosen)."""
        n = self.ngram_size
        for token in tokens:
            self.fed += 1
            token = int(token)
            if token in self._line_ends:
                if self._body_start is not None:
                    self._lines.add(tuple(self._line[self._body_start :]))
                self._line, self._body_start, self._followers = [], None, {}
                continue
            if self._body_start is None and self._has_word(token):
                self._body_start = len(self._line)
            self._line.append(token)
            if n > 0 and len(self._line) >= n:
                self._followers.setdefault(tuple(self._line[-n:-1]), set()).add(token)

    def sync(self, ids: Sequence[int]) -> None:
        """Feed whatever of ``ids`` (all tokens so far, prompt included) is new to the guard."""
        if len(ids) > self.fed:
            self.feed(ids[self.fed :])

    def banned(self) -> list[int]:
        """The tokens that may not come next."""
        out: list[int] = []
        n = self.ngram_size
        if n > 0 and len(self._line) >= n - 1:
            out.extend(self._followers.get(tuple(self._line[len(self._line) - n + 1 :]), ()))
        if (
            self.distinct_lines
            and self._body_start is not None
            and tuple(self._line[self._body_start :]) in self._lines
        ):
            out.extend(self.line_end_ids)
        return out


def token_guard_factory(
    pieces: Sequence[str], eos_token_id: int | None, *, ngram_size: int, distinct_lines: bool
) -> Callable[[], RepeatGuard]:
    """Make fresh :class:`RepeatGuard` objects for a vocabulary given as decoded ``pieces``.

    The line ends and word tokens are worked out once here, not per sequence.
    """
    line_ends = [i for i, piece in enumerate(pieces) if "\n" in piece]
    if eos_token_id is not None:
        line_ends.append(eos_token_id)
    words = frozenset(i for i, piece in enumerate(pieces) if any(c.isalpha() for c in piece))
    return lambda: RepeatGuard(
        line_ends, words.__contains__, ngram_size=ngram_size, distinct_lines=distinct_lines
    )
