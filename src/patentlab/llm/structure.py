"""Structure-constrained decoding: document skeletons and JSON schemas, for every engine.

A :class:`Skeleton` describes a markdown document whose headers are fixed and whose section
bodies are free text: a heading line, then sections in order, each a single line of text or a
numbered list (``1. …``, ``2. …``, numbered consecutively). From the text a generation starts
with (its prompt), the skeleton writes the grammar of the rest:

- :meth:`Skeleton.lark` for `llguidance <https://github.com/guidance-ai/llguidance>`_, which
  the torch engine applies token by token (:class:`GrammarConstraint`) with per-section token
  budgets and fast-forwarded headers;
- :meth:`Skeleton.gbnf` for llama.cpp's own grammar sampler (GBNF), where budgets become
  character bounds.

JSON replies use the same machinery: :func:`json_constraint` turns a JSON schema into a
:class:`GrammarConstraint`, and :func:`json_object_gbnf` gives llama.cpp the same grammar.
Why llguidance and not xgrammar, outlines-core or transformers-cfg: see ``docs/generate.md``
("Structure-constrained decoding").
"""

from __future__ import annotations

import contextlib
import json
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from patentlab.errors import PatentlabError

if TYPE_CHECKING:
    import numpy as np

SectionKind = Literal["line", "numbered"]

# Free text of a section: one line, no header marks. An item never starts with a digit, so a
# model cannot write "1. 1. A lens …", and never with a space, so it cannot be empty.
_LINE_LARK = r"/[^\s#][^\n#]*/"
_ITEM_LARK = r"/[^\s#0-9][^\n#]*/"
_TAIL_LARK = r"/[^\n#]*/"
_LINE_GBNF = r"[^\n\t #] [^\n#]"
_ITEM_GBNF = r"[^\n\t #0-9] [^\n#]"
#: Characters a token holds, roughly, in patent English with SmolLM2's tokenizer: turns the token
#: budgets into character bounds for GBNF, which cannot count tokens.
CHARS_PER_TOKEN = 4.5
#: A cautious figure for the same, for room that must not run out (a small model's odd output
#: can take a token for every two characters).
WRAP_CHARS_PER_TOKEN = 2.5
#: Tokens a list may run past its wrap-up point to finish the sentence it is in.
SENTENCE_GRACE = 24


@dataclass(frozen=True)
class Section:
    """One section: its header line, whether its body is a line or a numbered list, its budget.

    ``max_tokens`` bounds the body (a line) or each item (a list); None leaves it free.
    ``min_chars`` is the shortest a line's body may be. ``first_item`` shapes a list's first
    item (the Lark grammar only).
    """

    name: str
    kind: SectionKind = "line"
    max_tokens: int | None = None
    #: For a list: a regular expression (llguidance syntax, no slashes) that the first item after
    #: its first character must match, e.g. a patent's claim 1 needing a transition; it starts
    #: with a free run such as ``[^\n#]*``. GBNF leaves the first item free.
    first_item: str | None = None
    min_chars: int = 1
    #: For a list: text a decoding loop offers once, past the wrap-up point, to an item that may
    #: not end yet (a patent's claim 1 before its transition), so that it can close in time.
    closing: str | None = None

    @property
    def header(self) -> str:
        return f"## {self.name}"


