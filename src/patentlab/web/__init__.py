"""One FastAPI app for examiners (search) and reviewers (human-in-the-loop labelling)."""
