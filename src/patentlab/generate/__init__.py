"""The patent generator: formats, training text, fine-tuning, sampling and parsing (see docs/generate.md).

Names are imported lazily: ``import patentlab.generate`` loads neither torch nor pyarrow. The
function ``train`` shares its module's name, so import it from there:
``from patentlab.generate.train import train``.
"""

from __future__ import annotations

from patentlab._lazy import lazy_exports

_EXPORTS = {
    "BuildReport": "patentlab.generate.data",
    "build_data": "patentlab.generate.data",
    **{
        name: "patentlab.generate.formats"
        for name in ("BOTTOM_UP", "MODES", "TOP_DOWN", "format_patent", "prompt")
    },
    "load_causal_lm": "patentlab.llm.loading",
    "ParsedPatent": "patentlab.generate.parse",
    "parse_patent": "patentlab.generate.parse",
    "Generation": "patentlab.generate.generations",
    "PatentGenerator": "patentlab.generate.sample",
    "TrainConfig": "patentlab.generate.train",
    "TrainResult": "patentlab.generate.train",
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
