"""`qrtrace eval`: the real-data report from the CLI, on a hand-made contact file."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from api.cli.main import app

runner = CliRunner()
CONTACTS = "t\ti\tj\tSi\tSj\n" + "".join(
    f"{t}\t{i}\t{j}\tNUR\tPAT\n"
    for t, i, j in [(20, 1, 2), (40, 1, 2), (60, 1, 2), (60, 1, 3), (2000, 2, 3), (2020, 3, 4)]
)


def _data(root: Path) -> Path:
    folder = root / "sociopatterns-hospital-lyon"
    folder.mkdir(parents=True)
    (folder / "hospital-lyon-contacts.tsv").write_text(CONTACTS)
    return root


def test_writes_the_report_of_the_sets_found_and_says_what_was_skipped(tmp_path: Path) -> None:
    data = _data(tmp_path / "data")
    out = tmp_path / "report.md"
    result = runner.invoke(
        app,
        ["eval", "--data", str(data), "--only", "sp-hospital", "--only", "hk", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "1 data set section(s), 1 skipped" in result.output
    report = out.read_text()
    assert "## SocioPatterns hospital ward (Lyon)" in report
    assert "6 contact windows of 20 s, 4 people, 4 pairs" in report
    assert "**NO**" not in report
    assert "- skipped: hk:" in report
    # no --timings: the bytes depend only on the data
    again = runner.invoke(app, ["eval", "--data", str(data), "--only", "sp-hospital"])
    assert again.exit_code == 0
    assert (
        again.stdout
        == runner.invoke(app, ["eval", "--data", str(data), "--only", "sp-hospital"]).stdout
    )


def test_unknown_data_set_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "--data", str(tmp_path), "--only", "nope"])
    assert result.exit_code == 2
    assert "--only" in result.output
    assert "sp-ht09" in result.output


def test_help() -> None:
    result = runner.invoke(app, ["eval", "--help"])
    assert result.exit_code == 0
    assert "--timings" in result.output
