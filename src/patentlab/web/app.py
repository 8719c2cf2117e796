"""The application factory: ``create_app(settings)`` mounts every step's router on one app."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from patentlab import __version__
from patentlab.web.classify import router as classify_router
from patentlab.web.published import router as published_router
from patentlab.web.review import PageDetour
from patentlab.web.review import router as review_router
from patentlab.web.search import router as search_router
from patentlab.web.settings import WebSettings
from patentlab.web.templating import HERE, templates


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """Build the app. Routers are added by each step's ``patentlab.web.<step>`` module."""
    settings = settings or WebSettings()
    app = FastAPI(
        title="patentlab",
        version=__version__,
        description="Prior-art search over real patents and published obvious inventions, "
        "human review of green-patent labels, and green classification of pasted claims.",
    )
    app.state.settings = settings
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(review_router)
    app.include_router(search_router)
    app.include_router(published_router)
    app.include_router(classify_router)

    @app.exception_handler(PageDetour)
    async def page_detour(request: Request, exc: PageDetour):
        return exc.response

    @app.middleware("http")
    async def limit_body_size(request: Request, call_next):
        """Refuse oversized bodies on every route before any handler reads them."""
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.max_body_bytes):
            return JSONResponse({"detail": f"request body over {settings.max_body_bytes} bytes"}, 413)
        return await call_next(request)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "home.html", {"settings": settings})

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
