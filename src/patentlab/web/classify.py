"""Classify pasted claims or abstracts: ``POST /api/classify`` and the ``/classify`` page.

The classifier is the model folder given to ``patentlab serve --model DIR`` (any kind that
``patentlab classify`` saves, :func:`patentlab.classify.family.load_classifier`), loaded once.
Without one, the API answers 503 and the page says so. Each text gets P(green), the label
(P(green) ≥ 0.5), the Y02 categories when the model has the multi-label Y02 head, and the three
Y02 definitions nearest it (official CPC titles, by MiniLM similarity). Classifying writes
nothing, so it needs no login. Pasted text is untrusted: the template autoescapes it.

A model folder kept by the classify stage's selection protocol carries ``model_card.json``: its
kappa and AUC under grouped cross-validation and on the human test set, each with a bootstrap
95 % interval. ``GET /api/classify/model`` returns it and the page shows it (issue 23).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, model_validator

from patentlab.errors import PatentlabError
from patentlab.web.templating import templates

if TYPE_CHECKING:
    from patentlab.classify.family import Classifier

router = APIRouter()
_load_lock = threading.Lock()
_predict_lock = threading.Lock()  # torch modules are not shared between threads mid-forward

#: P(green) at or above which the label is 1 (as in ``patentlab classify predict``).
THRESHOLD = 0.5
#: Texts per request and characters per text.
MAX_TEXTS = 32
MAX_CHARS = 20_000
NEAREST = 3
NO_MODEL = (
    "no classifier is loaded: start the app with 'patentlab serve --model DIR', where DIR is a "
    "model folder from 'patentlab classify baseline' or 'patentlab classify train'"
)


class ClassifyRequest(BaseModel):
    """One text or a list of texts (claims or abstracts)."""

    text: str | None = Field(None, max_length=MAX_CHARS, description="One claim or abstract.")
    texts: list[Annotated[str, Field(max_length=MAX_CHARS)]] | None = Field(
        None, min_length=1, max_length=MAX_TEXTS, description=f"Up to {MAX_TEXTS} claims or abstracts."
    )

    @model_validator(mode="after")
    def one_of_text_or_texts(self) -> ClassifyRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError("give either 'text' or 'texts', not both and not neither")
        for i, t in enumerate(self.all_texts()):
            if not t.strip():
                raise ValueError(f"text {i} is empty")
        return self

    def all_texts(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


class DefinitionOut(BaseModel):
    code: str = Field(description="Y02 entry, e.g. 'Y02E 10/50'.")
    title: str = Field(description="Its official title, with its parents' titles.")
    score: float = Field(description="Cosine similarity to the text (MiniLM).")


class PredictionOut(BaseModel):
    p_green: float = Field(description="Probability that the text is green technology (Y02).")
    label: int = Field(description="1 when p_green ≥ 0.5, else 0.")
    y02: dict[str, float] | None = Field(
        description="P(category) for Y02A…Y02W when the model has the multi-label Y02 head, else null."
    )
    definitions: list[DefinitionOut] = Field(description="The three Y02 definitions nearest the text.")


class ClassifyResponse(BaseModel):
    model: str = Field(description="The model folder that classified the texts.")
    threshold: float
    predictions: list[PredictionOut]


class ServedClassifier:
    """The loaded model and the Y02-definition scorer, with one entry point for API and page."""

    def __init__(self, model: Classifier, name: str, card: dict | None = None) -> None:
        self.model = model
        self.name = name
        self.card = card
        self._scorer = None

    @classmethod
    def load(cls, path) -> ServedClassifier:
        from patentlab.classify.family import load_classifier

        return cls(load_classifier(path), str(path), read_model_card(path))

    def scorer(self):
        if self._scorer is None:
            from patentlab.classify.y02_scorer import Y02DefinitionScorer

            # The prior model carries a scorer on its own encoder: reuse it, not a second MiniLM.
            self._scorer = getattr(self.model, "scorer_", None) or Y02DefinitionScorer()
        return self._scorer

    def classify(self, texts: list[str]) -> list[dict]:
        """P(green), label, Y02 categories (when the head exists) and nearest definitions per text."""
        from patentlab.classify.family import predict
        from patentlab.corpus.schema import Y02_CATEGORIES

        with _predict_lock:
            prediction = predict(self.model, texts)
            probs, y02 = prediction.proba, prediction.y02
            nearest = self.scorer().nearest_definitions(texts, k=NEAREST)
        out = []
        for i, p in enumerate(probs[:, 1]):
            categories = None
            if y02 is not None:
                categories = {c: round(float(v), 6) for c, v in zip(Y02_CATEGORIES, y02[i], strict=True)}
            out.append(
                {
                    "p_green": round(float(p), 6),
                    "label": int(p >= THRESHOLD),
                    "y02": categories,
                    "definitions": [d.to_dict() for d in nearest[i]],
                }
            )
        return out


def read_model_card(path) -> dict | None:
    """The selection protocol's ``model_card.json`` beside a model, or None (older folders)."""
    import json
    from pathlib import Path

    from patentlab.classify.protocol import MODEL_CARD_JSON

    card = Path(path) / MODEL_CARD_JSON
    if not card.exists():
        return None
    try:
        return json.loads(card.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def card_rows(card: dict | None) -> list[dict]:
    """The card's figures as rows for the page: where measured, kappa and AUC with intervals."""
    from patentlab.classify.intervals import fmt_interval

    if not card:
        return []
    rows = []
    for key, what in (
        ("cross_validation", "kept model, leave-one-source-out CV (training data)"),
        ("baseline_cross_validation", "frozen baseline, same CV"),
        ("test", "kept model, test"),
        ("baseline_test", "frozen baseline, test"),
    ):
        m = card.get(key)
        if m:
            name = f"{what} ({m['name']})" if "name" in m else what
            rows.append(
                {
                    "what": name,
                    "kappa": fmt_interval(m.get("kappa"), m.get("kappa_ci")),
                    "auc": fmt_interval(m.get("auc"), m.get("auc_ci")),
                    "n": m.get("n"),
                }
            )
    return rows


def get_classifier(request: Request) -> ServedClassifier:
    """The app's classifier, loaded on first use; 503 with the reason when there is none."""
    state = request.app.state
    classifier = getattr(state, "classifier", None)
    if classifier is None:
        path = getattr(state.settings, "classifier_model", None)
        if path is None:
            raise HTTPException(503, NO_MODEL)
        with _load_lock:
            classifier = getattr(state, "classifier", None)
            if classifier is None:
                try:
                    classifier = ServedClassifier.load(path)
                except PatentlabError as exc:
                    raise HTTPException(503, f"the classifier could not be loaded: {exc}") from None
                state.classifier = classifier
    return classifier


@router.post(
    "/api/classify",
    tags=["classify"],
    summary="Classify claims or abstracts as green (Y02) or not",
    response_model=ClassifyResponse,
    responses={503: {"description": "No classifier loaded (start with 'patentlab serve --model DIR')."}},
)
def api_classify(request: Request, body: ClassifyRequest) -> dict:
    """P(green), the label, the Y02 categories (models with the Y02 head) and the 3 nearest Y02 definitions.

    Send ``{"text": "..."}`` or ``{"texts": ["...", ...]}`` (up to 32 texts of up to 20,000
    characters). The predictions come back in the order of the texts.
    """
    classifier = get_classifier(request)
    predictions = classifier.classify(body.all_texts())
    return {"model": classifier.name, "threshold": THRESHOLD, "predictions": predictions}


@router.get(
    "/api/classify/model", tags=["classify"], summary="The served model and its figures with intervals"
)
def api_model(request: Request) -> dict:
    """The served model's folder and its ``model_card.json`` (null for a folder without one)."""
    classifier = get_classifier(request)
    return {"model": classifier.name, "threshold": THRESHOLD, "card": classifier.card}


def _page(request: Request, text: str = "", result: dict | None = None, error: str | None = None, status=200):
    classifier = getattr(request.app.state, "classifier", None)
    if classifier is None and getattr(request.app.state.settings, "classifier_model", None) is not None:
        try:  # the model card belongs on the page before the first text is classified
            classifier = get_classifier(request)
        except HTTPException:
            classifier = None
    path = getattr(request.app.state.settings, "classifier_model", None)
    context = {
        "text": text,
        "result": result,
        "error": error,
        "model_name": classifier.name if classifier else (str(path) if path else None),
        "no_model": NO_MODEL if path is None and classifier is None else None,
        "max_chars": MAX_CHARS,
        "card": classifier.card if classifier else None,
        "card_rows": card_rows(classifier.card if classifier else None),
    }
    return templates.TemplateResponse(request, "classify/index.html", context, status_code=status)


@router.get("/classify", response_class=HTMLResponse, include_in_schema=False)
def classify_page(request: Request) -> HTMLResponse:
    return _page(request)


@router.post("/classify", response_class=HTMLResponse, include_in_schema=False)
def classify_form(request: Request, text: Annotated[str, Form()] = "") -> HTMLResponse:
    if not text.strip():
        return _page(request, text, error="Paste a claim or an abstract first.", status=400)
    if len(text) > MAX_CHARS:
        error = f"The text is over {MAX_CHARS:,} characters."
        return _page(request, text[:MAX_CHARS], error=error, status=400)
    try:
        classifier = get_classifier(request)
    except HTTPException as exc:
        return _page(request, text, error=str(exc.detail), status=exc.status_code)
    return _page(request, text, result=classifier.classify([text])[0])
