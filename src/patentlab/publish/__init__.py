"""Publication of accepted inventions as prior art: content-hash ids, timestamps, provenance,
JSONL/Parquet export in the corpus schema and a static HTML site."""
