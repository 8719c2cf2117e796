"""Property tests on every parser of outside input: nothing but PatentlabError escapes, round trips hold.

The targets and strategies live in ``tests/fuzz_harness.py``, shared with ``benchmarks/bench_fuzz.py``
(the longer, counted run). Here each parser gets a modest number of examples, so the suite stays fast.
"""

from __future__ import annotations

import pytest
from fuzz_harness import TARGETS, strategies
from hypothesis import HealthCheck, given, settings

STRATEGIES = strategies()
EXAMPLES = {"csv": 60, "jsonl": 60, "parquet": 60, "uspto_xml": 40, "markdown": 200, "llm_json": 300}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_parser_never_raises_anything_but_patentlab_error(name):
    run = settings(
        max_examples=EXAMPLES[name],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )(given(STRATEGIES[name])(TARGETS[name]))
    run()


def test_csv_with_carriage_return_line_ends_reads(tmp_path):
    """Found by bench_fuzz: a bare \\r in the header line crashed read_header with csv.Error."""
    from patentlab.corpus.readers import read_source

    TARGETS["csv"](b"~\rN")
    path = tmp_path / "claims.csv"
    path.write_bytes(b"id,text\r1,A pump that moves water.\r")
    assert [t.num_rows for t in read_source(str(path))] == [1]
