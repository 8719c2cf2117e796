"""Who writes the words of a grounded invention that are not claim elements: its title and abstract.

A :class:`~patentlab.generate.combine.Combination` brings its claims, built from real claim
elements. A *writer* adds the title and the abstract, in the direction asked for:

- **top-down**: the title, then the abstract, written from the combination (its subject and
  elements); the claims follow as built;
- **bottom-up**: the abstract, then the title, written from the finished claims.

Two kinds of writer exist, and both return the same
:class:`~patentlab.generate.generations.Generation` rows:

- :class:`PatentLMWriter`: the fine-tuned patent LM (SmolLM2-135M by default) continues the
  patent's markdown (:func:`~patentlab.generate.combine.sample_combined`). It is cheap, but it
  never sees the elements when it writes top-down, only the subject;
- :class:`ChatWriter`: an instruction-tuned chat model (the packaged Qwen2.5-Coder-1.5B-Instruct
  through llama.cpp, or any :class:`~patentlab.llm.chat.LLMBackend`) is given the elements or
  the claims and answers in two turns, in the direction's order (a title, then an abstract, or
  the reverse); the second turn reuses the first's cached prompt.

``docs/generate.md`` compares them (quality per CPU-second) and says which is the default.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from patentlab.claims import parse_claim
from patentlab.errors import PatentlabError
from patentlab.generate.formats import BOTTOM_UP, check_mode, format_patent
from patentlab.llm.chat.base import Sampling

if TYPE_CHECKING:
    from patentlab.generate.combine import Combination
    from patentlab.generate.generations import Generation
    from patentlab.llm.chat import LLMBackend

#: The writer used when none is named: the fine-tuned patent LM (the generate stage's model).
PATENT_LM = "patent-lm"
#: The packaged instruction-tuned model (llama.cpp; ``make llm`` installs it).
QWEN = "qwen2.5-1.5b"
#: Titles longer than this many words are cut at a word boundary before the title gate sees them.
TITLE_WORDS = 16

SYSTEM = (
    "You are a US patent attorney. You write titles and abstracts of patent applications, plainly "
    "and in the style of US patents. You never mention claims, claim numbers, 'this invention' or "
    "'this patent', and you never praise the invention."
)
ASK = {
    "title": "Write the title of this application: a plain noun phrase of at most 12 words. "
    "Answer with the title only.",
    "abstract": "Write the abstract of this application: one paragraph of two or three sentences, "
    "50 to 100 words, that says in your own words what it is and how its parts work together; do "
    "not copy the wording of the claims. Answer with the abstract only.",
}
LIMITS = {"title": 24, "abstract": 140}
#: The worked example shown before every combination: a real granted patent from the bundled
#: full records (US 8,419,064 B2; its title, abstract and claims), so that the model sees the
#: register of a real title and abstract rather than a description of it.
EXAMPLE_ID = "08419064"


@runtime_checkable
class InventionWriter(Protocol):
    """Anything that writes the title and abstract of combinations, in one direction."""

    name: str
    engine: str
    device_name: str
    on_gpu: bool
    source: str | None

    def write(
        self,
        combos: Sequence[Combination],
        mode: str,
        *,
        seed: int = 0,
        progress: bool = False,
        **sampling: Any,
    ) -> list[Generation]: ...


class PatentLMWriter:
    """The fine-tuned patent LM continues the patent's markdown (a
    :class:`~patentlab.generate.sample.BaseGenerator`: torch or llama.cpp)."""

    def __init__(self, generator: Any) -> None:
        self.generator = generator
        self.name = PATENT_LM
        self.engine = generator.engine
        self.device_name = generator.device_name
        self.on_gpu = generator.on_gpu
        self.source = getattr(generator, "source", None)

    def write(
        self,
        combos: Sequence[Combination],
        mode: str,
        *,
        seed: int = 0,
        progress: bool = False,
        **sampling: Any,
    ) -> list[Generation]:
        from patentlab.generate.combine import sample_combined

        return sample_combined(self.generator, combos, mode, seed=seed, progress=progress, **sampling)


class ChatWriter:
    """An instruction-tuned chat model writes the title and abstract from the combination.

    Args:
        backend: any :class:`~patentlab.llm.chat.LLMBackend` (llama.cpp, HTTP, transformers).
        source: the model file or id, for provenance.

    Example::

        writer = ChatWriter.from_name("qwen2.5-1.5b", threads=2)
        generations = writer.write(combos, "bottom-up", seed=0, temperature=0.7)
    """

    device_name = "cpu"
    on_gpu = False

    def __init__(self, backend: LLMBackend, *, source: str | None = None) -> None:
        self.backend = backend
        self.source = source
        self.name = backend.name
        self.engine = backend.name.split(":", 1)[0]  # "llama.cpp", "transformers", "http"

    @classmethod
    def from_name(cls, model: str = QWEN, *, threads: int | None = None) -> ChatWriter:
        """A llama.cpp writer for a packaged GGUF (``qwen2.5-1.5b``), a ``.gguf`` file or a hub file."""
        from patentlab.llm.chat.llamacpp import LlamaCppBackend

        # 4096 tokens: the worked example and the longest claim sets built fit with room. Every
        # core by default: llama.cpp's own default is half of them.
        backend = LlamaCppBackend(model, n_ctx=4096, n_threads=threads or os.cpu_count())
        return cls(backend, source=str(backend.path))

    def conversation(self, combo: Combination, mode: str) -> list[dict[str, str]]:
        """The chat's first prompt: the system message, the worked example answered in ``mode``'s
        order, and the combination (its elements top-down, its claims bottom-up) with the first ask."""
        mode = check_mode(mode)
        example = example_record()
        chat = [{"role": "system", "content": SYSTEM}]
        for turn, part in enumerate(_order(mode)):
            shown = _shown(mode, example["claims"], parse_claim(example["claims"][0])) if turn == 0 else None
            chat.append({"role": "user", "content": _ask(part, turn, shown)})
            chat.append({"role": "assistant", "content": example[part]})
        first = _order(mode)[0]
        chat.append({"role": "user", "content": _ask(first, 0, _shown(mode, combo.claims, None, combo))})
        return chat

    def write(
        self,
        combos: Sequence[Combination],
        mode: str,
        *,
        seed: int = 0,
        progress: bool = False,
        **sampling: Any,
    ) -> list[Generation]:
        """Two turns per combination, in ``mode``'s order: top-down the title, then the abstract;
        bottom-up the abstract, then the title. The second turn repeats the first's prompt, so
        llama.cpp reuses its cached prefix and pays only for the new words."""
        from patentlab import console
        from patentlab.generate.generations import Generation

        mode = check_mode(mode)
        temperature = float(sampling.get("temperature", 0.7))
        top_p = float(sampling.get("top_p", 0.95))
        out: list[Generation] = []
        with console.progress(transient=True) if progress else contextlib.nullcontext() as bar:
            task = bar.add_task(f"writing {mode} titles and abstracts", total=len(combos)) if bar else None
            for i, combo in enumerate(combos):
                chat = self.conversation(combo, mode)
                written, tokens = {}, 0
                for turn, part in enumerate(_order(mode)):
                    if turn:
                        chat.append({"role": "user", "content": _ask(part, turn, None)})
                    decoding = Sampling(temperature, top_p, seed + 2 * i + turn)  # reproducible
                    reply = self.backend.generate([chat], max_tokens=LIMITS[part], sampling=decoding)[0]
                    written[part] = CLEAN[part](reply.text)
                    tokens += reply.n_tokens or (
                        len(reply.tokens) if reply.tokens else _approx_tokens(reply.text)
                    )
                    chat.append({"role": "assistant", "content": written[part]})
                record = {**written, "claims": combo.claims}
                out.append(
                    Generation(
                        prompt=chat[-4]["content"], text=format_patent(record, mode),
                        new_tokens=tokens, finished=all(written.values()), seed=seed + 2 * i,
                        combination=combo.to_dict(),
                    )
                )  # fmt: skip
                if bar:
                    bar.advance(task)
        return out


def _order(mode: str) -> tuple[str, str]:
    return ("abstract", "title") if mode == BOTTOM_UP else ("title", "abstract")


def _ask(part: str, turn: int, shown: str | None) -> str:
    """The user's turn: what is shown (first turn only), then what to write."""
    ask = ASK[part] if turn == 0 else f"Now {ASK[part][0].lower()}{ASK[part][1:]}"
    return f"{shown}\n\n{ask}" if shown else ask


