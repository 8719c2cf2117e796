"""The static site of published inventions, made for examiners' tools and search engines.

``site/`` holds an index, browse pages by date and by CPC class, one page per invention (with
Highwire ``citation_*`` meta tags, its CPC codes, its obviousness map linking each cited
document, and its inclusion proof in the signed log), plus ``sitemap.xml``, a JSON Lines feed
(``feed.jsonl``) and the bulk Parquet download (``inventions.parquet``).

Every value is HTML-escaped (generated text is untrusted: a model can write ``<script>``), and
the pages use only inline CSS and relative links, so the site works from a file system, a static
host or an air-gapped examiner's machine. The fragment helpers (:func:`meta_tags`,
:func:`obviousness_html`, :func:`proof_html`) are shared with ``patentlab serve``.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape

from patentlab.claims import strip_number

SITEMAP = "sitemap.xml"
FEED = "feed.jsonl"
PARQUET = "inventions.parquet"
BY_DATE = "by-date.html"
BY_CPC = "by-cpc.html"
PUBLISHER = "patentlab"
CLASS_LABELS = {
    "obvious_combination": "obvious combination",
    "anticipated": "anticipated",
    "unsupported": "unsupported",
}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;line-height:1.5;color:#1d2430}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.6rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #dde;vertical-align:top}
th{background:#f3f5f8}code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}
pre{background:#f6f8fa;padding:.75rem;overflow-x:auto;white-space:pre-wrap}
.meta{color:#5b6576;font-size:.9rem}.green{color:#1f7a3d;font-weight:600}ol li{margin-bottom:.5rem}
.hash{word-break:break-all}
""".strip()


@dataclass
class SiteOptions:
    """The site's title, its public address (for absolute URLs) and the cited-document link."""

    title: str
    base_url: str = ""
    doc_url: str = "/search/doc/{id}"

    def page_url(self, invention_id: str) -> str:
        """The invention page's address: absolute with a base URL, else relative to the site root."""
        path = f"inventions/{quote(invention_id, safe='')}.html"
        return f"{self.base_url.rstrip('/')}/{path}" if self.base_url else path


def doc_link(doc_id: str, doc_url: str) -> str:
    """An escaped link to a cited document."""
    href = doc_url.replace("{id}", quote(str(doc_id), safe=""))
    return f'<a class="cited" href="{escape(href)}"><code>{escape(str(doc_id))}</code></a>'


def _page(title: str, body: str, head: str = "") -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n{head}<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _p_green(value: Any) -> str:
    if value is None:
        return "–"
    css = ' class="green"' if value >= 0.5 else ""
    return f"<span{css}>{value:.2f}</span>"


