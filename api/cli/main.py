"""Entry point of the `qrtrace` command: registers the subcommands, nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli import bench, city, demo, info, serve, simulate, storage_cmds, trace, users, venues
from api.cli import eval as eval_cmd
from api.cli.common import CliState

app = typer.Typer(
    name="qrtrace",
    help="qrtrace: QR check-in ingestion and contact tracing for a city.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
)


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML settings file (default: $QRTRACE_CONFIG, else ./qrtrace.toml if present).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """qrtrace: QR check-in ingestion and contact tracing for a city."""
    ctx.obj = CliState(config_file=config)


app.command("version")(info.version)
app.command("settings")(info.show_settings)
app.command("city")(city.city)
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)
app.command("simulate")(simulate.simulate)
app.add_typer(venues.venues_app, name="venues")
app.add_typer(venues.devices_app, name="devices")
app.command("trace")(trace.trace)
app.command("exposure")(trace.exposure)
app.command("clusters")(trace.clusters_cmd)
app.command("import")(storage_cmds.import_visits)
app.command("seal")(storage_cmds.seal)
app.command("purge")(storage_cmds.purge)
app.command("eval")(eval_cmd.evaluate)
app.add_typer(users.users_app, name="users")
app.add_typer(users.audit_app, name="audit")
app.command("bench")(bench.bench)
app.command("loadtest")(bench.loadtest)

if __name__ == "__main__":  # pragma: no cover - `python -m api.cli.main`
    app()
