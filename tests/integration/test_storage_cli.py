"""`qrtrace import / seal / purge` as an operator runs them: real subprocesses, real files."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from storage.datadir import DataDir
from storage.directory import PersonDirectory
from storage.pseudonym import Pseudonymiser, load_or_create_key
from storage.synthetic_city import PERSON_REF_BASE
from storage.venues import VenueRegistry

from .test_cli import qrtrace

FOURSQUARE = Path(__file__).resolve().parents[3] / "shared/data/foursquare-nyc-tsmc2014-stan"


def test_city_import_registers_venues_and_people_and_seals(tmp_path: Path) -> None:
    city = tmp_path / "city"
    made = qrtrace(
        "city", "--scans", "3000", "--venues", "300", "--adults", "2000", "--out", str(city),
        cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    data = tmp_path / "data"
    result = qrtrace("import", "--data-dir", str(data), str(city / "visits"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "registered 300 venues and 2,000 people" in result.stdout
    assert "loaded 3,000 / duplicate 0 / conflict 0 / rejected 0" in result.stdout
    again = qrtrace("import", "--data-dir", str(data), str(city), cwd=tmp_path)
    assert "loaded 0 / duplicate 3,000" in again.stdout, again.stdout

    visits = pq.read_table(city / "visits").to_pydict()
    key = load_or_create_key(data / "pseudonym.key")
    reference = visits["person_ref"][0]  # the app account number scans carry
    assert reference == visits["person"][0] + PERSON_REF_BASE
    pid = Pseudonymiser(key).person_id(str(reference))
    with PersonDirectory(data / "people") as people:
        record = people.lookup(pid)
        assert record is not None
        assert record.reference == str(reference)
    with VenueRegistry(data / "venues") as venues:
        assert len(venues.arrays()) > 300
    with DataDir(data) as store:
        assert store.hot.tail_days() == []  # sealed by the import
        assert sum(store.totals.daily_scans().values()) == store.hot.stats().index_entries
        mine = store.reader.visits_of_person(pid, 0, 2**32 - 1)
        rows = [i for i, p in enumerate(visits["person_ref"]) if p == reference]
        assert sorted(mine.t_in.tolist()) == sorted(visits["t_in"][i] for i in rows)


def test_import_of_malformed_rows_reports_each_and_writes_rejects(tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(
        "person,venue,t_in\n1,2,1630900000\n,2,1630900000\n3,abc,1630900000\n4,5\n6,7,1630900100\n"
    )
    rejects = tmp_path / "rejects.csv"
    result = qrtrace(
        "import", "--data-dir", str(tmp_path / "d"), str(source), "--rejects", str(rejects),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "rejected line 3: person: missing" in result.stdout
    assert "rejected line 4: venue: 'abc' is not an integer" in result.stdout
    assert "rejected line 5: row: wrong number of columns" in result.stdout
    assert "loaded 2 / duplicate 0 / conflict 0 / rejected 3" in result.stdout
    with rejects.open() as handle:
        assert [r["row"] for r in csv.DictReader(handle)] == ["3", "4", "5"]


def test_bad_map_and_missing_file_are_one_clear_line(tmp_path: Path) -> None:
    bad = qrtrace("import", "--data-dir", str(tmp_path), "x.csv", "--map", "who=x", cwd=tmp_path)
    assert bad.returncode == 2
    assert "--map" in bad.stderr
    missing = qrtrace("import", "--data-dir", str(tmp_path), "nope.csv", cwd=tmp_path)
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr


@pytest.mark.slow
def test_foursquare_import_with_assumed_dwell(tmp_path: Path) -> None:
    checkins = FOURSQUARE / "checkins.csv"
    if not checkins.exists():
        pytest.skip(f"{checkins} is absent (shared data set not mounted)")
    args = [
        "import", "--data-dir", str(tmp_path / "d"), str(checkins),
        "--map", "person=user_id,venue=poi_id,t_in=t_minutes",
        "--time-unit", "min", "--time-origin", "2012-04-03T00:00:00Z", "--assume-dwell", "60",
    ]  # fmt: skip
    first = qrtrace(*args, "--no-seal", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    # 147,938 rows of which 458 exact duplicates (the data set's README)
    assert "loaded 147,480 / duplicate 458 / conflict 0 / rejected 0" in first.stdout
    assert "294,960 scans written" in first.stdout
    second = qrtrace(*args, "--no-seal", cwd=tmp_path)
    assert "loaded 0 / duplicate 147,938" in second.stdout


def test_seal_then_purge_from_the_cli(tmp_path: Path) -> None:
    source = tmp_path / "v.csv"
    source.write_text("person,venue,t_in,t_out\n1,2,2021-09-01T08:00,2021-09-01T09:00\n"
                      "1,3,2021-09-20T08:00,2021-09-20T09:00\n")  # fmt: skip
    d = str(tmp_path / "d")
    loaded = qrtrace("import", "--data-dir", d, str(source), "--time-unit", "iso", "--no-seal",
                     cwd=tmp_path)  # fmt: skip
    assert "loaded 2" in loaded.stdout, loaded.stderr
    sealed = qrtrace("seal", "--data-dir", d, cwd=tmp_path)
    assert sealed.returncode == 0, sealed.stderr
    assert "sealed 2 day(s), 4 scans" in sealed.stdout
    assert "nothing was due" in qrtrace("seal", "--data-dir", d, cwd=tmp_path).stdout
    purged = qrtrace(
        "purge", "--data-dir", d, "--older-than", "21", "--now", "2021-09-25T12:00", cwd=tmp_path
    )
    assert purged.returncode == 0, purged.stderr
    assert "purged days before 2021-09-05 (days: 2021-09-01): 2 hot scans" in purged.stdout
    with DataDir(Path(d)) as data:
        assert [e.day for e in data.manifest.entries] == [data.manifest.entries[0].day]
        assert data.totals.daily_scans() == {data.manifest.entries[0].day: 2}
        assert np.array_equal(data.hot.tail_days(), [])


def test_capped_assumed_dwell_reimports_as_duplicates(tmp_path: Path) -> None:
    source = tmp_path / "points.csv"
    source.write_text("person,venue,t_in\n1,2,1630900000\n1,3,1630900600\n")
    args = ("import", "--data-dir", str(tmp_path / "d"), str(source), "--assume-dwell", "60",
            "--cap-at-next-checkin", "--no-seal")  # fmt: skip
    first = qrtrace(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "loaded 2 / duplicate 0 / conflict 0 / rejected 0" in first.stdout
    again = qrtrace(*args, cwd=tmp_path)
    assert "loaded 0 / duplicate 2 / conflict 0 / rejected 0" in again.stdout, again.stdout


def test_seal_and_purge_cover_every_ingest_process_store(tmp_path: Path) -> None:
    """A data dir a `serve --processes 2` node left: the offline commands merge and purge
    `hot-p1/` as well as `hot/`, so no expired scan stays behind in any log."""
    from storage.hotstore import HotStore  # noqa: PLC0415 - only this test writes logs directly
    from storage.multihot import hot_dir  # noqa: PLC0415
    from storage.records import day_bounds  # noqa: PLC0415
    from tests.unit.storage.scan_factory import DAY, random_scans  # noqa: PLC0415

    d = tmp_path / "d"
    old, new = random_scans(50, seed=1, day=DAY - 30), random_scans(40, seed=2)
    with (
        HotStore(hot_dir(d, 0), n_shards=16) as p0,
        HotStore(hot_dir(d, 1), n_shards=16) as p1,
    ):
        p0.submit(np.concatenate([old[:30], new])).result()
        p1.submit(np.concatenate([old[20:], new[:10]])).result()  # 10 + 10 retried copies
    sealed = qrtrace("seal", "--all", "--data-dir", str(d), cwd=tmp_path)
    assert sealed.returncode == 0, sealed.stderr
    assert "sealed 2 day(s), 90 scans" in sealed.stdout
    now = str(day_bounds(DAY)[1] - 3600)
    purged = qrtrace("purge", "--data-dir", str(d), "--older-than", "21", "--now", now,
                     cwd=tmp_path)  # fmt: skip
    assert purged.returncode == 0, purged.stderr
    for process in (0, 1):
        with HotStore(hot_dir(d, process), n_shards=16) as store:
            assert store.tail_days() == [DAY], process