@dataclass(frozen=True)
class Skeleton:
    """A document with a fixed heading and fixed section headers, in order, and free bodies.

    The document reads ``{heading}\\n\\n## A\\n{body}\\n\\n## B\\n{body}…`` and ends after the
    last section's body. A numbered section holds 1 to ``max_items`` items, one per line.
    """

    heading: str
    sections: tuple[Section, ...]
    max_items: int = 20

    def __post_init__(self) -> None:
        if not self.sections:
            raise PatentlabError("a skeleton needs at least one section")
        if self.max_items < 1:
            raise PatentlabError("max_items must be at least 1", field="max_items")

    # -- where a prompt stops -------------------------------------------------------------------

    def position(self, prompt: str) -> tuple[int, str]:
        """``(section index, partial body)`` where ``prompt`` stops.

        Index -1 means the prompt stops before the first section's body: the partial body is
        then the prompt itself, a prefix of the heading and the first header. The prompt must
        follow the skeleton; anything else is a one-line error, because the grammar could only
        continue it by breaking the format.
        """
        text = prompt.replace("\r\n", "\n")
        if self._lead().startswith(text):
            return -1, text
        if not text.startswith(self.heading):
            raise PatentlabError(f"the prompt does not start with '{self.heading}'", field="prompt")
        index, body = -1, text[len(self.heading) :]
        for i, section in enumerate(self.sections):
            marker = f"\n\n{section.header}\n"
            at = body.find(marker)
            if at < 0:
                break
            if index >= 0 and "\n\n" in body[:at]:
                raise PatentlabError("the prompt has a blank line inside a section", field="prompt")
            index, body = i, body[at + len(marker) :]
        if index < 0:
            raise PatentlabError(f"the prompt has text after '{self.heading}' but no section header")
        if "#" in body or (self.sections[index].kind == "line" and "\n" in body):
            raise PatentlabError("the prompt's last section does not fit the skeleton", field="prompt")
        if self.sections[index].kind == "numbered":
            self._items(body)  # checks the numbering
        return index, body

    def wrap_after(self, prompt: str, max_new_tokens: int) -> int | None:
        """New tokens after which the numbered section being written should close; None when no
        list lies ahead of ``prompt``.

        A list followed by other sections must leave them room in ``max_new_tokens``; a list
        that ends the document must end its last item before the token limit cuts it. Item
        budgets bound each item but not how many a model writes, so a decoding loop that passes
        this point closes the list at the next sentence end, or :data:`SENTENCE_GRACE` tokens
        later at the latest (:meth:`GrammarConstraint.wrap_up`).
        """
        numbered = self._list_ahead(prompt)
        if numbered is None:
            return None
        room = sum((s.max_tokens or 0) + 8 for s in self.sections[numbered + 1 :])  # 8: header, blank line
        return max(1, max_new_tokens - room - SENTENCE_GRACE)

    def closing(self, prompt: str) -> str | None:
        """The :attr:`Section.closing` of the numbered section ahead of ``prompt``, if any."""
        numbered = self._list_ahead(prompt)
        return None if numbered is None else self.sections[numbered].closing

    def _list_ahead(self, prompt: str) -> int | None:
        """The index of the first numbered section from where ``prompt`` stops, if any."""
        start = max(self.position(prompt)[0], 0)
        return next(
            (i for i in range(start, len(self.sections)) if self.sections[i].kind == "numbered"), None
        )

    def _lead(self) -> str:
        return f"{self.heading}\n\n{self.sections[0].header}\n"

    def _segments(self, prompt: str) -> list[tuple[str, Any]]:
        """What follows ``prompt``, engine-neutral: ``("literal", text)``, ``("line", (i, partial))``
        and ``("items", (i, partial))`` in order; the grammars render these."""
        index, body = self.position(prompt)
        segments: list[tuple[str, Any]] = []
        if index < 0:
            segments.append(("literal", self._lead()[len(body) :]))
            index, body = 0, ""
        for i, section in enumerate(self.sections[index:], start=index):
            if i > index:
                segments.append(("literal", f"\n\n{section.header}\n"))
                body = ""
            segments.append(("line" if section.kind == "line" else "items", (i, body)))
        return [s for s in segments if s != ("literal", "")]

    def _items(self, partial: str) -> tuple[str | None, list[int]]:
        """For a numbered section: the literal that opens the next item (None inside an item) and
        the numbers of the items that may follow, each opened by ``"\\nN. "``."""
        numbers = [int(n) for n in re.findall(r"^(\d+)\. ", partial, re.M)]
        if partial and not numbers:
            raise PatentlabError("the prompt's numbered section does not start with '1. '", field="prompt")
        last = numbers[-1] if numbers else 0
        if partial and not partial.endswith("\n"):
            return None, list(range(last + 1, self.max_items + 1))
        if last >= self.max_items:
            raise PatentlabError(f"the prompt already has {last} items, the skeleton's most", field="prompt")
        return f"{last + 1}. ", list(range(last + 2, self.max_items + 1))

    # -- grammars -------------------------------------------------------------------------------

    def lark(self, prompt: str = "") -> str:
        """The Lark grammar (llguidance dialect) of what follows ``prompt``."""
        rules: list[str] = []
        parts: list[str] = []
        for kind, value in self._segments(prompt):
            if kind == "literal":
                parts.append(_quote(value))
                continue
            i, partial = value
            section = self.sections[i]
            budget = f"[max_tokens={section.max_tokens}]" if section.max_tokens else ""
            if kind == "line":
                rules.append(f"s{i}{budget}: {_line_lark(section.min_chars, partial)}")
                parts.append(f"s{i}")
                continue
            opener, following = self._items(partial)
            rules.append(f"s{i}{budget}: {_ITEM_LARK}")
            shaped = bool(section.first_item) and self._needs_shape(section, partial)
            if opener is None:
                tail = f"/{section.first_item}/" if shaped else _TAIL_LARK
                rules.append(f"s{i}_tail{budget}: {tail}")
                first = f"s{i}_tail"
            elif shaped:
                rules.append(f"s{i}_first{budget}: /[^\\s#0-9]{section.first_item}/")
                first = f"{_quote(opener)} s{i}_first"
            else:
                first = f"{_quote(opener)} s{i}"
            parts.append(_unrolled(first, following, f"s{i}"))
        return "\n".join([f"start: {' '.join(parts)}", *rules]) + "\n"

    @staticmethod
    def _needs_shape(section: Section, partial: str) -> bool:
        """True while the list's first item is still to be written (or being written and does not
        match ``first_item`` yet)."""
        numbers = re.findall(r"^(\d+)\. ", partial, re.M)
        if numbers and (numbers != ["1"] or partial.endswith("\n")):
            return False
        return not re.search(section.first_item or "", partial.partition(". ")[2] or "")

    def gbnf(self, prompt: str = "", max_new_tokens: int | None = None) -> str:
        """The GBNF grammar (llama.cpp) of what follows ``prompt``; token budgets become lengths.

        GBNF cannot count tokens, and llama.cpp's sampler leaves no room for a wrap-up step, so
        with ``max_new_tokens`` a list that sections follow has its items shortened to share
        :meth:`wrap_after` at a cautious :data:`WRAP_CHARS_PER_TOKEN`.
        """
        numbered = self._list_ahead(prompt)
        followed = numbered is not None and numbered + 1 < len(self.sections)
        wrap = self.wrap_after(prompt, max_new_tokens) if max_new_tokens and followed else None
        rules: list[str] = []
        parts: list[str] = []
        for kind, value in self._segments(prompt):
            if kind == "literal":
                parts.append(_quote(value))
                continue
            i, partial = value
            section = self.sections[i]
            chars = int(section.max_tokens * CHARS_PER_TOKEN) if section.max_tokens else 4000
            tail = f"[^\\n#]{{0,{chars}}}"
            if kind == "line":
                least = max(0, section.min_chars - len(partial))
                if partial:
                    rules.append(f"s{i} ::= [^\\n#]{{{least},{chars}}}")
                else:
                    rules.append(f"s{i} ::= {_LINE_GBNF}{{{max(0, least - 1)},{chars - 1}}}")
                parts.append(f"s{i}")
                continue
            opener, following = self._items(partial)
            if wrap is not None:
                chars = min(chars, max(40, int(wrap * WRAP_CHARS_PER_TOKEN / self.max_items)))
            rules.append(f"s{i} ::= {_ITEM_GBNF}{{0,{chars - 1}}}")
            if opener is None:
                rules.append(f"s{i}-tail ::= {tail}")
            first = f"s{i}-tail" if opener is None else f"{_quote(opener)} s{i}"
            parts.append(_unrolled(first, following, f"s{i}"))
        return "\n".join([f"root ::= {' '.join(parts)}", *rules]) + "\n"


