"""patentlab: green patent detection with active learning, and generation of obvious inventions.

Each sub-package is one step of the data's path (see ``docs/architecture.md``)::

    corpus -> embed -> classify <- active <- agents <- review
    corpus -> generate -> vet -> publish -> search -> web
"""

from patentlab.errors import PatentlabError

__version__ = "0.1.0"

__all__ = ["PatentlabError", "__version__"]
