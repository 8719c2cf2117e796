"""The Jinja2 templates every page renders with, in a module that imports no router.

Autoescaping is on for every template: patent text is untrusted input.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
