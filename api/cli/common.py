"""Pieces every command shares: the settings it runs with, shared options, error handling."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from api.logs import configure_logging
from storage.errors import QrtraceError
from storage.settings import Settings, load_settings

console = Console()
err_console = Console(stderr=True)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory (default: the data_dir setting, QRTRACE_DATA_DIR).",
        show_default=False,
    ),
]

P = ParamSpec("P")
R = TypeVar("R")

#: exit code for a domain error (bad input, bad settings); typer uses 2 for usage errors too
EXIT_INVALID = 2


@dataclass(frozen=True, slots=True)
class CliState:
    """What the top-level callback parsed: the config file every command loads settings from."""

    config_file: Path | None


def settings_for(ctx: typer.Context, **overrides: Any) -> Settings:
    """Load settings (file, env, then CLI overrides) and configure logging from them."""
    state = ctx.obj if isinstance(ctx.obj, CliState) else CliState(config_file=None)
    settings = load_settings(state.config_file, **overrides)
    configure_logging(settings.log_level, settings.log_format)
    return settings


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a domain error into one clear line on stderr and exit code 2, not a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except QrtraceError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(EXIT_INVALID) from None

    return wrapper
