"""The patent generator: formats, training text, fine-tuning, sampling and parsing (see docs/generate.md).

Importing this package is cheap: torch and transformers load only when a model is used.
"""

from patentlab.generate.data import BuildReport, build_data
from patentlab.generate.formats import BOTTOM_UP, MODES, TOP_DOWN, format_patent, prompt
from patentlab.generate.model import load_causal_lm
from patentlab.generate.parse import ParsedPatent, parse_patent
from patentlab.generate.sample import Generation, PatentGenerator
from patentlab.generate.train import TrainConfig, TrainResult, train

__all__ = [
    "BOTTOM_UP",
    "MODES",
    "TOP_DOWN",
    "BuildReport",
    "Generation",
    "ParsedPatent",
    "PatentGenerator",
    "TrainConfig",
    "TrainResult",
    "build_data",
    "format_patent",
    "load_causal_lm",
    "parse_patent",
    "prompt",
    "train",
]
