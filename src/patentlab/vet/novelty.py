"""Novelty against the training corpus: is a generated invention a copy of a training document?

Three signals, each with the training document it points at:

* **MinHash LSH** on word 5-gram shingles (``datasketch``) finds documents whose shingle sets
  overlap the generation's (estimated Jaccard similarity) without comparing against every
  document.
* **Longest common token run**: the longest stretch of words the generation shares verbatim with
  any training document. Every shared run of at least ``seed_n`` words shares a ``seed_n``-gram,
  so a sorted array of hashed ``seed_n``-grams over the corpus yields all seed matches with one
  ``searchsorted``; matches on the same diagonal (document position minus generation position)
  that follow each other are one run. This is exact for runs of at least ``seed_n`` words and
  never compares the generation with a document it shares nothing with.
* **Nearest-neighbour cosine** of mean-pooled sentence embeddings (the embed step's encoder),
  which also catches a lightly reworded copy that breaks up the verbatim runs.

A generation is a *reproduction* when any signal crosses its threshold; :class:`NoveltyResult`
says which and names the document it copied.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from patentlab import console
from patentlab.errors import PatentlabError
from patentlab.jsonl import iter_objects
from patentlab.vet.text import ngrams, words

_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # an odd 64-bit constant (golden ratio)


@dataclass(frozen=True)
class NoveltyConfig:
    """Thresholds and settings of the novelty index (defaults calibrated on the bundled corpus).

    Attributes:
        shingle_n: words per MinHash shingle.
        num_perm: MinHash permutations.
        max_jaccard: estimated Jaccard at or above which a document counts as copied (also the
            LSH threshold, so documents below it are not even candidates).
        seed_n: words per seed of the common-run index (the shortest run it can see).
        max_common_run: longest verbatim run, in words, still allowed.
        max_cosine: nearest-neighbour cosine at or above which a generation is a reproduction.
        encoder: the embed step's model (``minilm``, ``mpnet``, hub id, path); None skips cosine.
        max_length: tokens per text for the encoder.
    """

    shingle_n: int = 5
    num_perm: int = 128
    max_jaccard: float = 0.3
    seed_n: int = 8
    max_common_run: int = 40
    max_cosine: float = 0.95
    encoder: str | None = "minilm"
    max_length: int = 256


@dataclass
class TrainingDocument:
    """One training document: its id, its text (title, abstract and claims) and its front page
    (title and abstract only: what the writer of a grounded invention writes)."""

    id: str
    text: str
    front: str = ""


@dataclass
class NoveltyResult:
    """How close one generation comes to the training corpus.

    Attributes:
        jaccard, jaccard_doc: the highest estimated 5-gram Jaccard among LSH candidates, and its
            document (0.0 and None when no document is a candidate).
        common_run, common_run_doc, common_run_text: the longest verbatim word run shared with
            a training document, that document, and the run itself (shortened for reports).
        cosine, cosine_doc: the nearest neighbour's cosine and document (None without encoder).
        reproduction_of: the document copied, when any signal crossed its threshold.
        reasons: the signals that crossed their thresholds.
    """

    jaccard: float = 0.0
    jaccard_doc: str | None = None
    common_run: int = 0
    common_run_doc: str | None = None
    common_run_text: str = ""
    cosine: float | None = None
    cosine_doc: str | None = None
    reproduction_of: str | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def is_reproduction(self) -> bool:
        return self.reproduction_of is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def patent_text(title: str | None, abstract: str | None, claims: Iterable[str]) -> str:
    """The text novelty compares: title, abstract and claims, in that order, one per line."""
    return "\n".join(part for part in (title, abstract, *claims) if part)


def _ngram_hashes(ids: np.ndarray, n: int) -> np.ndarray:
    """64-bit polynomial hashes of every ``n``-gram of token ids (wrapping arithmetic)."""
    if len(ids) < n:
        return np.zeros(0, dtype=np.uint64)
    h = np.zeros(len(ids) - n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _HASH_MULTIPLIER + ids[k : len(ids) - n + 1 + k].astype(np.uint64)
    return h


class NoveltyIndex:
    """An index of training documents that answers "how much of this text is copied, and from where".

    Example:
        >>> index = NoveltyIndex().fit(docs)          # docs: TrainingDocument list
        >>> result = index.query([generated_text])[0]
        >>> result.is_reproduction, result.reproduction_of
    """

    def __init__(self, config: NoveltyConfig | None = None) -> None:
        self.config = config or NoveltyConfig()
        self.doc_ids: list[str] = []
        self._doc_tokens: list[np.ndarray] = []
        self._vocab: dict[str, int] = {}
        self._encoder: Any = None
        self._doc_vectors: np.ndarray | None = None

    # -- building -------------------------------------------------------------------------------

    def _ids(self, tokens: Sequence[str], grow: bool) -> np.ndarray:
        if grow:
            return np.array([self._vocab.setdefault(t, len(self._vocab) + 1) for t in tokens], dtype=np.int64)
        # Words the corpus never used cannot be part of a shared run: give each its own id.
        return np.array([self._vocab.get(t, -1 - i) for i, t in enumerate(tokens)], dtype=np.int64)

    def _minhash(self, tokens: Sequence[str]) -> Any:
        from datasketch import MinHash

        mh = MinHash(num_perm=self.config.num_perm, seed=1)
        shingles = {" ".join(g).encode("utf-8") for g in ngrams(tokens, self.config.shingle_n)}
        if shingles:
            mh.update_batch(list(shingles))
        return mh

    def fit(self, documents: Sequence[TrainingDocument], *, show_progress: bool = True) -> NoveltyIndex:
        """Index ``documents`` (shingles, seed n-grams and, with an encoder, embeddings)."""
        from datasketch import MinHashLSH

        if not documents:
            raise PatentlabError("the training corpus for novelty checks is empty")
        cfg = self.config
        self.doc_ids = [d.id for d in documents]
        self.documents = list(documents)  # the real side of vetting's realism score
        self._lsh = MinHashLSH(threshold=cfg.max_jaccard, num_perm=cfg.num_perm)
        self._minhashes = []
        hashes, doc_of, pos_of = [], [], []
        bar = console.progress(transient=True)
        task = bar.add_task("index training documents", total=len(documents))
        with bar if show_progress else contextlib.nullcontext():
            for i, doc in enumerate(documents):
                tokens = words(doc.text)
                mh = self._minhash(tokens)
                self._minhashes.append(mh)
                if len(tokens) >= cfg.shingle_n:
                    self._lsh.insert(str(i), mh)
                ids = self._ids(tokens, grow=True)
                self._doc_tokens.append(ids)
                h = _ngram_hashes(ids, cfg.seed_n)
                hashes.append(h)
                doc_of.append(np.full(len(h), i, dtype=np.int32))
                pos_of.append(np.arange(len(h), dtype=np.int32))
                bar.advance(task)
        all_hashes = np.concatenate(hashes)
        order = np.argsort(all_hashes, kind="stable")
        self._seed_hashes = all_hashes[order]
        self._seed_doc = np.concatenate(doc_of)[order]
        self._seed_pos = np.concatenate(pos_of)[order]
        if cfg.encoder:
            self._doc_vectors = self.embed([d.text for d in documents], show_progress, "embed training docs")
        return self

    def embed(
        self, texts: Sequence[str], show_progress: bool = False, description: str = "embed"
    ) -> np.ndarray:
        """Unit-length embeddings of ``texts`` with the configured encoder (cached on disk)."""
        if not self.config.encoder:
            raise PatentlabError("this novelty index has no encoder")
        if self._encoder is None:
            from patentlab.embed.encoder import Encoder

            self._encoder = Encoder(self.config.encoder, max_length=self.config.max_length)
        vectors = self._encoder.encode(list(texts), show_progress=show_progress, description=description)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.clip(norms, 1e-12, None)

    # -- querying -------------------------------------------------------------------------------

    def longest_common_run(self, text: str, exclude: str | None = None) -> tuple[int, str | None, str]:
        """The longest verbatim word run ``text`` shares with a training document.

        Returns ``(length in words, document id, the run's words)``; ``(0, None, "")`` when no
        run reaches ``seed_n`` words. ``exclude`` skips one document id (leave-one-out checks).
        """
        return self._longest_run(words(text), exclude)

    def _longest_run(self, tokens: list[str], exclude: str | None) -> tuple[int, str | None, str]:
        n = self.config.seed_n
        ids = self._ids(tokens, grow=False)
        q = _ngram_hashes(ids, n)
        if not len(q):
            return 0, None, ""
        lo = np.searchsorted(self._seed_hashes, q, side="left")
        hi = np.searchsorted(self._seed_hashes, q, side="right")
        counts = hi - lo
        if not counts.any():
            return 0, None, ""
        gen_pos = np.repeat(np.arange(len(q)), counts)
        # Every index in [lo, hi) for each query n-gram, without a Python loop.
        starts = np.repeat(lo - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        flat = starts + np.arange(counts.sum())
        doc, doc_pos = self._seed_doc[flat], self._seed_pos[flat]
        if exclude is not None and exclude in self.doc_ids:
            keep = doc != self.doc_ids.index(exclude)
            gen_pos, doc, doc_pos = gen_pos[keep], doc[keep], doc_pos[keep]
            if not len(doc):
                return 0, None, ""
        diagonal = doc_pos.astype(np.int64) - gen_pos
        order = np.lexsort((gen_pos, diagonal, doc))
        gen_pos, doc, diagonal = gen_pos[order], doc[order], diagonal[order]
        # A run continues while the document and diagonal stay the same and gen_pos steps by 1.
        new_run = np.ones(len(doc), dtype=bool)
        new_run[1:] = (doc[1:] != doc[:-1]) | (diagonal[1:] != diagonal[:-1]) | (np.diff(gen_pos) != 1)
        run_starts = np.flatnonzero(new_run)
        lengths = np.diff(np.append(run_starts, len(doc)))
        best = int(np.argmax(lengths))
        first = run_starts[best]
        length_words = int(lengths[best]) + n - 1
        start = int(gen_pos[first])
        run_doc = int(doc[first])
        doc_start = int(diagonal[first]) + start
        # Guard against a 64-bit hash collision: confirm the run word for word.
        doc_tokens = self._doc_tokens[run_doc][doc_start : doc_start + length_words]
        if not np.array_equal(doc_tokens, ids[start : start + length_words]):
            return 0, None, ""
        return length_words, self.doc_ids[run_doc], " ".join(tokens[start : start + length_words])

    def _jaccard(self, tokens: list[str], exclude: str | None) -> tuple[float, str | None]:
        if len(tokens) < self.config.shingle_n:
            return 0.0, None
        mh = self._minhash(tokens)
        best, best_doc = 0.0, None
        for key in self._lsh.query(mh):
            i = int(key)
            if self.doc_ids[i] == exclude:
                continue
            score = float(mh.jaccard(self._minhashes[i]))
            if score > best:
                best, best_doc = score, self.doc_ids[i]
        return best, best_doc

    def query(
        self,
        texts: Sequence[str],
        *,
        exclude: Sequence[str | None] | None = None,
        show_progress: bool = False,
    ) -> list[NoveltyResult]:
        """Novelty of each text against the training documents.

        ``exclude`` names, per text, one document id to leave out (to measure how close real
        documents come to the rest of the corpus).
        """
        if not self.doc_ids:
            raise PatentlabError("the novelty index is empty; call fit() first")
        cfg = self.config
        exclude = list(exclude) if exclude is not None else [None] * len(texts)
        results = []
        for text, skip in zip(texts, exclude, strict=True):
            result, tokens = NoveltyResult(), words(text)
            result.jaccard, result.jaccard_doc = self._jaccard(tokens, skip)
            run, run_doc, run_text = self._longest_run(tokens, skip)
            result.common_run, result.common_run_doc = run, run_doc
            result.common_run_text = run_text if len(run_text) <= 300 else run_text[:297] + "…"
            results.append(result)
        if self._doc_vectors is not None and texts:
            vectors = self.embed(texts, show_progress, "embed generations")
            sims = vectors @ self._doc_vectors.T
            for row, (result, skip) in enumerate(zip(results, exclude, strict=True)):
                if skip is not None and skip in self.doc_ids:
                    sims[row, self.doc_ids.index(skip)] = -1.0
                j = int(np.argmax(sims[row]))
                result.cosine, result.cosine_doc = round(float(sims[row, j]), 4), self.doc_ids[j]
        for result in results:
            if result.jaccard >= cfg.max_jaccard:
                result.reasons.append(f"5-gram Jaccard {result.jaccard:.2f} ≥ {cfg.max_jaccard:g}")
                result.reproduction_of = result.reproduction_of or result.jaccard_doc
            if result.common_run > cfg.max_common_run:
                result.reasons.append(f"{result.common_run} words copied verbatim (max {cfg.max_common_run})")
                result.reproduction_of = result.reproduction_of or result.common_run_doc
            if result.cosine is not None and result.cosine >= cfg.max_cosine:
                result.reasons.append(f"embedding cosine {result.cosine:.3f} ≥ {cfg.max_cosine:g}")
                result.reproduction_of = result.reproduction_of or result.cosine_doc
        return results


def load_training_documents(source: str | Path) -> list[TrainingDocument]:
    """The generator's training documents, one per record, from any of:

    * a ``patentlab generate build-data`` directory (its ``train.jsonl``, parsed back with the
      generator's parser; the two formats of a record become one document);
    * a corpus directory or any file the corpus readers accept (``full_records_334.jsonl``…).
    """
    from patentlab.generate.data import TRAIN_FILE, iter_full_records
    from patentlab.generate.formats import claim_items, clean_field

    path = Path(source)
    docs: dict[str, TrainingDocument] = {}
    if path.is_dir() and (path / TRAIN_FILE).exists():
        from patentlab.generate.parse import parse_patent

        for row, obj in iter_objects(path / TRAIN_FILE):
            if "id" not in obj or "text" not in obj:
                raise PatentlabError(
                    "not a training row with 'id' and 'text'", path=path / TRAIN_FILE, row=row
                )
            doc_id = str(obj["id"])
            if doc_id not in docs:
                parsed = parse_patent(obj["text"], finished=True)
                docs[doc_id] = TrainingDocument(
                    doc_id,
                    patent_text(parsed.title, parsed.abstract, parsed.claims),
                    patent_text(parsed.title, parsed.abstract, []),
                )
    else:
        if not path.exists():
            raise PatentlabError("no such training corpus", path=path)
        for record in iter_full_records([str(path)]):
            claims = [text for _, text in claim_items(record.get("claims") or [])]
            title, abstract = clean_field(record.get("title")), clean_field(record.get("abstract"))
            text = patent_text(title, abstract, claims)
            if text and record["id"] not in docs:
                docs[record["id"]] = TrainingDocument(record["id"], text, patent_text(title, abstract, []))
    if not docs:
        raise PatentlabError("no training documents found", path=path)
    return list(docs.values())