def _shown(mode: str, claims: Sequence[str], anatomy: Any, combo: Combination | None = None) -> str:
    """What the writer is given: top-down the claimed subject and its elements, bottom-up the claims."""
    if mode == BOTTOM_UP:
        numbered = [c if c[:1].isdigit() else f"{n}. {c}" for n, c in enumerate(claims, start=1)]
        return "Claims:\n" + "\n".join(numbered)
    if combo is not None:
        subject, elements = combo.preamble, [e.text for e in combo.elements]
    else:
        subject, elements = anatomy.preamble, anatomy.elements
    return f"Subject: {subject}\nElements:\n" + "\n".join(f"- {e}" for e in elements)


@functools.lru_cache(maxsize=1)
def example_record() -> dict[str, Any]:
    """The worked example (:data:`EXAMPLE_ID`) read from the bundled full records."""
    from patentlab.data import sample_path
    from patentlab.generate.data import iter_full_records

    for record in iter_full_records([str(sample_path("full_records_334.jsonl"))]):
        if record.get("id") == EXAMPLE_ID:
            return {"title": record["title"], "abstract": record["abstract"], "claims": record["claims"][:2]}
    raise PatentlabError(f"the writer's worked example {EXAMPLE_ID} is missing from the bundled records")


def _unlabel(text: str) -> str:
    """The reply without a label, quotes or markdown ("**Title:** "A lamp"" -> "A lamp")."""
    text = " ".join(text.replace("*", "").split())
    text = _LABEL.sub("", text)
    return text.strip().strip('"').strip()


