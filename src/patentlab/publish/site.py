"""A static HTML site of published inventions: an index page and one page per invention.

Every value is HTML-escaped (generated text is untrusted: a model can write ``<script>``), and
the pages use only inline CSS and relative links, so the site works from a file system, a static
host or an air-gapped examiner's machine.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;line-height:1.5;color:#1d2430}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.6rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #dde}
th{background:#f3f5f8}code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}
pre{background:#f6f8fa;padding:.75rem;overflow-x:auto;white-space:pre-wrap}
.meta{color:#5b6576;font-size:.9rem}.green{color:#1f7a3d;font-weight:600}ol li{margin-bottom:.5rem}
""".strip()


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _p_green(value: Any) -> str:
    if value is None:
        return "–"
    css = ' class="green"' if value >= 0.5 else ""
    return f"<span{css}>{value:.2f}</span>"


def invention_page(record: dict[str, Any]) -> str:
    """One invention: title, abstract, claims, green score and provenance."""
    claims = "\n".join(
        f"<li>{escape(c.split('. ', 1)[-1] if c[:1].isdigit() else c)}</li>" for c in record["claims"]
    )
    provenance = json.dumps(record.get("provenance", {}), indent=2, ensure_ascii=False, sort_keys=True)
    body = f"""<p class="meta"><a href="../index.html">All inventions</a></p>
<h1>{escape(record.get("title") or "(untitled)")}</h1>
<p class="meta">Id <code>{escape(record["id"])}</code> · published {escape(record["published_at"])} ·
machine-generated, published as prior art · p_green {_p_green(record.get("p_green"))}</p>
<h2>Abstract</h2>
<p>{escape(record.get("abstract") or "")}</p>
<h2>Claims</h2>
<ol>
{claims}
</ol>
<h2>Provenance</h2>
<pre>{escape(provenance)}</pre>"""
    return _page(f"{record['id']}: {record.get('title') or ''}", body)


def index_page(records: Sequence[dict[str, Any]], title: str) -> str:
    """The list of all inventions, in publication order."""
    rows = "\n".join(
        f'<tr><td><a href="inventions/{escape(r["id"])}.html"><code>{escape(r["id"])}</code></a></td>'
        f"<td>{escape(r.get('title') or '(untitled)')}</td><td>{escape(r['published_at'])}</td>"
        f"<td>{len(r['claims'])}</td><td>{_p_green(r.get('p_green'))}</td></tr>"
        for r in records
    )
    body = f"""<h1>{escape(title)}</h1>
<p class="meta">{len(records)} machine-generated inventions, published as prior art. Each passed
structural checks and a novelty check against the generator's training data.</p>
<table>
<thead><tr><th>id</th><th>title</th><th>published (UTC)</th><th>claims</th><th>p_green</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>"""
    return _page(title, body)


def write_site(records: Sequence[dict[str, Any]], site_dir: Path, title: str) -> None:
    """Write ``index.html`` and ``inventions/<id>.html`` into ``site_dir`` (which must exist)."""
    (site_dir / "inventions").mkdir(parents=True, exist_ok=True)
    (site_dir / "index.html").write_text(index_page(records, title), encoding="utf-8")
    for record in records:
        (site_dir / "inventions" / f"{record['id']}.html").write_text(
            invention_page(record), encoding="utf-8"
        )
