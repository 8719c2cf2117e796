"""The batch jobs both engines run: embed, predict, generate (+ structural vetting).

A job is a small picklable description (model, parameters). :meth:`Job.load` builds its *worker*
once per process or Ray actor (that is where models load); the worker turns one shard's input
table into its output table. Both engines call the same worker on the same shards, so their
outputs are the same. What a worker writes depends only on the shard's rows and the job's spec,
never on which process ran it or what ran before it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from patentlab.errors import PatentlabError
from patentlab.scale.shards import Shard

Worker = Callable[[pa.Table, Shard], pa.Table]


def _set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(max(1, threads))


def _texts(table: pa.Table, text_column: str | None, where: str) -> list[str]:
    """Claim text per row: ``text_column``, else ``text``, else claim 1 of ``claims``."""
    from patentlab.tables import claim_text, text_column_of

    column = text_column_of(table.column_names, text_column, where)
    return [claim_text(v) for v in table.column(column).to_pylist()]


def _ids(table: pa.Table) -> pa.Array:
    if "id" in table.column_names:
        return table.column("id").combine_chunks().cast(pa.string())
    raise PatentlabError("the input has no 'id' column", field="id")


@dataclass(frozen=True)
class Job:
    """Base of the jobs: a name, the input columns it needs, and its spec for the manifest."""

    kind: ClassVar[str] = ""

    def columns(self) -> list[str] | None:
        """Input columns to read (None: all)."""
        return None

    def spec(self) -> dict[str, Any]:
        """Everything that determines the output; a resumed job must have the same spec."""
        return {"kind": self.kind, **asdict(self)}

    def load(self, threads: int | None = None) -> Worker:
        raise NotImplementedError


@dataclass(frozen=True)
class EmbedJob(Job):
    """Mean-pooled embeddings of each row's claim text (:class:`patentlab.embed.Encoder`).

    Output columns: ``id``, ``embedding`` (float32 list of the model's width).
    """

    kind: ClassVar[str] = "embed"
    model: str = "minilm"
    text_column: str | None = None
    max_length: int = 384
    dtype: str = "fp32"
    batch_size: int = 32

    def load(self, threads: int | None = None) -> Worker:
        from patentlab.embed import Encoder

        _set_threads(threads)
        # No embedding cache: the job's output is the store, and a vector computed in another
        # batch could differ in its last bits from this shard's.
        encoder = Encoder(
            self.model, max_length=self.max_length, dtype=self.dtype, batch_size=self.batch_size, cache=False
        )

        def work(table: pa.Table, shard: Shard) -> pa.Table:
            vectors = encoder.encode(_texts(table, self.text_column, shard.path), show_progress=False)
            flat = pa.array(vectors.reshape(-1), type=pa.float32())
            embedding = pa.FixedSizeListArray.from_arrays(flat, encoder.dim)
            return pa.table({"id": _ids(table), "embedding": embedding})

        return work


@dataclass(frozen=True)
class PredictJob(Job):
    """``p_green`` and ``label`` for each row with a saved classifier (fine-tuned or baseline).

    Rows with empty text get nulls. Output columns: ``id``, ``p_green``, ``label``.
    """

    kind: ClassVar[str] = "predict"
    model: str = ""
    text_column: str | None = None
    threshold: float = 0.5
    batch_size: int = 32

    def load(self, threads: int | None = None) -> Worker:
        _set_threads(threads)
        predict = load_predictor(self.model, self.batch_size)

        def work(table: pa.Table, shard: Shard) -> pa.Table:
            texts = _texts(table, self.text_column, shard.path)
            keep = [i for i, t in enumerate(texts) if t.strip()]
            p = np.full(len(texts), np.nan)
            if keep:
                p[keep] = predict([texts[i] for i in keep])
            mask = np.isnan(p)
            p_green = pa.array(p, type=pa.float64(), mask=mask)
            label = pa.array((p >= self.threshold).astype(np.int8), type=pa.int8(), mask=mask)
            return pa.table({"id": _ids(table), "p_green": p_green, "label": label})

        return work


def load_predictor(model_dir: str | Path, batch_size: int = 32) -> Callable[[list[str]], np.ndarray]:
    """``texts -> p_green`` for a classifier folder, without the on-disk embedding cache.

    Any classifier kind loads. Kinds with a frozen encoder embed through the shared cache by
    default; scale jobs embed afresh so that every engine computes every vector the same way (and
    many actors never write one cache).
    """
    from patentlab.classify.family import load_classifier, prepare_encoder

    model = load_classifier(model_dir)
    prepare_encoder(model, batch_size=batch_size, cache=False)  # now, with the worker, not in its first batch
    return lambda texts: model.predict_proba(texts, show_progress=False)[:, 1]


#: What a generation is conditioned on: nothing, the row's title (top-down), its claims (bottom-up).
CONDITIONS = {"none": None, "title": "top-down", "claims": "bottom-up"}


def shard_seed(seed: int, shard_index: int) -> int:
    """A stable 31-bit seed per (job seed, shard): the same on every engine and every resume."""
    digest = hashlib.sha256(f"{seed}:{shard_index}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


@dataclass(frozen=True)
class GenerateJob(Job):
    """Sample one invention per input row and vet its structure.

    Output columns: ``id``, ``prompt``, ``text``, ``new_tokens``, ``finished``, ``seed``,
    ``accepted`` (all structural checks of :mod:`patentlab.vet.checks` pass) and ``failures``
    (JSON ``{check: detail}``). Row ``i`` of shard ``k`` samples from ``(shard_seed(seed, k), i)``.
    """

    kind: ClassVar[str] = "generate"
    model: str | None = None
    mode: str = "top-down"
    condition: str = "none"
    seed: int = 0
    max_new_tokens: int = 256
    temperature: float = 0.8
    top_p: float = 0.95
    top_k: int = 50
    batch_size: int = 8
    vet: bool = True

    def __post_init__(self) -> None:
        from patentlab.generate.formats import check_mode

        check_mode(self.mode)
        if self.condition not in CONDITIONS:
            raise PatentlabError(f"condition must be one of {', '.join(CONDITIONS)}", field="condition")
        if CONDITIONS[self.condition] not in (None, self.mode):
            raise PatentlabError(
                f"condition '{self.condition}' needs mode {CONDITIONS[self.condition]}", field="condition"
            )

    def columns(self) -> list[str] | None:
        return ["id"] + ([self.condition] if self.condition != "none" else [])

    def _prompts(self, table: pa.Table) -> list[str]:
        from patentlab.generate.formats import prompt

        if self.condition == "none":
            return [prompt(self.mode)] * table.num_rows
        values = table.column(self.condition).to_pylist()
        if self.condition == "title":
            return [prompt(self.mode, title=v) if v else prompt(self.mode) for v in values]
        return [prompt(self.mode, claims=list(v)) if v else prompt(self.mode) for v in values]

    def load(self, threads: int | None = None) -> Worker:
        from patentlab.generate.sample import PatentGenerator

        _set_threads(threads)
        generator = PatentGenerator.from_pretrained(self.model)

        def work(table: pa.Table, shard: Shard) -> pa.Table:
            generations = generator.generate(
                self._prompts(table),
                temperature=self.temperature,
                top_p=self.top_p,
                top_k=self.top_k,
                max_new_tokens=self.max_new_tokens,
                seed=shard_seed(self.seed, shard.index),
                batch_size=self.batch_size,
            )
            out = {
                "id": _ids(table),
                "prompt": pa.array([g.prompt for g in generations], pa.string()),
                "text": pa.array([g.text for g in generations], pa.string()),
                "new_tokens": pa.array([g.new_tokens for g in generations], pa.int32()),
                "finished": pa.array([g.finished for g in generations], pa.bool_()),
                "seed": pa.array([g.seed for g in generations], pa.int64()),
            }
            if self.vet:
                verdicts = [vet_structure(g.text, g.finished) for g in generations]
                out["accepted"] = pa.array([not v for v in verdicts], pa.bool_())
                out["failures"] = pa.array([json.dumps(v, sort_keys=True) for v in verdicts], pa.string())
            return pa.table(out)

        return work


def vet_structure(text: str, finished: bool) -> dict[str, str]:
    """The failed structural checks of one generated text, as in ``patentlab vet`` (no novelty).

    Novelty against the training corpus needs one index over the whole corpus; it stays a
    separate ``patentlab vet`` pass over the accepted rows.
    """
    from patentlab.generate.parse import parse_patent
    from patentlab.vet.checks import run_checks
    from patentlab.vet.vetting import drop_cut_claim

    return run_checks(drop_cut_claim(parse_patent(text, finished=finished))).failures


JOBS: dict[str, type[Job]] = {"embed": EmbedJob, "predict": PredictJob, "generate": GenerateJob}
