"""The corpus stage of ``patentlab demo``: ingest the bundled sample, split it, print the card.

The split keeps every labelled record (``--balance weight``): green is scarce in the bundled
data (302 of ~12,000 labelled records), so a balanced sample would throw away 97 % of the labels.
"""

from __future__ import annotations

import json

from patentlab import console
from patentlab.corpus.card import CARD_JSON
from patentlab.corpus.cli import print_card
from patentlab.corpus.ingest import CORPUS_FILE, ingest
from patentlab.corpus.split import split_corpus
from patentlab.data import sample_path
from patentlab.pipeline.context import DemoContext

#: The bundled sources that carry silver labels (claim 1 with CPC), the full records (title,
#: abstract, all claims) that the generator trains on, the raw USPTO XML they came from (its
#: documents repeat the full records' ids, so ingest keeps the first copy of each), and 10,000
#: USPTO abstracts with their CPC codes (abstracts only; 465 without CPC have an unknown label).
DEMO_SOURCES = (
    "y02_claims_1100.csv",
    "cpc_group_claims_1411.csv",
    "full_records_334.jsonl",
    "uspto_xml",
    "uspto_abstracts_cpc_10k.csv.gz",
)
#: The tiny preset (the regression test) ingests the claim files and the full records only:
#: ~2,800 records from three sources, two of them with green claims (the classify stage chooses
#: its model across sources), and no abstracts, so every later stage runs in seconds.
TINY_SOURCES = ("y02_claims_1100.csv", "cpc_group_claims_1411.csv", "full_records_334.jsonl")
#: Green is scarce in the bundled data: keep every labelled record and weight the classes.
DEMO_BALANCE = "weight"


def run(ctx: DemoContext) -> None:
    corpus_dir = ctx.stage_dir("corpus")
    split_dir = ctx.stage_dir("splits")
    if ctx.done("corpus", CORPUS_FILE):
        console.out.print(f"reusing {corpus_dir / CORPUS_FILE}")
    else:
        sources = [str(sample_path(name)) for name in ctx.pick(demo=DEMO_SOURCES, tiny=TINY_SOURCES)]
        with console.progress(transient=True) as bar:
            task = bar.add_task("ingest", total=None)
            report = ingest(
                sources,
                corpus_dir,
                on_duplicate="skip",
                progress=lambda s, n: bar.update(task, completed=n),
            )
        rows = [[s.rsplit("/", 1)[-1], f"{n:,}"] for s, n in report.per_input.items()]
        console.out.print(
            console.table(f"Ingested {report.rows:,} real patents", ["source", "new rows"], rows)
        )
        console.out.print(f"repeated ids skipped: {report.duplicates_skipped:,}")
    if ctx.done("splits", CARD_JSON):
        card = json.loads((split_dir / CARD_JSON).read_text(encoding="utf-8"))
    else:
        card = split_corpus(corpus_dir, split_dir, balance=DEMO_BALANCE)
    print_card(card)
    ctx.outputs.update(corpus=corpus_dir, splits=split_dir)
