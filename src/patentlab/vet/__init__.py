"""Vetting generated inventions: structural checks, novelty against the training corpus,
batch diversity, hit rate and cost per accepted invention, and green scoring."""
