"""`qrtrace users add/list/revoke` and `qrtrace audit verify/report`: officer API identities
and the audit trail, from a shell (the server reloads the users file when it changes)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import orjson
import typer
from rich.table import Table

from api.audit import report, verify
from api.auth import Role, add_user, list_users, revoke_user, users_path
from api.cli.common import DataDirOption, console, reports_errors, settings_for

users_app = typer.Typer(help="Officer API users (tokens stored as SHA-256 digests only).")
audit_app = typer.Typer(help="The hash-chained audit log of every trace, export and lookup.")


def _when(t: float | None) -> str:
    return "" if t is None else datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="seconds")


@users_app.command("add")
@reports_errors
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="User name (1-64 of A-Z a-z 0-9 _ . @ -).")],
    role: Annotated[Role, typer.Option("--role", help="officer, admin or reporting.")],
    ward: Annotated[
        int | None, typer.Option("--ward", help="Ward code 1..30 (officers only).")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create a user (or re-issue their token); prints the token once."""
    settings = settings_for(ctx, data_dir=data_dir)
    sys.stdout.write(add_user(users_path(settings.data_dir), name, role, ward) + "\n")


@users_app.command("list")
@reports_errors
def list_cmd(ctx: typer.Context, data_dir: DataDirOption = None) -> None:
    """Every user with role, ward and state (never a token)."""
    settings = settings_for(ctx, data_dir=data_dir)
    table = Table("name", "role", "ward", "created", "revoked")
    for u in list_users(users_path(settings.data_dir)):
        table.add_row(u.name, u.role, str(u.ward or ""), _when(u.created_at), _when(u.revoked_at))
    console.print(table)


@users_app.command("revoke")
@reports_errors
def revoke(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="User name.")],
    data_dir: DataDirOption = None,
) -> None:
    """Revoke a user's token (the row stays, for the audit trail)."""
    settings = settings_for(ctx, data_dir=data_dir)
    revoke_user(users_path(settings.data_dir), name)
    console.print(f"revoked {name}", highlight=False)


@audit_app.command("verify")
@reports_errors
def verify_cmd(ctx: typer.Context, data_dir: DataDirOption = None) -> None:
    """Check every hash, the order and the head; exit 2 naming the first bad line."""
    settings = settings_for(ctx, data_dir=data_dir)
    result = verify(settings.data_dir / "audit")
    console.print(
        f"audit log OK: {result.entries} entries, head {result.head_seq} {result.head_hash}",
        highlight=False,
    )


@audit_app.command("report")
@reports_errors
def report_cmd(
    ctx: typer.Context,
    officer: Annotated[str | None, typer.Option("--officer", help="Only this user.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """What an officer looked at: time, operation, case, purpose, rows, outcome."""
    settings = settings_for(ctx, data_dir=data_dir)
    entries = report(settings.data_dir / "audit", officer)
    if as_json:
        for e in entries:
            sys.stdout.write(orjson.dumps(e).decode() + "\n")
        return
    table = Table("time", "officer", "ward", "operation", "case", "purpose", "rows", "outcome")
    for e in entries:
        table.add_row(
            _when(e["time"]), e["officer"], str(e["ward"] or ""), e["operation"],
            e["case"] or "", e["purpose"], str(e["rows"]), e["outcome"],
        )  # fmt: skip
    console.print(table)