def _cpc(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The invention's CPC codes with titles (from the obviousness map, else the bare codes)."""
    predicted = (record.get("obviousness") or {}).get("cpc") or []
    if predicted:
        return [c for c in predicted if isinstance(c, dict) and c.get("code")]
    return [{"code": c, "title": None, "score": None} for c in record.get("cpc") or []]


def _claim(text: str) -> str:
    return strip_number(text)[1]  # the claim anatomy's numbering (patentlab/claims.py)


def meta_tags(record: Mapping[str, Any], url: str, contributor: str | None = None) -> str:
    """Highwire Press ``citation_*`` tags (what Google Scholar and examiners' tools read)."""
    date = (record.get("published_at") or record.get("date") or "")[:10].replace("-", "/")
    tags = [
        ("citation_title", record.get("title") or record["id"]),
        ("citation_author", f"contributor {contributor[:16]}" if contributor else PUBLISHER),
        ("citation_publication_date", date),
        ("citation_online_date", date),
        ("citation_publisher", PUBLISHER),
        ("citation_technical_report_institution", PUBLISHER),
        ("citation_technical_report_number", record["id"]),
        ("citation_abstract_html_url", url),
        ("citation_fulltext_html_url", url),
        ("citation_abstract", record.get("abstract") or ""),
        ("citation_language", "en"),
        ("citation_keywords", "; ".join(c["code"] for c in _cpc(record))),
        ("DC.identifier", record["id"]),
        ("DC.date", date.replace("/", "-")),
    ]
    return "".join(f'<meta name="{escape(n)}" content="{escape(str(v))}">\n' for n, v in tags if v)


def cpc_html(record: Mapping[str, Any]) -> str:
    codes = _cpc(record)
    if not codes:
        return '<p class="meta">No CPC classes predicted.</p>'
    items = "\n".join(
        f'<li><code class="cpc">{escape(c["code"])}</code>'
        + (f" {escape(str(c['title']))}" if c.get("title") else "")
        + (f' <span class="meta">({float(c["score"]):.2f})</span>' if c.get("score") is not None else "")
        + "</li>"
        for c in codes
    )
    return f'<ul class="cpc-list">\n{items}\n</ul>'


def obviousness_html(record: Mapping[str, Any], doc_url: str) -> str:
    """The obviousness map: the class, the 103-style combination, and each claim element's support."""
    ob = record.get("obviousness")
    if not ob:
        return '<p class="meta" id="obviousness-map">No obviousness map was made for this invention.</p>'
    label = CLASS_LABELS.get(str(ob.get("class")), str(ob.get("class")))
    combination = ", ".join(doc_link(d, doc_url) for d in ob.get("combination") or [])
    rows = []
    for i, el in enumerate(ob.get("elements") or [], 1):
        doc = el.get("doc_id")
        score = el.get("score")
        rows.append(
            f"<tr><td>{i}</td><td>{escape(str(el.get('text') or ''))}</td>"
            f"<td>{doc_link(doc, doc_url) if doc else '–'}</td>"
            f"<td>{escape(str(el.get('passage') or ''))}</td>"
            f"<td>{f'{float(score):.2f}' if isinstance(score, int | float) else '–'}</td></tr>"
        )
    body = "\n".join(rows)
    combined = f" · combination of {combination}" if combination else ""
    return f"""<div id="obviousness-map">
<p>Class: <strong class="ob-class">{escape(label)}</strong>{combined}</p>
<table class="ob-elements">
<thead><tr><th>#</th><th>claim 1 element</th><th>closest document</th><th>matching passage</th>
<th>score</th></tr></thead>
<tbody>
{body}
</tbody>
</table>
</div>"""


def proof_html(proof: Mapping[str, Any] | None) -> str:
    """The inclusion proof: leaf, audit path and the signed tree head it leads to."""
    if not proof:
        return '<p class="meta">Not yet covered by a signed tree head.</p>'
    head = proof["tree_head"]
    path = "\n".join(f'<li><code class="hash">{escape(h)}</code></li>' for h in proof["audit_path"])
    leaf = json.dumps(proof["leaf"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"""<div id="inclusion-proof">
<p class="meta">Entry {proof["leaf_index"]} of {proof["tree_size"]} in an RFC 6962-style Merkle log.
Leaf hash = SHA-256(0x00 ‖ leaf); check with
<code>patentlab publish verify --id {escape(proof["id"])}</code>.</p>
<p>Leaf: <code class="hash">{escape(leaf)}</code></p>
<p>Leaf hash: <code class="hash">{escape(proof["leaf_hash"])}</code></p>
<p>Audit path ({len(proof["audit_path"])} hashes, leaf to root):</p>
<ol>{path}</ol>
<p>Signed tree head: size {head["tree_size"]}, root <code class="hash">{escape(head["root_hash"])}</code>,
{escape(head["timestamp"])}, Ed25519 key <code class="hash">{escape(head["public_key"])}</code>,
signature <code class="hash">{escape(head["signature"])}</code></p>
</div>"""


def invention_page(
    record: Mapping[str, Any],
    options: SiteOptions,
    proof: Mapping[str, Any] | None = None,
    contributor: str | None = None,
) -> str:
    """One invention: meta tags, abstract, claims, CPC, obviousness map, proof and provenance."""
    claims = "\n".join(f"<li>{escape(_claim(c))}</li>" for c in record["claims"])
    provenance = json.dumps(record.get("provenance", {}), indent=2, ensure_ascii=False, sort_keys=True)
    # Pages sit in inventions/, one level below the site root; a root-relative doc_url stays as is.
    doc_url = (
        options.doc_url
        if "://" in options.doc_url or options.doc_url.startswith("/")
        else "../" + options.doc_url
    )
    who = f"contributed by key <code>{escape(contributor[:16])}…</code> · " if contributor else ""
    body = f"""<p class="meta"><a href="../index.html">All inventions</a> ·
<a href="../{BY_DATE}">by date</a> · <a href="../{BY_CPC}">by CPC</a></p>
<h1>{escape(record.get("title") or "(untitled)")}</h1>
<p class="meta">Id <code>{escape(record["id"])}</code> · published {escape(record["published_at"])} ·
machine-generated, published as prior art · {who}p_green {_p_green(record.get("p_green"))}</p>
<h2>Abstract</h2>
<p>{escape(record.get("abstract") or "")}</p>
<h2>Claims</h2>
<ol>
{claims}
</ol>
<h2>CPC classes</h2>
{cpc_html(record)}
<h2>Obviousness map</h2>
{obviousness_html(record, doc_url)}
<h2>Publication proof</h2>
{proof_html(proof)}
<h2>Provenance</h2>
<pre>{escape(provenance)}</pre>"""
    head = meta_tags(
        record, options.page_url(record["id"]) if options.base_url else f"{record['id']}.html", contributor
    )
    return _page(f"{record['id']}: {record.get('title') or ''}", body, head)


def _row(r: Mapping[str, Any]) -> str:
    ob = (r.get("obviousness") or {}).get("class")
    codes = " ".join(f"<code>{escape(c['code'])}</code>" for c in _cpc(r)[:3])
    return (
        f'<tr><td><a href="inventions/{escape(quote(r["id"], safe=""))}.html">'
        f"<code>{escape(r['id'])}</code></a></td>"
        f"<td>{escape(r.get('title') or '(untitled)')}</td><td>{escape(r['published_at'])}</td>"
        f"<td>{codes or '–'}</td><td>{escape(CLASS_LABELS.get(str(ob), '–') if ob else '–')}</td>"
        f"<td>{_p_green(r.get('p_green'))}</td></tr>"
    )


def _table(records: Sequence[Mapping[str, Any]]) -> str:
    rows = "\n".join(_row(r) for r in records)
    return f"""<table>
<thead><tr><th>id</th><th>title</th><th>published (UTC)</th><th>CPC</th><th>class</th>
<th>p_green</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>"""


def _nav() -> str:
    return (
        f'<p class="meta"><a href="index.html">All</a> · <a href="{BY_DATE}">by date</a> · '
        f'<a href="{BY_CPC}">by CPC</a> · <a href="{FEED}">JSON Lines feed</a> · '
        f'<a href="{PARQUET}">bulk Parquet download</a> · <a href="{SITEMAP}">sitemap</a></p>'
    )


def index_page(records: Sequence[Mapping[str, Any]], title: str) -> str:
    """The list of all inventions, in publication order."""
    body = f"""<h1>{escape(title)}</h1>
{_nav()}
<p class="meta">{len(records)} machine-generated inventions, published as prior art. Each passed
structural checks and a novelty check; each page shows its obviousness map and its proof of
publication in a signed, append-only log.</p>
{_table(records)}"""
    return _page(title, body)


def group_by_date(records: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Inventions by publication day, newest day first."""
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in records:
        groups[r["published_at"][:10]].append(r)
    return dict(sorted(groups.items(), reverse=True))


def group_by_cpc(records: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Inventions by CPC subclass (an invention appears under each of its subclasses)."""
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in records:
        subclasses = dict.fromkeys(c["code"][:4] for c in _cpc(r)) or {"unclassified": None}
        for sub in subclasses:
            groups[sub].append(r)
    return dict(sorted(groups.items()))


def _anchor(text: str) -> str:
    return "g-" + "".join(ch if ch.isalnum() else "-" for ch in text)


def browse_page(groups: Mapping[str, Sequence[Mapping[str, Any]]], title: str, what: str) -> str:
    toc = " · ".join(f'<a href="#{_anchor(k)}">{escape(k)}</a> ({len(v)})' for k, v in groups.items())
    sections = "\n".join(f'<h2 id="{_anchor(k)}">{escape(k)}</h2>\n{_table(v)}' for k, v in groups.items())
    body = f"<h1>{escape(title)}: by {escape(what)}</h1>\n{_nav()}\n<p>{toc}</p>\n{sections}"
    return _page(f"{title}: by {what}", body)


def sitemap(records: Sequence[Mapping[str, Any]], options: SiteOptions) -> str:
    """``sitemap.xml``: the index pages and every invention page, with its publication date."""
    base = options.base_url.rstrip("/")
    prefix = f"{base}/" if base else ""
    urls = [(f"{prefix}index.html", None), (f"{prefix}{BY_DATE}", None), (f"{prefix}{BY_CPC}", None)]
    urls += [(options.page_url(r["id"]), r["published_at"][:10]) for r in records]
    body = "".join(
        f"  <url><loc>{xml_escape(u)}</loc>"
        + (f"<lastmod>{xml_escape(d)}</lastmod>" if d else "")
        + "</url>\n"
        for u, d in urls
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{body}</urlset>\n'
    )


def feed_item(record: Mapping[str, Any], options: SiteOptions, contributor: str | None) -> dict[str, Any]:
    ob = record.get("obviousness") or {}
    return {
        "id": record["id"],
        "title": record.get("title"),
        "abstract": record.get("abstract"),
        "published_at": record["published_at"],
        "url": options.page_url(record["id"]),
        "cpc": [c["code"] for c in _cpc(record)],
        "class": ob.get("class"),
        "combination": ob.get("combination") or [],
        "contributor": contributor,
    }


def write_site(
    records: Sequence[dict[str, Any]],
    site_dir: Path,
    options: SiteOptions,
    *,
    proofs: Mapping[str, Mapping[str, Any]] | None = None,
    contributors: Mapping[str, str | None] | None = None,
    parquet: Path | None = None,
) -> None:
    """Write the whole site into ``site_dir`` (which must exist)."""
    proofs, contributors = proofs or {}, contributors or {}
    (site_dir / "inventions").mkdir(parents=True, exist_ok=True)
    (site_dir / "index.html").write_text(index_page(records, options.title), encoding="utf-8")
    (site_dir / BY_DATE).write_text(
        browse_page(group_by_date(records), options.title, "date"), encoding="utf-8"
    )
    (site_dir / BY_CPC).write_text(browse_page(group_by_cpc(records), options.title, "CPC"), encoding="utf-8")
    (site_dir / SITEMAP).write_text(sitemap(records, options), encoding="utf-8")
    with open(site_dir / FEED, "w", encoding="utf-8") as fh:
        for r in records:
            item = feed_item(r, options, contributors.get(r["id"]))
            fh.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")
    if parquet is not None:
        shutil.copyfile(parquet, site_dir / PARQUET)
    for record in records:
        page = invention_page(record, options, proofs.get(record["id"]), contributors.get(record["id"]))
        (site_dir / "inventions" / f"{record['id']}.html").write_text(page, encoding="utf-8")