def _line_lark(min_chars: int, partial: str) -> str:
    """The Lark regex of a line's body of at least ``min_chars``, after ``partial`` of it."""
    least = max(0, min_chars - len(partial))
    if partial:
        return f"/[^\\n#]{{{least},}}/" if least else _TAIL_LARK
    return f"/[^\\s#][^\\n#]{{{least - 1},}}/" if least > 1 else _LINE_LARK


def _unrolled(first: str, numbers: list[int], rule: str) -> str:
    """``first ("\\n2. " rule ("\\n3. " rule …)?)?``: items numbered consecutively, which a
    grammar can only say by unrolling them."""
    tail = ""
    for n in reversed(numbers):
        opener = _quote(f"\n{n}. ")
        tail = f"({opener} {rule}{' ' + tail if tail else ''})?"
    return f"{first} {tail}".strip()


def _quote(text: str) -> str:
    """A string literal; Lark and GBNF both read JSON's escapes."""
    return json.dumps(text)


# -- applying a grammar while decoding ------------------------------------------------------------

_LL_TOKENIZERS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def ll_tokenizer(tokenizer: Any) -> Any:
    """The llguidance view of a Hugging Face fast tokenizer (built once per tokenizer, ~1 s)."""
    try:
        return _LL_TOKENIZERS[tokenizer]
    except (KeyError, TypeError):
        pass
    import llguidance.hf

    try:
        ll = llguidance.hf.from_tokenizer(tokenizer)
    except ValueError as exc:
        raise PatentlabError(f"structured decoding needs a fast tokenizer: {exc}") from None
    with contextlib.suppress(TypeError):  # a tokenizer that takes no weak reference is not cached
        _LL_TOKENIZERS[tokenizer] = ll
    return ll


