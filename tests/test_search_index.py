"""The hybrid index on real documents: filters, fusion, persistence, incremental adds, odd queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pytest

from patentlab.errors import PatentlabError
from patentlab.index import SearchFilters, SearchIndex, read_documents, reciprocal_rank_fusion
from patentlab.index.dense import DenseIndex, DenseParams
from patentlab.index.fusion import RRF_K
from patentlab.index.keyword import KeywordIndex


def sample_docs(corpus_dir, *, skip: int = 0):
    """A varied real sample: green and not-green claims, dated grants, full records with titles."""
    docs = list(read_documents([corpus_dir / "corpus.parquet"]))
    groups = {
        "green": [d for d in docs if d.green == 1],
        "not green": [d for d in docs if d.green == 0 and d.date],
        "undated": [d for d in docs if d.date is None],
        "grants": [d for d in docs if d.title and d.doc_type == "granted"],
        "applications": [d for d in docs if d.title and d.doc_type == "application"],
    }
    sizes = {"green": 40, "not green": 40, "undated": 15, "grants": 25, "applications": 20}
    return [d for name, n in sizes.items() for d in groups[name][skip : skip + n]]


@pytest.fixture(scope="module")
def docs(demo_corpus):
    return sample_docs(demo_corpus)


@pytest.fixture(scope="module")
def index(docs, tmp_path_factory):
    idx = SearchIndex.create(tmp_path_factory.mktemp("search") / "index")
    report = idx.add(docs)
    assert report.added == len(docs) and report.embedded == len(docs)
    yield idx
    idx.close()


def all_hits(index, query, **kwargs):
    return index.search(query, k=100, **kwargs).hits


# -- fusion --------------------------------------------------------------------------------------


def test_rrf_adds_weighted_reciprocal_ranks():
    fused = dict(reciprocal_rank_fusion({"a": [1, 2, 3], "b": [3, 1]}, {"a": 1.0, "b": 2.0}, k=10))
    assert fused[1] == pytest.approx(1 / 11 + 2 / 12)
    assert fused[3] == pytest.approx(1 / 13 + 2 / 11)
    assert fused[2] == pytest.approx(1 / 12)
    assert [d for d, _ in reciprocal_rank_fusion({"a": [1, 2, 3], "b": [3, 1]}, {"b": 0})] == [1, 2, 3]


def test_hybrid_scores_are_the_rrf_of_both_lists(index):
    results = index.search("solar cell electrode", k=20, weights={"keyword": 1.0, "dense": 0.5})
    assert results.hits
    assert any(h.keyword_rank and h.dense_rank for h in results.hits)
    for hit in results.hits:
        expected = (1.0 / (RRF_K + hit.keyword_rank) if hit.keyword_rank else 0) + (
            0.5 / (RRF_K + hit.dense_rank) if hit.dense_rank else 0
        )
        assert hit.score == pytest.approx(expected, abs=1e-6)
    assert [h.score for h in results.hits] == sorted((h.score for h in results.hits), reverse=True)


def test_a_zero_weight_gives_the_other_retrievers_order(index):
    query = "vehicle battery charging"
    keyword_only = [h.id for h in index.search(query, k=10, mode="keyword").hits]
    assert keyword_only
    assert [h.id for h in index.search(query, k=10, weights={"dense": 0}).hits] == keyword_only
    dense_only = [h.id for h in index.search(query, k=10, mode="dense").hits]
    assert [h.id for h in index.search(query, k=10, weights={"keyword": 0}).hits] == dense_only


def test_keyword_hits_contain_a_query_word_and_are_highlighted(index):
    hits = index.search("turbine", k=5, mode="keyword").hits
    assert hits
    for hit in hits:
        marked = [hit.snippet[a:b].lower() for a, b in hit.highlights]
        assert marked and all(m.startswith("turbin") for m in marked)


def test_dense_finds_a_paraphrase_without_shared_words(index, docs):
    target = (
        next(d for d in docs if d.title and "solar" in d.title.lower())
        if any(d.title and "solar" in d.title.lower() for d in docs)
        else None
    )
    hits = index.search("photovoltaic power from sunlight", k=10, mode="dense").hits
    assert hits and all(h.dense_score is not None for h in hits)
    if target is not None:
        assert target.id in [h.id for h in hits]


# -- filters ---------------------------------------------------------------------------------------


def expected_ids(docs, filters: SearchFilters) -> set[str]:
    keep = set()
    for d in docs:
        if filters.doc_types and d.doc_type not in filters.doc_types:
            continue
        if filters.green is not None and d.green != int(filters.green):
            continue
        if filters.y02 and filters.y02 not in d.y02:
            continue
        if filters.cpc_prefix and not any(c.startswith(filters.cpc_prefix) for c in [*d.y02, *d.cpc]):
            continue
        if filters.date_from and not (d.date and d.date >= filters.date_from):
            continue
        if filters.date_to and not (d.date and d.date <= filters.date_to):
            continue
        keep.add(d.id)
    return keep


FILTERS = [
    SearchFilters.parse(source=["application"]),
    SearchFilters.parse(green=True),
    SearchFilters.parse(green=False, source=["granted"]),
    SearchFilters.parse(y02="Y02T"),
    SearchFilters.parse(cpc="H01"),
    SearchFilters.parse(date_from="2015-01-01", date_to="2016-12-31"),
    SearchFilters.parse(green=True, date_to="2014-12-31"),
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: str(f.to_dict()))
@pytest.mark.parametrize("mode", ["keyword", "dense", "hybrid"])
def test_filters_keep_exactly_the_matching_documents(index, docs, filters, mode):
    allowed = expected_ids(docs, filters)
    assert allowed, "each filter should match some of the sample"
    hits = all_hits(index, "a device comprising a control unit", mode=mode, filters=filters)
    assert hits
    assert {h.id for h in hits} <= allowed
    if mode == "dense":  # dense ranks every allowed document
        assert len(hits) == min(100, len(allowed))


def test_the_claims_filter_keeps_documents_with_claims_only(docs, tmp_path):
    import dataclasses

    # Real claims, and the same texts as abstract-only documents (as the 10k abstracts are).
    mixed = docs[:3] + [
        dataclasses.replace(d, id=f"{d.id}-abstract", abstract=d.claims[0], claims=[]) for d in docs[3:6]
    ]
    with SearchIndex.create(tmp_path / "index") as small:
        small.add(mixed)
        for has_claims, expected in ((True, docs[:3]), (False, mixed[3:])):
            rowids = small.store.matching_rowids(SearchFilters(has_claims=has_claims))
            found = {d["id"] for d in small.store.get_many(rowids.tolist()).values()}
            assert found == {d.id for d in expected}


def test_bad_filters_are_clean_errors():
    with pytest.raises(PatentlabError, match="Y02"):
        SearchFilters.parse(y02="Y09")
    with pytest.raises(PatentlabError, match="source"):
        SearchFilters.parse(source=["patent"])
    with pytest.raises(PatentlabError, match="date"):
        SearchFilters.parse(date_from="yesterday")
    with pytest.raises(PatentlabError, match="after"):
        SearchFilters.parse(date_from="2017-01-01", date_to="2016-01-01")
    with pytest.raises(PatentlabError, match="CPC"):
        SearchFilters.parse(cpc="not a code!")


# -- queries of every shape -------------------------------------------------------------------------


def test_empty_query_gives_no_hits(index):
    for query in ("", "   ", "the of and"):
        results = index.search(query, mode="keyword")
        assert results.hits == []
    assert index.search("").hits == []


def test_a_whole_claim_finds_its_own_document(index, docs):
    doc = docs[3]
    results = index.search(doc.claim1, k=5)
    assert results.hits[0].id == doc.id
    assert len(results.terms) <= 32


def test_very_long_query_is_cut_and_answered(index, docs):
    text = " ".join(d.claim1 for d in docs) * 3
    assert len(text) > 100_000
    results = index.search(text, k=5)
    assert len(results.hits) == 5 and len(results.query) <= 20_000


@pytest.mark.parametrize(
    "query",
    [
        "太陽電池 solar",
        "électrode à oxyde",
        "🔋 battery ⚡",
        'NEAR("solar" cell) AND * OR -x',
        "Ünïcödé ñ \u200b",
        "\x00\x02",
    ],
)
def test_unicode_and_operator_characters_are_safe(index, query):
    results = index.search(query, k=5)
    assert isinstance(results.hits, list)
    for hit in results.hits:
        assert "\x02" not in hit.snippet and "\x03" not in hit.snippet


def test_snippet_spans_are_character_offsets_in_unicode_text(index):
    doc = {
        "claims": ["Ünïcödé électrode: a solar cell with électrodes of oxide"],
        "abstract": None,
        "title": None,
    }
    terms = index.keyword.query_terms("electrode oxide")
    snippet = index.keyword.snippets(terms, {0: doc})[0]
    marked = [snippet.text[a:b] for a, b in snippet.highlights]
    assert marked == ["électrode", "électrodes", "oxide"]


def test_bad_options_are_clean_errors(index):
    with pytest.raises(PatentlabError, match="mode"):
        index.search("x", mode="fuzzy")
    with pytest.raises(PatentlabError, match="k must"):
        index.search("x", k=0)
    with pytest.raises(PatentlabError, match="no document"):
        index.similar("no-such-id")


def test_more_like_this_excludes_the_document_itself(index, docs):
    doc = next(d for d in docs if d.title)
    results = index.similar(doc.id, k=5)
    ids = [h.id for h in results.hits]
    assert len(ids) == 5 and doc.id not in ids
    assert results.like == doc.id


# -- persistence and incremental adds -------------------------------------------------------------


QUERIES = ["wind turbine blade", "method for charging an electric vehicle battery", "semiconductor wafer"]


def test_reopened_index_gives_the_same_results(index):
    before = [index.search(q, k=10).to_dict()["hits"] for q in QUERIES]
    reopened = SearchIndex.open(index.path)
    try:
        assert len(reopened) == len(index)
        after = [reopened.search(q, k=10).to_dict()["hits"] for q in QUERIES]
    finally:
        reopened.close()
    assert after == before


def test_incremental_adds_show_up_and_repeats_are_skipped(demo_corpus, docs, tmp_path):
    idx = SearchIndex.create(tmp_path / "index")
    idx.add(docs[:60])
    rest = sample_docs(demo_corpus, skip=60)
    new = [d for d in rest if d.title][:10] + [d for d in rest if not d.title][:10]
    published = replace(
        next(d for d in new if d.title),
        id="PLOI-0123456789ABCDEF0123",
        doc_type="generated",
        p_green=0.91,
        green=1,
        date=dt.date(2026, 1, 2),
        extra={"provenance": {"model": "kl3m", "seed": 7}},
    )
    report = idx.add([*new, published, docs[0]])
    assert (report.added, report.skipped_existing) == (21, 1)
    idx.close()
    idx = SearchIndex.open(tmp_path / "index")
    try:
        assert len(idx) == 81
        hits = idx.search(published.title, k=5, filters=SearchFilters.parse(source=["generated"])).hits
        assert [h.id for h in hits] == [published.id]
        assert hits[0].p_green == pytest.approx(0.91) and hits[0].doc_type == "generated"
        assert idx.get(published.id)["extra"]["provenance"] == {"model": "kl3m", "seed": 7}
        for doc in new[:5]:
            assert doc.id in [h.id for h in idx.search(doc.claim1, k=3).hits]
    finally:
        idx.close()


def test_a_stopped_add_is_finished_on_reopen(docs, tmp_path):
    idx = SearchIndex.create(tmp_path / "index")
    idx.add(docs[:10])
    idx.store.insert(docs[10:15], idx.store.next_rowid())  # stored, never indexed nor embedded
    idx.close()
    idx = SearchIndex.open(tmp_path / "index", read_only=False)
    try:
        assert len(idx.dense) == len(idx.keyword) == len(idx) == 15
        for mode in ("dense", "keyword"):
            assert docs[12].id in [h.id for h in idx.search(docs[12].claim1, k=3, mode=mode).hits]
    finally:
        idx.close()


def test_open_without_an_index_is_a_clean_error(tmp_path):
    with pytest.raises(PatentlabError, match="no search index"):
        SearchIndex.open(tmp_path)


def test_read_only_index_refuses_adds(index, docs):
    reopened = SearchIndex.open(index.path)
    try:
        with pytest.raises(PatentlabError, match="read-only"):
            reopened.add(docs[:1])
    finally:
        reopened.close()


def test_query_terms_are_stemmed_and_drop_stopwords_and_common_words(index):
    terms = index.keyword.query_terms("a device comprising a control unit; turbines")
    assert "a" not in terms and "compris" not in terms and "turbin" in terms
    assert index.keyword.query_terms("turbines", max_df=0.0) == []
    assert np.all(np.diff(index.store.matching_rowids(SearchFilters.parse(green=True))) > 0)


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: str(f.to_dict()))
def test_keyword_engine_filters_agree_with_the_document_store(index, filters):
    every = index.keyword.search(index.keyword.query_terms("device system method"), k=10_000)
    kept = {
        r
        for r, _ in index.keyword.search(
            index.keyword.query_terms("device system method"), k=10_000, filters=filters
        )
    }
    assert kept == {r for r, _ in every} & set(index.store.matching_rowids(filters).tolist())


# -- the dense index: flat while small, IVF once trained ------------------------------------------


@pytest.fixture(scope="module")
def clustered_vectors():
    """Real-like structure: 300 centres, each repeated with small noise (as in the scale benchmark)."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(300, 32)).astype(np.float32)
    picks = rng.integers(0, 300, size=6_000)
    return centres[picks] + rng.normal(scale=0.05, size=(6_000, 32)).astype(np.float32)


