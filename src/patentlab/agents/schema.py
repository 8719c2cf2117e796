"""The agents' JSON outputs: their schemas, validation, and repair of malformed replies.

Small models break JSON in predictable ways: prose around it, code fences, single quotes,
trailing commas, Python literals, a reply cut off by the token limit, a label written as
``"green"``. :func:`parse_reply` repairs those; :func:`validate` checks (and coerces) the result
against a schema and lists what is still wrong, so the caller can retry with that feedback.
"""

from __future__ import annotations

import json
import re
from typing import Any

ARGUMENT_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "label": {"type": "integer", "enum": [0, 1]},
        "argument": {"type": "string", "minLength": 1},
    },
    "required": ["label", "argument"],
}
"""Advocate and skeptic: their case, and their own honest label after making it."""

VERDICT_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "label": {"type": "integer", "enum": [0, 1]},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "quote": {"type": "string", "minLength": 1},
        "rationale": {"type": "string", "minLength": 1},
    },
    "required": ["label", "confidence", "quote", "rationale"],
}
"""The judge: label, confidence, an exact quote from the claim, and a rationale."""

_FENCE = re.compile(r"```(?:json)?\s*(.*?)(?:```|$)", re.DOTALL | re.IGNORECASE)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_UNQUOTED_KEY = re.compile(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:")
_LABEL_WORDS = {"1": 1, "0": 0, "green": 1, "yes": 1, "true": 1, "not green": 0, "non-green": 0,
                "no": 0, "false": 0}  # fmt: skip
_CONFIDENCE_WORDS = {"low": 0.3, "medium": 0.6, "high": 0.9}


_DECODER = json.JSONDecoder()


def _leading_object(text: str) -> dict | None:
    """The JSON object at the start of ``text`` (trailing text ignored), or None."""
    try:
        obj, _ = _DECODER.raw_decode(text)
    except json.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def parse_reply(text: str) -> tuple[dict | None, list[str]]:
    """The first JSON object in ``text``, repaired if needed, and the list of repairs made."""
    repairs: list[str] = []
    fenced = _FENCE.search(text)
    if fenced and "{" in fenced.group(1):
        text = fenced.group(1)
        repairs.append("code fence removed")
    start = text.find("{")
    if start < 0:
        fields = _salvage_fields(text)
        return (fields, [*repairs, "fields read from prose"]) if fields else (None, repairs)
    if start > 0 and text[:start].strip():
        repairs.append("text before the JSON dropped")
    body = text[start:]
    if (obj := _leading_object(body)) is not None:
        return obj, repairs
    candidate = body[: body.rfind("}") + 1] if "}" in body else body
    for name, fix in _FIXES:
        fixed = fix(candidate)
        if fixed != candidate:
            candidate = fixed
            repairs.append(name)
        if (obj := _leading_object(candidate)) is not None:
            return obj, repairs
    fields = _salvage_fields(body)
    return (fields, [*repairs, "fields read from broken JSON"]) if fields else (None, repairs)


def _close_truncated(s: str) -> str:
    """Close a reply cut off by the token limit: an open string, then open braces."""
    if (s.count('"') - s.count('\\"')) % 2:
        s += '"'
    return s + "}" * max(s.count("{") - s.count("}"), 0)


_FIXES = (
    ("smart quotes straightened", lambda s: s.translate(str.maketrans("“”‘’", "\"\"''"))),
    ("trailing commas removed", lambda s: _TRAILING_COMMA.sub(r"\1", s)),
    ("Python literals converted", lambda s: re.sub(r"\bTrue\b", "true", re.sub(r"\bFalse\b", "false", s))),
    ("keys quoted", lambda s: _UNQUOTED_KEY.sub(r'\1"\2":', s)),
    ("single quotes converted", lambda s: s.replace("'", '"') if '"' not in s else s),
    ("truncated reply closed", _close_truncated),
)


def _salvage_fields(text: str) -> dict | None:
    """Read ``label``/``confidence``/text fields from prose or badly broken JSON."""
    found: dict[str, Any] = {}
    label = re.search(r'label"?\s*[:=]\s*"?(not green|non-green|green|[01]|true|false)', text, re.IGNORECASE)
    if label:
        found["label"] = label.group(1)
    conf = re.search(r'confidence"?\s*[:=]\s*"?([0-9.]+%?|low|medium|high)', text, re.IGNORECASE)
    if conf:
        found["confidence"] = conf.group(1)
    for key in ("argument", "rationale", "quote"):
        m = re.search(rf'{key}"?\s*[:=]\s*"((?:[^"\\]|\\.)*)"?', text, re.IGNORECASE | re.DOTALL)
        if m and m.group(1).strip():
            found[key] = m.group(1).strip()
    return found if "label" in found else None


def _coerce(value: Any, spec: dict) -> tuple[Any, str | None]:
    """``value`` converted to ``spec``'s type, or an error message."""
    kind = spec.get("type")
    if kind == "integer":
        if isinstance(value, bool) or (isinstance(value, float) and value.is_integer()):
            value = int(value)
        elif isinstance(value, str):
            word = value.strip().strip('"').lower()
            if word in _LABEL_WORDS:
                value = _LABEL_WORDS[word]
        if not isinstance(value, int):
            return None, f"must be an integer, not {value!r}"
    elif kind == "number":
        if isinstance(value, str):
            word = value.strip().lower()
            if word in _CONFIDENCE_WORDS:
                value = _CONFIDENCE_WORDS[word]
            else:
                try:
                    value = float(word.rstrip("%")) / (100 if word.endswith("%") else 1)
                except ValueError:
                    return None, f"must be a number, not {value!r}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, f"must be a number, not {value!r}"
        if 1 < value <= 100 and spec.get("maximum") == 1:
            value = value / 100  # a percentage
        value = float(value)
    elif kind == "string":
        if not isinstance(value, str):
            return None, f"must be a string, not {type(value).__name__}"
        value = value.strip()
    if "enum" in spec and value not in spec["enum"]:
        return None, f"must be one of {spec['enum']}, not {value!r}"
    if "minimum" in spec and value < spec["minimum"]:
        return None, f"must be ≥ {spec['minimum']}, not {value}"
    if "maximum" in spec and value > spec["maximum"]:
        return None, f"must be ≤ {spec['maximum']}, not {value}"
    if "minLength" in spec and len(value) < spec["minLength"]:
        return None, "must not be empty"
    return value, None


def validate(obj: dict | None, schema: dict) -> tuple[dict | None, list[str]]:
    """``obj`` coerced to ``schema`` (extra keys dropped) and the list of remaining errors."""
    fields, errors = valid_fields(obj, schema)
    return (fields if not errors else None), errors


def valid_fields(obj: dict | None, schema: dict) -> tuple[dict, list[str]]:
    """The fields of ``obj`` that are valid on their own, and the errors of the others."""
    if obj is None:
        return {}, ["the reply holds no JSON object"]
    clean, errors = {}, []
    for key, spec in schema["properties"].items():
        if key not in obj:
            if key in schema.get("required", ()):
                errors.append(f"'{key}' is missing")
            continue
        value, error = _coerce(obj[key], spec)
        if error:
            errors.append(f"'{key}' {error}")
        else:
            clean[key] = value
    return clean, errors


def example_json(schema: dict) -> str:
    """A one-line example of a valid reply, for prompts and retry messages."""
    examples = {"integer": "0 or 1", "number": "0.0 to 1.0", "string": "..."}
    parts = []
    for key, spec in schema["properties"].items():
        value = examples[spec["type"]]
        parts.append(f'"{key}": ' + (f'"{value}"' if spec["type"] == "string" else value))
    return "{" + ", ".join(parts) + "}"
