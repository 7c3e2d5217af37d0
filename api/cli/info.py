"""`qrtrace version` and `qrtrace settings`: what is installed and what it runs with."""

from __future__ import annotations

import platform
from importlib import metadata

import typer
from rich.table import Table

from api.cli.common import console, reports_errors, settings_for
from storage.settings import Settings, env_var_name

_COMPONENTS = ("numpy", "numba", "pyarrow", "rocksdict", "grpcio", "networkx", "orjson")


def _version_of(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def version() -> None:
    """Print the qrtrace version and the versions of the engines it is built on."""
    console.print(f"qrtrace {_version_of('qrtrace')}", highlight=False)
    console.print(f"python {platform.python_version()} ({platform.machine()})", highlight=False)
    for name in _COMPONENTS:
        console.print(f"{name} {_version_of(name)}", highlight=False)


@reports_errors
def show_settings(ctx: typer.Context) -> None:
    """Show every setting: its effective value, environment variable and help text."""
    settings = settings_for(ctx)
    table = Table(title="qrtrace settings")
    table.add_column("setting")
    table.add_column("value")
    table.add_column("env var")
    table.add_column("help")
    for name, field in Settings.model_fields.items():
        table.add_row(name, str(getattr(settings, name)), env_var_name(name), field.description)
    console.print(table)
