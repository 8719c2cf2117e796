"""Fast, reproducible sampling of patents: batched decoding with a KV cache, or llama.cpp.

The engines are a declared family: each is a :class:`BaseGenerator` subclass with its own
``from_pretrained``, named in :data:`ENGINES` (``torch``: :class:`PatentGenerator`, any causal
LM, CPU or GPU; ``llama-cpp``: :class:`~patentlab.generate.llama_cpp.LlamaCppGenerator`, SmolLM2
and its fine-tunes exported to GGUF, the fastest on a CPU). :func:`load_generator` builds one by
name; a new engine is one module and one line in :data:`ENGINES` (or :func:`register_engine`).

:class:`PatentGenerator` runs its own decoding loop rather than ``model.generate`` for three
reasons: every row samples from its own seeded random generator, so a patent depends on the
seed and its position in the request, not on what else shared its batch; rows that have
finished are dropped from the batch (and from the KV cache) at once, so long-running rows do
not drag finished ones along; and the prompt pass computes logits for the last position only.
Prompts are sorted by length before batching so that little padding is computed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from patentlab.errors import PatentlabError
from patentlab.generate.formats import TOP_DOWN, check_mode, prompt
from patentlab.generate.generations import Generation
from patentlab.generate.skeleton import check_structure, skeleton_for_prompt
from patentlab.llm.repetition import BAN_LOGIT
from patentlab.llm.structure import SENTENCE_GRACE, GrammarRow, mask_logits

if TYPE_CHECKING:
    import torch

    from patentlab.llm.repetition import RepeatGuard
    from patentlab.llm.structure import GrammarConstraint

_SEED_STRIDE = 1_000_003  # keeps the per-row seeds of neighbouring request seeds apart
#: Tokens of :data:`SENTENCE_GRACE` held back: a list cut off mid-sentence still closes (its line
#: end, then the forced header) before the grace that wrap_after's room planned for runs out.
_GRACE_RESERVE = 4

#: Every sampling engine: name -> ``"module:Class"``, a :class:`BaseGenerator` subclass. Its module
#: is imported only when the engine is loaded, so an optional dependency is needed by its own
#: engine alone.
ENGINES: dict[str, str] = {
    "torch": "patentlab.generate.sample:PatentGenerator",
    "llama-cpp": "patentlab.generate.llama_cpp:LlamaCppGenerator",
}


def row_seed(seed: int, row: int) -> int:
    """The seed of row ``row`` of a request made with ``seed`` (fits llama.cpp's 32 bits)."""
    return (seed * _SEED_STRIDE + row) % 2**32


@dataclass(frozen=True)
class SamplingConfig:
    """The sampling settings of a batch; checked on creation, recorded as provenance.

    ``temperature=0`` decodes greedily; ``top_k=0`` turns top-k off. ``structure="skeleton"``
    forces the patent skeleton (:mod:`patentlab.generate.skeleton`); ``"free"`` samples freely.
    ``no_repeat_ngram_size`` and ``distinct_lines`` keep loops out of each line (the title, the
    abstract, a claim): see :mod:`patentlab.llm.repetition`.
    """

    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 50
    max_new_tokens: int = 256
    repetition_penalty: float = 1.0
    seed: int = 0
    batch_size: int = 32
    structure: str = "skeleton"
    no_repeat_ngram_size: int = 4
    distinct_lines: bool = True

    def __post_init__(self) -> None:
        check_structure(self.structure)
        if self.temperature < 0:
            raise PatentlabError("temperature must be >= 0", field="temperature")
        if not 0 < self.top_p <= 1:
            raise PatentlabError("top_p must be in (0, 1]", field="top_p")
        if self.top_k < 0:
            raise PatentlabError("top_k must be >= 0 (0 turns it off)", field="top_k")
        if self.max_new_tokens < 1 or self.batch_size < 1:
            raise PatentlabError("max_new_tokens and batch_size must be at least 1")
        if self.repetition_penalty <= 0:
            raise PatentlabError("repetition_penalty must be > 0", field="repetition_penalty")
        if self.no_repeat_ngram_size < 0:
            raise PatentlabError(
                "no_repeat_ngram_size must be >= 0 (0 turns it off)", field="no_repeat_ngram_size"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SamplingStats:
    """Timing of the last :meth:`BaseGenerator.generate` call."""

    sequences: int = 0
    new_tokens: int = 0
    seconds: float = 0.0

    @property
    def tokens_per_second(self) -> float:
        return self.new_tokens / self.seconds if self.seconds else 0.0


class BaseGenerator:
    """What every engine offers: a pipeline-style call, patent-shaped :meth:`sample`, timing.

    Mirrors the seed's ``pipeline('text-generation', …)`` usage::

        gen = load_generator("runs/generate/model")          # or a hub id; engine="llama-cpp"
        gen("# Patent\\n\\n## Title", do_sample=True, temperature=0.5,
            num_return_sequences=3, max_new_tokens=32)
        # -> [{"generated_text": "# Patent\\n\\n## Title\\n…"}, …]

    and adds :meth:`sample` (top-down or bottom-up, optionally conditioned on titles or
    claims) returning :class:`Generation` objects that parse. Subclasses implement
    :meth:`_generate`; :meth:`generate` checks the arguments and times the call around it.
    """

    #: The engine's name in :data:`ENGINES`.
    engine: str = ""
    #: The :func:`load_generator` options that :meth:`from_pretrained` reads (the others are
    #: another engine's: ``device`` means nothing to llama.cpp, ``threads`` nothing to torch).
    options: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.last_stats = SamplingStats()

    @property
    def device_name(self) -> str:
        """Where sampling runs, for reports (``"cpu"``, ``"cuda:0"``, ``"cpu (llama.cpp)"``)."""
        raise NotImplementedError

    @property
    def on_gpu(self) -> bool:
        """Whether sampling runs on a GPU (it is then charged per GPU-hour)."""
        return False

    def _vocab_pieces(self) -> Sequence[str]:
        """Every token of the model's vocabulary, decoded on its own (for the repetition guard)."""
        raise NotImplementedError

    def _eos_id(self) -> int | None:
        raise NotImplementedError

    def _new_guard(self, config: SamplingConfig) -> RepeatGuard | None:
        """A fresh repetition guard for one sequence, or None when ``config`` asks for none.

        The vocabulary's line ends and word tokens are worked out once per setting and kept.
        """
        if not (config.no_repeat_ngram_size or config.distinct_lines):
            return None
        from patentlab.llm.repetition import token_guard_factory

        key = (config.no_repeat_ngram_size, config.distinct_lines)
        cached = getattr(self, "_guard_factory", None)
        if cached is None or cached[0] != key:
            factory = token_guard_factory(
                self._vocab_pieces(), self._eos_id(), ngram_size=key[0], distinct_lines=key[1]
            )
            cached = self._guard_factory = (key, factory)
        return cached[1]()

    def generate(
        self,
        prompts: Sequence[str],
        *,
        do_sample: bool = True,
        temperature: float = 0.8,
        top_p: float = 0.95,
        top_k: int = 50,
        max_new_tokens: int = 256,
        repetition_penalty: float = 1.0,
        seed: int = 0,
        batch_size: int = 32,
        structure: str = "skeleton",
        no_repeat_ngram_size: int = 4,
        distinct_lines: bool = True,
        progress: bool = False,
    ) -> list[Generation]:
        """Continue each prompt; the same arguments always give the same texts.

        Row ``i`` samples with its own seed, :func:`row_seed` of ``(seed, i)``. ``temperature=0``
        or ``do_sample=False`` decodes greedily. ``structure="skeleton"`` keeps every text inside
        the patent skeleton its prompt starts (a prompt that breaks it is an error); ``"free"``
        samples freely. ``no_repeat_ngram_size`` and ``distinct_lines`` guard each line against
        loops (:mod:`patentlab.llm.repetition`). The timing goes to :attr:`last_stats`.
        """
        from patentlab import console

        config = SamplingConfig(
            temperature=temperature, top_p=top_p, top_k=top_k, max_new_tokens=max_new_tokens,
            repetition_penalty=repetition_penalty, seed=seed, batch_size=batch_size, structure=structure,
            no_repeat_ngram_size=no_repeat_ngram_size, distinct_lines=distinct_lines,
        )  # fmt: skip
        if structure == "skeleton":  # checked before any decoding starts
            for text in prompts:
                skeleton_for_prompt(text, max_new_tokens)
        start = time.perf_counter()
        with console.progress(transient=True) as bar:
            task = bar.add_task(self._progress_label, total=len(prompts), visible=progress)
            generations = self._generate(
                prompts, config, greedy=not do_sample or temperature == 0,
                advance=lambda rows: bar.update(task, advance=rows),
            )  # fmt: skip
        self.last_stats = SamplingStats(
            len(prompts), sum(g.new_tokens for g in generations), time.perf_counter() - start
        )
        return generations

    #: The progress bar's label while :meth:`generate` runs.
    _progress_label = "sample"

    def _generate(
        self, prompts: Sequence[str], config: SamplingConfig, *, greedy: bool, advance: Callable[[int], None]
    ) -> list[Generation]:
        """The engine's part of :meth:`generate`: ``config`` is checked; call ``advance(k)`` after k rows."""
        raise NotImplementedError

    def __call__(
        self,
        text: str | Sequence[str],
        *,
        do_sample: bool = True,
        temperature: float = 1.0,
        top_p: float = 1.0,
        top_k: int = 50,
        num_return_sequences: int = 1,
        max_new_tokens: int = 256,
        seed: int = 0,
        batch_size: int = 16,
        structure: str = "free",
    ) -> list[dict[str, str]] | list[list[dict[str, str]]]:
        """Pipeline-style call: ``[{"generated_text": …}]`` per input text (free text and no
        repetition guard, as in a transformers pipeline; ``structure="skeleton"`` for
        patent-shaped prompts)."""
        texts = [text] if isinstance(text, str) else list(text)
        prompts = [t for t in texts for _ in range(num_return_sequences)]
        generations = self.generate(
            prompts, do_sample=do_sample, temperature=temperature, top_p=top_p, top_k=top_k,
            max_new_tokens=max_new_tokens, seed=seed, batch_size=batch_size, structure=structure,
            no_repeat_ngram_size=0, distinct_lines=False,
        )  # fmt: skip
        grouped = [
            [{"generated_text": g.text} for g in generations[i : i + num_return_sequences]]
            for i in range(0, len(generations), num_return_sequences)
        ]
        return grouped[0] if isinstance(text, str) else grouped

    def sample(
        self,
        mode: str = TOP_DOWN,
        n: int = 1,
        *,
        titles: Sequence[str] | None = None,
        claims: Sequence[Sequence[str]] | None = None,
        topic: str | Sequence[str] | None = None,
        **kwargs: Any,
    ) -> list[Generation]:
        """``n`` patents in ``mode``; or one per title (top-down) or per claim set (bottom-up).

        ``topic`` (free text or a CPC code, or a list of them: ``n`` patents each) seeds the
        title or claim 1 (:func:`patentlab.generate.formats.prompt`) and is recorded on each
        :class:`Generation`.

        Keyword arguments go to :meth:`generate` (``temperature``, ``top_p``, ``top_k``,
        ``max_new_tokens``, ``seed``, ``batch_size``, ``progress``).
        """
        mode = check_mode(mode)
        if topic is not None:
            from patentlab.generate.topic import resolve_topic

            topics = [resolve_topic(t) for t in ([topic] if isinstance(topic, str) else topic)]
            if not topics or titles is not None or claims is not None or n < 1:
                raise PatentlabError("a topic needs n >= 1 and no titles or claims", field="topic")
            generations = self.generate(
                [prompt(mode, topic=t.words) for t in topics for _ in range(n)], **kwargs
            )
            for i, g in enumerate(generations):
                g.topic = topics[i // n].to_dict()
            return generations
        if titles is not None:
            prompts = [prompt(mode, title=t) for t in titles]
        elif claims is not None:
            prompts = [prompt(mode, claims=c) for c in claims]
        else:
            if n < 1:
                raise PatentlabError("n must be at least 1", field="n")
            prompts = [prompt(mode)] * n
        return self.generate(prompts, **kwargs)


class PatentGenerator(BaseGenerator):
    """The torch engine: batched decoding with a KV cache, for any causal LM on CPU or GPU."""

    engine = "torch"
    options = ("device", "dtype")

    def __init__(self, model: Any, tokenizer: Any) -> None:
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self._newlines: Any = None  # line-break token ids, set when a skeleton is first used
        self._closers: frozenset[int] = frozenset()  # tokens after which a list may close

    @classmethod
    def from_pretrained(
        cls, name_or_path: str | Path | None = None, *, device: str | None = None, dtype: Any = None
    ) -> PatentGenerator:
        """Load a trained run's ``model`` dir, a LoRA adapter, a hub id or the packaged model.

        ``dtype``: a torch dtype, None (float32), or a name as :func:`load_generator` passes it:
        ``"auto"`` (bfloat16 where the hardware computes it natively, see
        :func:`~patentlab.llm.loading.fast_dtype`), ``"float32"``, ``"bfloat16"``.
        """
        import torch

        from patentlab.llm.loading import fast_dtype, load_causal_lm

        if isinstance(dtype, str):
            named = {"float32": torch.float32, "bfloat16": torch.bfloat16}
            if dtype != "auto" and dtype not in named:
                raise PatentlabError(
                    f"unknown dtype '{dtype}'; choose auto, float32 or bfloat16", field="dtype"
                )
            dtype = fast_dtype(device) if dtype == "auto" else named[dtype]
        model, tokenizer = load_causal_lm(name_or_path, device=device, dtype=dtype)
        return cls(model, tokenizer)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def device_name(self) -> str:
        dtype = str(next(self.model.parameters()).dtype).removeprefix("torch.")
        return str(self.device) if dtype == "float32" else f"{self.device} ({dtype})"

    @property
    def on_gpu(self) -> bool:
        return self.device.type == "cuda"

    def _generate(
        self, prompts: Sequence[str], config: SamplingConfig, *, greedy: bool, advance: Callable[[int], None]
    ) -> list[Generation]:
        import torch

        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        results: list[Generation | None] = [None] * len(prompts)
        for b in range(0, len(order), config.batch_size):
            rows = order[b : b + config.batch_size]
            generators = [torch.Generator().manual_seed(row_seed(config.seed, i)) for i in rows]
            with torch.inference_mode():
                new_ids, finished = self._decode(
                    [prompts[i] for i in rows], generators, config, greedy=greedy
                )
            for row, ids, done in zip(rows, new_ids, finished, strict=True):
                continuation = self.tokenizer.decode(ids, skip_special_tokens=True)
                results[row] = Generation(
                    prompts[row], prompts[row] + continuation, len(ids), done, config.seed
                )
            advance(len(rows))
        return [r for r in results if r is not None]

    def _decode(
        self,
        prompts: list[str],
        generators: list[torch.Generator],
        config: SamplingConfig,
        *,
        greedy: bool,
    ) -> tuple[list[list[int]], list[bool]]:
        """Decode one batch; returns each row's new token ids and whether it ended by itself.

        With ``structure="skeleton"`` every row carries a grammar: the logits of tokens it
        forbids are masked before sampling, and tokens it dictates (a section header, the next
        claim's number) are fed one per step without sampling, which keeps the batch in step.
        """
        import torch

        tok = self.tokenizer
        device = self.device
        enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        input_ids = enc["input_ids"].to(device)
        mask = enc["attention_mask"].to(device)
        eos = tok.eos_token_id
        n = len(prompts)
        new_ids: list[list[int]] = [[] for _ in range(n)]
        finished = [False] * n
        active = list(range(n))  # request rows still decoding, in cache order
        grammars = self._grammars(prompts, config)
        forced: list[list[int]] = [g.forced() if g else [] for g in grammars]
        guards = self._guards(input_ids, mask, config)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        out = self.model(input_ids=input_ids, attention_mask=mask, position_ids=positions,
                         use_cache=True, logits_to_keep=1)  # fmt: skip
        cache = out.past_key_values
        # Tokens seen so far, for the repetition penalty; left padding stands in as a real token.
        seen = torch.where(mask.bool(), input_ids, input_ids[:, -1:])
        for _ in range(config.max_new_tokens):
            logits = out.logits[:, -1, :].float()
            if config.repetition_penalty != 1.0:
                logits = _penalise_repeats(logits, seen, config.repetition_penalty)
            free = [j for j, row in enumerate(active) if not forced[row]]
            if any(grammars):
                wrapping = {j for j in free if self._wraps(grammars[active[j]], new_ids[active[j]])}
                rows = [GrammarRow(j, grammars[active[j]], wrap=j in wrapping) for j in free]
                logits = mask_logits(logits, rows, eos, self._newlines)
            if guards:
                logits = _ban_repeats(logits, [(j, guards[active[j]]) for j in free])
            next_ids = torch.empty(len(active), dtype=torch.long, device=device)
            if free:
                free_index = torch.tensor(free, device=device)
                if greedy:
                    next_ids[free_index] = logits[free_index].argmax(-1)
                else:
                    probs = _filtered_probs(
                        logits[free_index], config.temperature, config.top_p, config.top_k
                    ).cpu()
                    next_ids[free_index] = torch.stack([
                        torch.multinomial(probs[k], 1, generator=generators[active[j]])[0]
                        for k, j in enumerate(free)
                    ]).to(device)  # fmt: skip
            keep = []
            for j, row in enumerate(active):
                token = forced[row].pop(0) if forced[row] else int(next_ids[j])
                next_ids[j] = token
                if guards:
                    guards[row].feed((token,))
                grammar = grammars[row]
                if token == eos:
                    finished[row] = True
                    continue
                new_ids[row].append(token)
                if grammar is not None:
                    if not grammar.accept(token) or grammar.done:
                        finished[row] = not grammar.failed
                        continue
                    if not forced[row]:
                        forced[row] = grammar.forced()
                        if forced[row] and _past(grammar, len(new_ids[row])):
                            grammar.wrap_after = None  # the list closed: the next section is free
                        elif _past(grammar, len(new_ids[row])):
                            forced[row] = self._closing(grammar)
                keep.append(j)
            if not keep:
                break
            if len(keep) < len(active):
                # Drop finished rows from every tensor and from the KV cache.
                index = torch.tensor(keep, device=device)
                cache.batch_select_indices(index)
                next_ids, mask, positions, seen = next_ids[index], mask[index], positions[index], seen[index]
                active = [active[j] for j in keep]
            mask = torch.cat([mask, mask.new_ones((len(active), 1))], dim=1)
            positions = positions[:, -1:] + 1
            seen = torch.cat([seen, next_ids[:, None]], dim=1)
            out = self.model(input_ids=next_ids[:, None], attention_mask=mask, position_ids=positions,
                             past_key_values=cache, use_cache=True)  # fmt: skip
        return new_ids, finished

    def _wraps(self, grammar: GrammarConstraint | None, new_ids: list[int]) -> bool:
        """True when a row past its wrap-up point must close its list now: its last token ended a
        sentence or a line, or its grace for finishing the sentence is spent."""
        if not _past(grammar, len(new_ids)):
            return False
        late = len(new_ids) >= grammar.wrap_after + SENTENCE_GRACE - _GRACE_RESERVE  # type: ignore[union-attr, operator]
        return late or (bool(new_ids) and new_ids[-1] in self._closers)

    def _closing(self, grammar: GrammarConstraint) -> list[int]:
        """Past its wrap-up point, an item that may not end yet (claim 1 before its transition)
        is given its section's closing text, once, so that it can close and leave room for what
        follows (:attr:`~patentlab.llm.structure.Section.closing`)."""
        if grammar.closing_tried or not grammar.closing:
            return []
        grammar.closing_tried = True
        ids = self.tokenizer.encode(grammar.closing, add_special_tokens=False)
        return ids if grammar.matcher.validate_tokens(ids) == len(ids) else []

    def _guards(
        self, input_ids: torch.Tensor, mask: torch.Tensor, config: SamplingConfig
    ) -> list[RepeatGuard]:
        """One repetition guard per row, fed its prompt; none when the config asks for none."""
        guards = []
        for ids, keep in zip(input_ids.tolist(), mask.bool().tolist(), strict=True):
            guard = self._new_guard(config)
            if guard is None:
                return []
            guard.feed(t for t, k in zip(ids, keep, strict=True) if k)
            guards.append(guard)
        return guards

    def _vocab_pieces(self) -> Sequence[str]:
        from patentlab.llm.structure import vocab_pieces

        return vocab_pieces(self.tokenizer)

    def _eos_id(self) -> int | None:
        return self.tokenizer.eos_token_id

    def _grammars(self, prompts: Sequence[str], config: SamplingConfig) -> list[GrammarConstraint | None]:
        """One skeleton grammar per prompt, or Nones when sampling is free."""
        if config.structure != "skeleton":
            return [None] * len(prompts)
        from patentlab.llm.structure import newline_token_ids, sentence_end_token_ids, skeleton_constraint

        vocab = self.model.get_output_embeddings().weight.shape[0]
        if self._newlines is None:  # the tokenizer's, so worked out once
            self._newlines = newline_token_ids(self.tokenizer)
            self._closers = sentence_end_token_ids(self.tokenizer) | set(self._newlines.tolist())
        # Rows of one prompt share its compiled grammar; each row gets its own matcher state.
        compiled: dict[str, GrammarConstraint] = {}
        grammars = []
        for text in prompts:
            if text not in compiled:
                skeleton = skeleton_for_prompt(text, config.max_new_tokens)
                compiled[text] = skeleton_constraint(self.tokenizer, skeleton, text, vocab_size=vocab)
                compiled[text].wrap_after = skeleton.wrap_after(text, config.max_new_tokens)
                compiled[text].closing = skeleton.closing(text)
            grammars.append(compiled[text].copy())
        return grammars


def register_engine(name: str, target: str) -> None:
    """Make ``load_generator(engine=name)`` build ``target`` (``"package.module:Class"``)."""
    ENGINES[name] = target


def engine_class(engine: str) -> type[BaseGenerator]:
    """The :class:`BaseGenerator` subclass registered as ``engine`` (its module imported now)."""
    import importlib

    if engine not in ENGINES:
        raise PatentlabError(f"unknown engine '{engine}'; choose one of {', '.join(ENGINES)}", field="engine")
    module, _, name = ENGINES[engine].partition(":")
    return getattr(importlib.import_module(module), name)


def load_generator(
    name_or_path: str | Path | None = None,
    *,
    engine: str = "torch",
    device: str | None = None,
    threads: int | None = None,
    gguf_dtype: str = "f16",
    dtype: str = "auto",
) -> BaseGenerator:
    """A generator for a model: a trained run's ``model`` dir, a hub id, or the packaged SmolLM2.

    ``engine="llama-cpp"`` runs the model in llama.cpp: the packaged GGUF as it ships, a
    fine-tune exported to GGUF once (``gguf_dtype``) and cached. ``device`` and ``dtype``
    (``auto``: bfloat16 where the hardware has it, see :func:`~patentlab.llm.loading.fast_dtype`;
    ``float32``; ``bfloat16``) are for torch, ``threads`` for llama.cpp (its default when None).
    Each engine is given the options it declares (:attr:`BaseGenerator.options`).
    """
    cls = engine_class(engine)
    given = {"device": device, "threads": threads, "gguf_dtype": gguf_dtype, "dtype": dtype}
    return cls.from_pretrained(name_or_path, **{k: v for k, v in given.items() if k in cls.options})


def _filtered_probs(logits: torch.Tensor, temperature: float, top_p: float, top_k: int) -> torch.Tensor:
    """Softmax of ``logits / temperature`` restricted to the top-k and the top-p nucleus."""
    import torch

    logits = logits / temperature
    if 0 < top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, sorted_idx = torch.sort(logits, descending=True, dim=-1)
        sorted_probs = sorted_logits.softmax(-1)
        # Drop a token when the tokens ranked above it already cover top_p (the best always stays).
        drop = sorted_probs.cumsum(-1) - sorted_probs > top_p
        logits = logits.scatter(-1, sorted_idx, sorted_logits.masked_fill(drop, float("-inf")))
    return logits.softmax(-1)


def _penalise_repeats(logits: torch.Tensor, seen: torch.Tensor, penalty: float) -> torch.Tensor:
    """CTRL-style penalty: make every token already in the row less likely."""
    import torch

    scores = logits.gather(-1, seen)
    scores = torch.where(scores > 0, scores / penalty, scores * penalty)
    return logits.scatter(-1, seen, scores)


def _ban_repeats(logits: torch.Tensor, rows: Sequence[tuple[int, RepeatGuard]]) -> torch.Tensor:
    """Push down the logits of the tokens each row's guard bans (see :data:`BAN_LOGIT`)."""
    for j, guard in rows:
        banned = guard.banned()
        if banned:
            logits[j, banned] += BAN_LOGIT
    return logits


def _past(grammar: GrammarConstraint | None, generated: int) -> bool:
    """True when a row must close its current list (see :meth:`Skeleton.wrap_after`)."""
    return grammar is not None and grammar.wrap_after is not None and generated >= grammar.wrap_after
