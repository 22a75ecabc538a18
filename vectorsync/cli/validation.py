"""Every command's arguments and settings checked up front, and every mistake answered with one line.

`checked(command)` wraps a command: a mistake in an argument, option or setting prints one line naming
it, the value and what is allowed, and exits 2; a failure prints one line and exits 1; nothing prints a
traceback. The `require_*` checks run before a command starts work, so a run that cannot start leaves
nothing on disk: no data dir, no lock file (the data dir is created last, once every other check passed).
"""

from __future__ import annotations

import functools
import logging
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import click
import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.text import Text

from vectorsync.cli import console
from vectorsync.errors import InputError, VectorsyncError
from vectorsync.redaction import redact
from vectorsync.sources.names import printable

if TYPE_CHECKING:
    from vectorsync.jobs import EmbedNewData, Evaluate
    from vectorsync.settings import Settings

log = logging.getLogger("vectorsync.cli")

P = ParamSpec("P")
R = TypeVar("R")

USAGE = 2
FAILURE = 1
_SECRET_FIELDS = frozenset({"mongodb_uri", "openai_api_key"})
# CLI arguments (not options) of the job models, shown by their metavar.
_ARGUMENTS = {"path": "PATH", "dataset": "DATASET"}


class UsageMistake(Exception):
    """An argument, option or setting has a value the command cannot use; the message names it and what is allowed.

    Not a `VectorsyncError` on purpose: it belongs to the command line, and no command's own
    `except VectorsyncError` may turn it into a failure (exit 1) instead of a usage mistake (exit 2).
    """


def checked(command: Callable[P, R]) -> Callable[P, R]:
    """`command` with the settings validated first and every error turned into one line.

    Exit 2 for a usage mistake (an argument, option or setting), 1 for a failure; never a traceback.
    """

    @functools.wraps(command)
    def run_checked(*args: P.args, **kwargs: P.kwargs) -> R:
        from vectorsync.settings import Settings

        try:
            Settings()  # a malformed VECTORSYNC_* variable or vectorsync.toml stops every command alike
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, click.ClickException, KeyboardInterrupt):
            raise
        except Exception as exc:
            report(exc)

    return run_checked


def report(exc: BaseException) -> NoReturn:
    """End the command on `exc` with one line: exit 2 for a usage mistake or a bad setting, 1 for anything else."""
    if isinstance(exc, UsageMistake):
        stop(str(exc), USAGE)
    if isinstance(exc, ValidationError):
        stop(describe_validation(exc), USAGE)
    if isinstance(exc, SettingsError):  # a value pydantic-settings could not even parse, such as malformed JSON
        stop(f"{exc}: fix that variable or vectorsync.toml entry", USAGE)
    if isinstance(exc, tomllib.TOMLDecodeError):
        stop(f"the settings file (vectorsync.toml or VECTORSYNC_CONFIG) is not valid TOML: {exc}", USAGE)
    if isinstance(exc, VectorsyncError):
        stop(str(exc), FAILURE)
    if isinstance(exc, OSError):
        where = f"{printable(str(exc.filename))}: " if exc.filename else ""
        stop(f"{where}{exc.strerror or exc}", FAILURE)
    explain = getattr(console, "prefect_unavailable", None)  # Prefect's API that cannot start or be reached
    if explain is not None and (message := explain(exc)):
        stop(message, FAILURE)
    log.debug("unexpected error", exc_info=exc)
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    stop(f"unexpected {type(exc).__name__}: {printable(first)}", FAILURE)


def stop(message: str, code: int) -> NoReturn:
    """Print `message` as one `error:` line on stderr (secrets redacted) and exit with `code`."""
    line = printable(" ".join(redact(message).split()))
    console.err.print(Text.assemble(("error:", "red"), " ", line), highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def describe_validation(exc: ValidationError) -> str:
    """The first problem of a pydantic error as `NAME=VALUE: what is allowed`, NAME as the user spells it."""
    problems = exc.errors(include_url=False)
    if not problems:
        return str(exc).splitlines()[0]
    first = problems[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    if exc.title == "Settings":
        from vectorsync.settings import Settings

        name = Settings.origin(field) if field else "settings"
    else:
        name = _ARGUMENTS.get(field) or f"--{field.replace('_', '-')}"
    value = "<secret>" if field in _SECRET_FIELDS else _shown(first.get("input"))
    message = str(first["msg"]).removeprefix("Value error, ")
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    return f"{name}={value}: {message}{more}"


def require_settings(**overrides: Any) -> Settings:
    """The settings in force (environment, vectorsync.toml, then `overrides`), their data dir checked."""
    from vectorsync.settings import Settings

    settings = Settings(**{key: value for key, value in overrides.items() if value is not None})
    require_data_dir(settings)
    return settings


def require_data_dir(settings: Settings) -> None:
    """A data dir that is a file, or below one, is a usage mistake; one that cannot be created or written, a failure.

    Called once every other check has passed: it creates the folder (the command is about to) and proves it
    writable with a nameless temporary file, so a read-only disk fails here in one line, not mid-run.
    """
    from vectorsync.settings import Settings

    folder = settings.data_dir
    shown = f"{Settings.origin('data_dir')}={printable(folder.as_posix())}"
    existing = next((path for path in (folder, *folder.parents) if path.exists()), None)
    if existing is not None and not existing.is_dir():
        what = "is a file" if existing == folder else f"is below {printable(existing.as_posix())}, which is a file"
        raise UsageMistake(f"{shown}: {what}; point it at a folder (created if missing)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        stop(f"{shown}: cannot write there ({exc.strerror or exc})", FAILURE)


def require_run(job: EmbedNewData, id_field: str | None = None, query: str | None = None) -> Settings:
    """Check what `vectorsync run` needs before anything starts: PATH names files, settings and data dir are usable.

    `id_field` and `query` are the options as typed: in the job an empty value means "left out".
    """
    from vectorsync.sources import discover

    try:
        discover(job.path)
    except InputError as exc:
        raise UsageMistake(f"PATH {exc}") from None
    if not job.text_field.strip():
        raise UsageMistake(f"--text-field={_shown(job.text_field)}: must name a field")
    if id_field is not None and not id_field.strip():
        raise UsageMistake(f"--id-field={_shown(id_field)}: must name a field, or be left out")
    if query is not None and not query.strip():
        raise UsageMistake(f"--query={_shown(query)}: must hold words to search for, or be left out")
    settings = job.settings()
    require_data_dir(settings)
    return settings


def require_evaluation(job: Evaluate) -> Settings:
    """Check what `vectorsync eval` needs before anything starts: a readable BEIR folder, usable settings."""
    from vectorsync.evaluation.beir import load_dataset

    try:
        load_dataset(job.dataset, job.split)
    except InputError as exc:
        raise UsageMistake(f"DATASET {exc}") from None
    settings = job.settings()
    require_data_dir(settings)
    return settings


def require_query(text: str) -> str:
    """A search text with words in it; an empty one would return arbitrary hits."""
    if not text.strip():
        raise UsageMistake(f"TEXT={_shown(text)}: give words to search for")
    return text


def require_path(value: str, argument: str) -> Path:
    """An existing path given as `argument`, else a usage mistake naming it."""
    path = Path(value).expanduser()
    if not path.exists():
        raise UsageMistake(f"{argument}={_shown(value)}: no such file or folder")
    return path


def _shown(value: object) -> str:
    """A value as it goes into an error line: quoted when text, cut short, printable."""
    text = repr(value) if isinstance(value, str) else str(value)
    text = printable(text)
    return text if len(text) <= 80 else text[:79] + "…"