class GrammarConstraint:
    """One sequence's grammar state while decoding (llguidance ``LLMatcher``).

    The decoding loop asks :meth:`allowed` for the tokens the grammar permits next, samples one,
    and calls :meth:`accept`; :meth:`forced` lists the tokens the grammar dictates from there
    (a section header, the next claim number), which the loop feeds without sampling.
    """

    def __init__(self, tokenizer: Any, grammar: str, *, vocab_size: int | None = None) -> None:
        import llguidance

        self._ll = ll_tokenizer(tokenizer)
        self.vocab_size = vocab_size or len(tokenizer)
        self.eos_token_id = tokenizer.eos_token_id
        self.matcher = llguidance.LLMatcher(self._ll, grammar, log_level=0)
        #: Tokens generated after which the loop should close the current section at its next
        #: line end (see :meth:`Skeleton.wrap_after`); None: never.
        self.wrap_after: int | None = None
        #: The text offered once after :attr:`wrap_after` (see :attr:`Section.closing`), and
        #: whether the loop has offered it.
        self.closing: str | None = None
        self.closing_tried = False
        if self.matcher.is_error():
            error = _first_line(self.matcher.get_error())
            raise PatentlabError(f"the grammar does not fit the tokenizer: {error}")

    def copy(self) -> GrammarConstraint:
        """A constraint in the same state with its own matcher: no grammar is compiled again."""
        twin = object.__new__(GrammarConstraint)
        twin.__dict__.update(self.__dict__)
        twin.matcher = self.matcher.deep_copy()
        return twin

    @classmethod
    def from_lark(cls, tokenizer: Any, lark: str, **kwargs: Any) -> GrammarConstraint:
        import llguidance

        return cls(tokenizer, llguidance.LLMatcher.grammar_from_lark(lark), **kwargs)

    @property
    def done(self) -> bool:
        """True when the grammar is complete and only the end of text may follow."""
        return self.matcher.is_stopped()

    @property
    def failed(self) -> bool:
        return self.matcher.is_error()

    def allowed(self) -> np.ndarray:
        """A boolean mask over the model's vocabulary: True where the grammar allows the token."""
        import numpy as np

        bits = np.frombuffer(self.matcher.compute_bitmask(), dtype=np.uint8)
        mask = np.unpackbits(bits, bitorder="little").astype(bool)
        if mask.size >= self.vocab_size:
            return mask[: self.vocab_size]
        return np.concatenate([mask, np.zeros(self.vocab_size - mask.size, dtype=bool)])

    def accept(self, token: int) -> bool:
        """Advance by one sampled (or forced) token; False if the grammar rejects it."""
        return self.matcher.consume_token(int(token))

    def wrap_up(self, allowed: np.ndarray, newline_ids: np.ndarray) -> np.ndarray:
        """``allowed`` narrowed so the current list closes now: to the end of text where the
        grammar may end here (the list ends the document), else to line ends; unchanged where
        the grammar allows neither yet."""
        import numpy as np

        eos = self.eos_token_id
        narrowed = np.zeros_like(allowed)
        if eos is not None and eos < allowed.size and allowed[eos]:
            narrowed[eos] = True
            return narrowed
        keep = newline_ids[newline_ids < narrowed.size]
        narrowed[keep] = allowed[keep]
        return narrowed if narrowed.any() else allowed

    def forced(self) -> list[int]:
        """The tokens the grammar dictates from here (empty when the model has a choice)."""
        return list(self.matcher.compute_ff_tokens())


