"""Signed contributor bundles: generations made anywhere, vouched for by the contributor's key.

A bundle is one JSON file::

    {"format": "patentlab-bundle/1",
     "manifest": {"contributor": <public key hex>, "created_at": ..., "model": ...,
                  "weights_sha256": ..., "sampling": {...}, "batch_seed": ..., "seeds": [...],
                  "meta": {...the generations' metadata...}, "n": N,
                  "generations_sha256": [SHA-256 of each generation row's canonical JSON]},
     "signature": <Ed25519 signature of the manifest's canonical JSON>,
     "generations": [<row>, ...]}

The signature covers the manifest, and the manifest covers every row through its hash, so a
changed byte anywhere is found: in the manifest (or a swapped key) the signature fails, in a
row its hash does not match. The bundle id is the SHA-256 of the signed manifest.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from patentlab.errors import PatentlabError
from patentlab.generate.generations import meta_path, read_generations, write_generations
from patentlab.jsonl import iter_objects
from patentlab.publish import keys
from patentlab.publish.log import canonical
from patentlab.storage import write_text

FORMAT = "patentlab-bundle/1"
SIGN_DOMAIN = b"patentlab contributor bundle v1\n"


def row_sha256(row: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(row)).hexdigest()


def bundle_id(manifest: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(manifest)).hexdigest()


def pack_bundle(
    generations: str | Path, key: str | Path, out: str | Path, *, model: str | Path | None = None
) -> dict[str, Any]:
    """Sign a generations file (and its ``.meta.json``) into a bundle at ``out``.

    The model's weights hash comes from the metadata, else from ``model`` through
    :func:`patentlab.llm.loading.weights_sha256`; a bundle without it is refused, since a
    reviewer could not tie the text to a model.
    """
    private = keys.load_key(key)
    _, meta = read_generations(generations)  # validates the rows, one-line errors on bad input
    rows = [obj for _, obj in iter_objects(generations)]
    weights = (meta.get("model") or {}).get("weights_sha256")
    if weights is None and model is not None:
        from patentlab.llm.loading import weights_sha256

        weights = weights_sha256(model)
    if not weights:
        raise PatentlabError(
            "the model's weights hash is unknown (not in the metadata); pass --model MODEL_DIR",
            path=meta_path(generations),
        )
    manifest = {
        "contributor": keys.public_hex(private),
        "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model": (meta.get("model") or {}).get("name_or_path"),
        "weights_sha256": weights,
        "sampling": meta.get("sampling"),
        "batch_seed": meta.get("seed"),
        "seeds": [r.get("seed") for r in rows],
        "meta": meta,
        "n": len(rows),
        "generations_sha256": [row_sha256(r) for r in rows],
    }
    bundle = {
        "format": FORMAT,
        "manifest": manifest,
        "signature": keys.sign(private, SIGN_DOMAIN + canonical(manifest)),
        "generations": rows,
    }
    write_text(out, json.dumps(bundle, ensure_ascii=False) + "\n")
    return {"bundle_id": bundle_id(manifest), "n": len(rows), "path": str(out)}


class BundleRejected(Exception):
    """A whole bundle refused, with the reason (bad signature, tampered content, corrupted…)."""


def read_bundle(path: str | Path) -> dict[str, Any]:
    """Read and check a bundle: structure, signature, and every row against its signed hash.

    Raises :class:`BundleRejected` with the reason, naming the generation where one is at fault.
    """
    path = Path(path)
    try:
        bundle = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleRejected("no such file") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleRejected(f"corrupted: not a JSON bundle ({exc})") from None
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise BundleRejected(f"corrupted: not a {FORMAT} bundle")
    manifest, rows, signature = bundle.get("manifest"), bundle.get("generations"), bundle.get("signature")
    if not isinstance(manifest, dict) or not isinstance(rows, list) or not isinstance(signature, str):
        raise BundleRejected("corrupted: needs a manifest, a signature and the generations")
    hashes = manifest.get("generations_sha256")
    if not isinstance(hashes, list) or not isinstance(manifest.get("contributor"), str):
        raise BundleRejected("corrupted: the manifest lacks the contributor key or the generation hashes")
    if not keys.verify(manifest["contributor"], SIGN_DOMAIN + canonical(manifest), signature):
        raise BundleRejected(
            "bad signature: the manifest is not signed by the key it names (altered manifest or wrong key)"
        )
    if len(rows) != len(hashes):
        raise BundleRejected(
            f"tampered content: {len(rows)} generations, but the signed manifest lists {len(hashes)}"
        )
    bad = [
        i
        for i, (row, h) in enumerate(zip(rows, hashes, strict=True))
        if not isinstance(row, dict) or row_sha256(row) != h
    ]
    if bad:
        shown = ", ".join(str(i) for i in bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise BundleRejected(f"tampered content: generation {shown} does not match its signed hash")
    return {**bundle, "bundle_id": bundle_id(manifest)}


def make_bundle_pair(
    generations: str | Path, workdir: str | Path, *, key: str | Path | None = None
) -> tuple[Path, Path]:
    """For the demo: a locally made contributor bundle and its tampered twin.

    The key is made in ``workdir`` unless given; the twin changes one word of generation 0 after
    signing, which ``publish accept`` must reject as tampered content.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    key = Path(key) if key else workdir / "contributor.key"
    if not key.exists():
        keys.generate_key(key)
    good, bad = workdir / "contribution.bundle.json", workdir / "contribution.tampered.bundle.json"
    pack_bundle(generations, key, good)
    twin = json.loads(good.read_text(encoding="utf-8"))
    twin = copy.deepcopy(twin)
    row = twin["generations"][0]
    text_key = next(k for k in ("text", "generated_text", "generation") if isinstance(row.get(k), str))
    row[text_key] = row[text_key].replace(" a ", " no ", 1) if " a " in row[text_key] else row[text_key] + " "
    write_text(bad, json.dumps(twin, ensure_ascii=False) + "\n")
    return good, bad


def bundle_generations(bundle: dict[str, Any], path: str | Path) -> Path:
    """Write a checked bundle's generations (and metadata) as a generations file for vetting."""
    return write_generations(path, bundle["generations"], bundle["manifest"].get("meta") or {})
