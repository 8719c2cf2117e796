"""The ``patentlab`` command: ``patentlab <step> <verb>``, a thin layer over the library.

Each step registers its own Typer sub-app from ``patentlab/<step>/cli.py``. Those modules import
heavy libraries (torch, transformers) inside their commands, so ``patentlab --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
import warnings
from pathlib import Path

import typer

from patentlab import __version__
from patentlab.errors import PatentlabError

app = typer.Typer(
    name="patentlab",
    help="Green patent detection with active learning, and generation of obvious inventions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _register_steps() -> None:
    from patentlab.active.cli import app as active_app
    from patentlab.agents.cli import app as agents_app
    from patentlab.classify.cli import app as classify_app
    from patentlab.corpus.cli import app as corpus_app
    from patentlab.generate.cli import app as generate_app
    from patentlab.pipeline.demo import app as demo_app
    from patentlab.publish.cli import app as publish_app
    from patentlab.publish.cli import contribute_app
    from patentlab.review.cli import app as review_app
    from patentlab.scale.cli import app as scale_app
    from patentlab.search.cli import app as search_app
    from patentlab.vet.cli import app as vet_app
    from patentlab.web.cli import serve

    # In the order the data flows (docs/architecture.md).
    for name, step in [
        ("corpus", corpus_app),
        ("classify", classify_app),
        ("active", active_app),
        ("agents", agents_app),
        ("review", review_app),
        ("generate", generate_app),
        ("vet", vet_app),
        ("contribute", contribute_app),
        ("publish", publish_app),
        ("search", search_app),
        ("scale", scale_app),
    ]:
        app.add_typer(step, name=name)
    app.command("serve")(serve)
    app.add_typer(demo_app, name="demo")


#: Set by ``--debug`` (or ``PATENTLAB_DEBUG=1``): an unexpected error shows its traceback.
_debug = False


@app.callback(invoke_without_command=True)
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of an unexpected error."),
) -> None:
    global _debug
    _debug = _debug or debug
    if version:
        typer.echo(f"patentlab {__version__}")
        raise typer.Exit()


_register_steps()


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    typer.secho(f"warning: {message}", err=True, fg=typer.colors.YELLOW)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user errors print one line on stderr and exit non-zero, never a traceback."""
    global _debug
    _debug = False  # set again by this call's --debug, not left over from an earlier call
    warnings.showwarning = _show_warning
    # peft reads transformers' deprecated `is_gradient_checkpointing` alias on every LoRA model:
    # a notice between two libraries that a user of patentlab cannot act on.
    warnings.filterwarnings("ignore", "`is_gradient_checkpointing` is deprecated", FutureWarning)
    try:
        app(args=argv, standalone_mode=False)
    except PatentlabError as exc:
        stage = getattr(exc, "patentlab_stage", None)
        where = f"demo stage '{stage}': " if stage else ""
        typer.secho(f"error: {where}{exc}", err=True, fg=typer.colors.RED)
        return exc.exit_code
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 1
    except Exception as exc:
        if isinstance(exc, _click_exceptions()):  # click's usage errors
            exc.show()
            return exc.exit_code
        return _report_crash(exc, argv)
    return 0


def _report_crash(exc: BaseException, argv: list[str] | None) -> int:
    """A bug or an environment fault, not bad input: one line on stderr naming the command (and
    the demo stage), the file and line where it happened, and a log file with the traceback."""
    if _debug or os.environ.get("PATENTLAB_DEBUG") == "1":
        traceback.print_exception(exc)
    command = " ".join(["patentlab", *(sys.argv[1:] if argv is None else argv)])
    stage = getattr(exc, "patentlab_stage", None)
    what = f"demo stage '{stage}'" if stage else f"'{command}'"
    log = _write_crash_log(exc, command)
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "patentlab" in Path(f.filename).parts] or frames
    where = f" at {_short_path(ours[-1].filename)}:{ours[-1].lineno}" if ours else ""
    message = " ".join(str(exc).split()) or "(no message)"
    hint = f"; traceback in {log}" if log else ""
    typer.secho(
        f"error: {what} failed{where}: {type(exc).__name__}: {message}{hint} (--debug shows it)",
        err=True,
        fg=typer.colors.RED,
    )
    return 1


def _write_crash_log(exc: BaseException, command: str) -> Path | None:
    """Write the traceback to ``$PATENTLAB_CACHE/logs``; None when even that is impossible."""
    from patentlab.cache import cache_dir

    try:
        log = cache_dir("logs") / f"patentlab-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        log.write_text(
            f"command: {command}\nversion: {__version__}\n\n" + "".join(traceback.format_exception(exc)),
            encoding="utf-8",
        )
    except OSError:
        return None
    return log


def _short_path(filename: str) -> str:
    """A source path from the package root (``src/patentlab/...``) rather than site-packages."""
    parts = Path(filename).parts
    return "/".join(parts[parts.index("patentlab") :]) if "patentlab" in parts else filename


def _click_exceptions() -> tuple[type[Exception], ...]:
    """Click's exception base, as installed and as typer vendors it (typer >= 0.24 ships its own
    copy of click, whose usage errors are not the installed click's)."""
    import click

    vendored = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
    return (click.ClickException, vendored)


def entrypoint() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entrypoint()