_NEWLINES: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def newline_token_ids(tokenizer: Any) -> np.ndarray:
    """The ids of the tokens that are only line breaks (``"\\n"``, ``"\\n\\n"``, …)."""
    import numpy as np

    with contextlib.suppress(KeyError, TypeError):
        return _NEWLINES[tokenizer]
    pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    # Byte-level BPE writes a line break as "Ċ"; decode only the candidates.
    candidates = [i for i, p in enumerate(pieces) if p and ("Ċ" in p or "\n" in p)]
    ids = np.array([i for i in candidates if set(tokenizer.decode([i])) == {"\n"}], dtype=np.int64)
    with contextlib.suppress(TypeError):
        _NEWLINES[tokenizer] = ids
    return ids


_PIECES: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def vocab_pieces(tokenizer: Any) -> list[str]:
    """The text of every token id, decoded once per tokenizer (the guards and the wrap-up read it)."""
    with contextlib.suppress(KeyError, TypeError):
        return _PIECES[tokenizer]
    pieces = tokenizer.batch_decode([[i] for i in range(len(tokenizer))])
    with contextlib.suppress(TypeError):
        _PIECES[tokenizer] = pieces
    return pieces


def sentence_end_token_ids(tokenizer: Any) -> frozenset[int]:
    """The ids of the tokens that end a sentence (their text ends with ``"."``)."""
    return frozenset(i for i, piece in enumerate(vocab_pieces(tokenizer)) if piece.rstrip(" ").endswith("."))


def skeleton_constraint(tokenizer: Any, skeleton: Skeleton, prompt: str, **kwargs: Any) -> GrammarConstraint:
    """A :class:`GrammarConstraint` that continues ``prompt`` within ``skeleton``."""
    return GrammarConstraint.from_lark(tokenizer, skeleton.lark(prompt), **kwargs)


def json_constraint(
    tokenizer: Any, schema: dict[str, Any], *, max_tokens: int | None = None, **kwargs: Any
) -> GrammarConstraint:
    """A :class:`GrammarConstraint` for a compact JSON value that follows ``schema``, no extra keys.

    A flat object (string, number, integer and enum properties, as the agents' replies are) is
    written as a Lark grammar whose strings share ``max_tokens`` as token budgets, so the object
    always closes within the limit; other schemas go through llguidance's JSON compiler.
    """
    import llguidance

    lark = json_object_lark(schema, max_tokens)
    if lark is not None:
        return GrammarConstraint.from_lark(tokenizer, lark, **kwargs)
    if not isinstance(schema, dict):
        raise PatentlabError("not a JSON schema: expected an object", field="json_schema")
    try:
        grammar = llguidance.LLMatcher.grammar_from_json_schema(
            decoding_schema(schema, 400),
            defaults={"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "},
        )
    except ValueError as exc:
        raise PatentlabError(f"not a JSON schema: {_first_line(exc)}", field="json_schema") from None
    return GrammarConstraint(tokenizer, grammar, **kwargs)