def test_ivf_index_is_flat_until_trained_then_finds_the_exact_neighbours(clustered_vectors, tmp_path):
    params = DenseParams(kind="ivf", nlist=64, nprobe=8, train_min=4_000)
    dense = DenseIndex(32, params)
    dense.add(clustered_vectors[:3_000])
    assert not dense.trained_ivf
    dense.add(clustered_vectors[3_000:])  # crosses train_min: trains and keeps every vector
    assert dense.trained_ivf and len(dense) == 6_000
    np.testing.assert_allclose(
        dense.vector(4_321), clustered_vectors[4_321] / np.linalg.norm(clustered_vectors[4_321]), rtol=1e-5
    )
    queries = clustered_vectors[:50] + 0.01
    exact = dense.exact_search(queries, 10)
    found = [[i for i, _ in dense.search(q, 10)] for q in queries]
    recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)])
    assert recall >= 0.95
    allowed = np.arange(0, 6_000, 7)
    hits = dense.search(queries[0], 10, allowed=allowed)
    assert len(hits) == 10 and all(i % 7 == 0 for i, _ in hits)
    dense.save(tmp_path)
    reopened = DenseIndex.load(tmp_path, params)
    assert reopened.trained_ivf and reopened.search(queries[0], 10) == dense.search(queries[0], 10)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_other_dense_kinds_search_and_filter(clustered_vectors, kind):
    dense = DenseIndex(32, DenseParams(kind=kind))
    dense.add(clustered_vectors[:2_000])
    hits = dense.search(clustered_vectors[5], 5)
    assert hits[0][0] == 5
    assert all(i % 3 == 0 for i, _ in dense.search(clustered_vectors[5], 5, allowed=np.arange(0, 2_000, 3)))


def test_bad_dense_params_are_clean_errors():
    with pytest.raises(PatentlabError, match="kind"):
        DenseParams(kind="lsh")
    assert KeywordIndex  # the keyword engine is importable without an index
