"""Prior-art search for examiners: the ``patentlab search`` commands, the demo stage, and (in
``patentlab.web.search``) the pages and API.

The hybrid index itself (BM25 + dense, fused; the filters it applies) is shared machinery and
lives below the steps in :mod:`patentlab.index`, because vet needs it too.
"""