# Value grammars of a flat JSON object, per dialect. String content has no quotes, backslashes
# or control characters, so there are no escapes to get wrong.
_JSON_VALUES = {
    "lark": {
        "text": r"/[^\"\\\x00-\x1f]+/",
        "number": r"/-?(0|[1-9][0-9]{0,8})(\.[0-9]{1,6})?/",
        "integer": r"/-?(0|[1-9][0-9]{0,8})/",
        "unit": r"/(0(\.[0-9]{1,4})?|1(\.0{1,4})?)/",
    },
    "gbnf": {
        "text": r"[^\"\\\x00-\x1f]",
        "number": r'"-"? ("0" | [1-9] [0-9]{0,8}) ("." [0-9]{1,6})?',
        "integer": r'"-"? ("0" | [1-9] [0-9]{0,8})',
        "unit": r'("0" ("." [0-9]{1,4})? | "1" ("." "0"{1,4})?)',
    },
}


def json_object_lark(schema: Any, max_tokens: int | None = None) -> str | None:
    """A Lark grammar for a flat JSON object schema, keys in the schema's order; None otherwise.

    Each string property gets an equal share of ``max_tokens`` as a token budget on its
    content, after which its closing quote is forced (keys and numbers are allowed about 10
    tokens each).
    """
    return _json_object_grammar(schema, max_tokens, "lark")


def json_object_gbnf(schema: Any, max_tokens: int | None = None) -> str | None:
    """The same grammar as :func:`json_object_lark` in GBNF, for llama.cpp: each string's share
    of ``max_tokens`` becomes a length at :data:`WRAP_CHARS_PER_TOKEN`."""
    return _json_object_grammar(schema, max_tokens, "gbnf")