def clean_title(text: str) -> str:
    """The first line of a title reply, unlabelled, at most :data:`TITLE_WORDS` words, no final stop."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    title = _unlabel(first).rstrip(" .")
    return " ".join(title.split()[:TITLE_WORDS])


def clean_abstract(text: str) -> str:
    """An abstract reply as one paragraph, unlabelled, ending at its last full sentence."""
    abstract = _unlabel(text)
    end = abstract.rfind(".")
    return abstract[: end + 1] if end > 0 else abstract


CLEAN = {"title": clean_title, "abstract": clean_abstract}
_LABEL = re.compile(r"^(?:title|abstract)\s*:\s*", re.I)


def _approx_tokens(text: str) -> int:
    # A backend that does not report tokens (HTTP without logprobs): about 4 characters a token.
    return max(1, len(text) // 4)


def load_writer(
    writer: str | Path | None, generator_loader: Any = None, *, threads: int | None = None
) -> InventionWriter:
    """The writer named ``writer``: ``patent-lm`` (or None; ``generator_loader()`` loads the
    patent LM), ``qwen2.5-1.5b``, or a ``.gguf`` file / ``owner/repo:file.gguf`` for llama.cpp."""
    if writer is None or str(writer) == PATENT_LM:
        if generator_loader is None:
            raise PatentlabError("the patent-lm writer needs the generator to load")
        return PatentLMWriter(generator_loader())
    return ChatWriter.from_name(str(writer), threads=threads)


def chat_writer_available() -> bool:
    """Whether the packaged chat writer can run here: llama-cpp-python and the Qwen parts
    (``make llm`` installs both)."""
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        return False
    from patentlab.llm.gguf import packaged_qwen_gguf

    try:
        packaged_qwen_gguf()
    except PatentlabError:
        return False
    return True


__all__ = [
    "PATENT_LM",
    "QWEN",
    "ChatWriter",
    "InventionWriter",
    "PatentLMWriter",
    "chat_writer_available",
    "load_writer",
]