def _json_object_grammar(schema: Any, max_tokens: int | None, dialect: str) -> str | None:
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return None
    properties = schema.get("properties") or {}
    if not properties or any(not isinstance(spec, dict) for spec in properties.values()):
        return None
    values = _JSON_VALUES[dialect]
    strings = [k for k, spec in properties.items() if spec.get("type") == "string" and "enum" not in spec]
    budget = None
    if max_tokens and strings:
        budget = max(4, (max_tokens - 10 * len(properties)) // len(strings))
    lark = dialect == "lark"
    parts, rules = [], []
    for i, (key, spec) in enumerate(properties.items()):
        parts.append(_quote(("{" if i == 0 else ", ") + json.dumps(key) + ": "))
        kind = spec.get("type")
        if "enum" in spec:
            parts.append("(" + " | ".join(_quote(json.dumps(v)) for v in spec["enum"]) + ")")
            continue
        if kind == "boolean":
            parts.append('("true" | "false")')
            continue
        if kind == "string":
            if lark:
                rules.append(f"v{i}{f'[max_tokens={budget}]' if budget else ''}: {values['text']}")
            else:
                chars = int(budget * WRAP_CHARS_PER_TOKEN) if budget else 2000
                rules.append(f"v{i} ::= {values['text']}{{1,{chars}}}")
            parts += [_quote('"'), f"v{i}", _quote('"')]
            continue
        if kind == "number" and spec.get("minimum") == 0 and spec.get("maximum") == 1:
            body = values["unit"]
        elif kind in ("number", "integer"):
            body = values[kind]
        else:
            return None
        rules.append(f"v{i}: {body}" if lark else f"v{i} ::= {body}")
        parts.append(f"v{i}")
    parts.append(_quote("}"))
    start = "start: " if lark else "root ::= "
    return "\n".join([start + " ".join(parts), *rules]) + "\n"


def llama_grammar(gbnf: str) -> Any:
    """A llama.cpp grammar object from GBNF text, with a one-line error when it does not parse.

    llama-cpp-python only parses a grammar when sampling starts, so the text is checked first
    (llguidance reads GBNF too) and a bad grammar fails before any model runs.
    """
    import llguidance
    from llguidance.gbnf_to_lark import gbnf_to_lark

    try:
        from llama_cpp import LlamaGrammar
    except ModuleNotFoundError:
        raise PatentlabError("GBNF grammars need llama-cpp-python: run 'make llm'") from None
    try:
        problem = llguidance.LLMatcher.validate_grammar(
            llguidance.LLMatcher.grammar_from_lark(gbnf_to_lark(gbnf))
        )
    except Exception as exc:  # the converter raises plain Exceptions for unknown rules
        problem = str(exc)
    if problem:
        raise PatentlabError(f"the GBNF grammar does not parse: {_first_line(problem)}")
    return LlamaGrammar.from_string(gbnf, verbose=False)


def _first_line(exc: BaseException | str) -> str:
    return (str(exc).strip().splitlines() or ["error"])[0]


class GrammarLogitsProcessor:
    """A transformers logits processor that keeps each row of a ``generate`` batch in its grammar.

    Pass it in ``logits_processor=[...]``. Each call first advances every row's grammar by the
    token the row just produced, then masks what the grammar forbids; a row whose grammar is
    complete (or that ended) may only end.
    """

    def __init__(self, constraints: list[GrammarConstraint], prompt_length: int, eos_token_id: int) -> None:
        self.constraints = constraints
        self.prompt_length = prompt_length
        self.eos_token_id = eos_token_id
        self._ended = [False] * len(constraints)

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if input_ids.shape[1] > self.prompt_length:
            for row, constraint in enumerate(self.constraints):
                if not self._ended[row]:
                    token = int(input_ids[row, -1])
                    self._ended[row] = token == self.eos_token_id or not constraint.accept(token)
                    self._ended[row] = self._ended[row] or constraint.done
        rows = [GrammarRow(row, c, ended=self._ended[row]) for row, c in enumerate(self.constraints)]
        return mask_logits(scores, rows, self.eos_token_id)


@dataclass
class GrammarRow:
    """One row of a batch as :func:`mask_logits` sees it: its grammar (None: unconstrained),
    whether it has ended (then it may only end), and whether it is past its wrap-up point (then
    it may only close its list)."""

    index: int
    constraint: GrammarConstraint | None
    ended: bool = False
    wrap: bool = False


def mask_logits(
    logits: Any, rows: Sequence[GrammarRow], eos_token_id: int | None, newline_ids: Any = None
) -> Any:
    """``logits`` with every token a row's grammar forbids set to -inf: the one mask of both
    decoding loops (generate's batched sampler and transformers' ``generate`` through
    :class:`GrammarLogitsProcessor`). End of text is allowed where a row's grammar allows nothing
    else (or the row has ended); a row past its wrap-up point may only close its list."""
    import torch

    allowed = torch.ones_like(logits, dtype=torch.bool)
    for row in rows:
        if row.constraint is None:
            continue
        if row.ended:
            mask = torch.zeros(logits.shape[-1], dtype=torch.bool)
        else:
            grammar_mask = row.constraint.allowed()
            if row.wrap:
                grammar_mask = row.constraint.wrap_up(grammar_mask, newline_ids)
            mask = torch.from_numpy(grammar_mask)
        allowed[row.index] = False
        allowed[row.index, : mask.shape[0]] = mask.to(logits.device)
        if eos_token_id is not None and not mask.any():
            allowed[row.index, eos_token_id] = True
    return logits.masked_fill(~allowed, float("-inf"))


def decoding_schema(schema: dict[str, Any], max_chars: int) -> dict[str, Any]:
    """A copy of ``schema`` to decode with: no keys beyond its own, strings of ``max_chars`` at most.

    Without these, a small model can invent keys or write one string until the token limit and
    never close the object. Properties with their own ``maxLength`` keep it.
    """
    bounded = json.loads(json.dumps(schema))
    if bounded.get("type") == "object":
        bounded.setdefault("additionalProperties", False)
    for spec in (bounded.get("properties") or {}).values():
        if spec.get("type") == "string" and "maxLength" not in spec:
            spec["maxLength"] = max_chars
    return bounded
