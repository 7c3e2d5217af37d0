"""Bulk import: vectorised parsing equals a per-row oracle; bad rows named; re-import no-op."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.errors import InvalidInputError
from storage.hotstore import HotStore
from storage.importer import Importer, ImportOptions, _NextCheckIn, row_scan_ids
from storage.pseudonym import Pseudonymiser
from storage.records import IN, OUT, day_bounds

from .scan_factory import DAY

KEY = b"k" * 32
START = day_bounds(DAY)[0]

BAD_CSV = """person,venue,t_in,t_out,category
0912345678,12,2023-12-09T08:00,2023-12-09T09:00,cafe
+84 912 345 678,12,2023-12-09T10:00,,3
,5,2023-12-09T08:00,,
abc def,5,2023-12-09T08:00,,
42,x,2023-12-09T08:00,,
42,7,yesterday,,
42,7,2023-12-09T08:00,2023-12-09T07:00,
42,7,2023-12-09T08:00,,karaoke,extra
42,7
42,0,2023-12-09T08:00,,
42,7,2023-12-09T08:00,,nightclub
43,7,2023-12-09T01:00:00Z,,market
"""


def _run(tmp_path: Path, source: Path, **options: object) -> tuple[Importer, HotStore]:
    hot = HotStore(tmp_path / "hot", n_shards=4)
    return Importer(hot, Pseudonymiser(KEY), ImportOptions(**options)), hot  # type: ignore[arg-type]


def test_bad_rows_are_named_by_line_and_field_and_good_rows_load(tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(BAD_CSV)
    importer, hot = _run(tmp_path, source, time_unit="iso")
    with hot:
        summary = importer.run(source)
        assert (summary.rows, summary.loaded, summary.rejected) == (12, 3, 9)
        assert summary.row_label == "line"
        found = {(r.row, r.field): r.reason for r in summary.first_rejects}
        assert found == {
            (4, "person"): "missing",
            (5, "person"): "not a valid person reference (phone, id or number)",
            (6, "venue"): "'x' is not an integer",
            (7, "t_in"): "'yesterday' is not an ISO 8601 date/time",
            (8, "t_out"): "before t_in",
            (9, "row"): "wrong number of columns",
            (10, "row"): "wrong number of columns",
            (11, "venue"): "outside 1..4294967295",
            (12, "category"): "'nightclub' is not a venue category code (1..18) or slug",
        }
        scans = hot.tail_scans(DAY)[0]
        # one visit with an observed OUT, two IN-only rows; both phone spellings are one person
        assert sorted(scans["direction"].tolist()) == [IN, IN, IN, OUT]
        pid = Pseudonymiser(KEY).person_id("0912345678")
        assert (scans["person"][scans["venue"] == 12] == pid).all()
        z_row = scans[scans["venue"] == 7]
        assert z_row["t"].tolist() == [START + 8 * 3600]  # 01:00Z is 08:00 local
        again = importer.run(source)
        assert (again.loaded, again.duplicate, again.rejected) == (0, 3, 9)
        assert hot.stats().scans_written == 4


def test_parquet_rows_equal_a_per_row_oracle(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 5_000
    person = rng.integers(0, 300, n)
    t_in = START + rng.integers(0, 80_000, n)
    t_out = t_in + rng.integers(60, 3_000, n)
    has_out = rng.random(n) < 0.6
    table = pa.table(
        {
            "who": person,
            "where": rng.integers(1, 50, n).astype(np.uint32),
            "t_in": t_in * 1000,
            "t_out": pa.array(t_out * 1000, mask=~has_out),
            "category": rng.integers(1, 19, n).astype(np.uint8),
        }
    )
    source = tmp_path / "visits.parquet"
    pq.write_table(table, source)
    columns = {"person": "who", "venue": "where"}
    importer, hot = _run(tmp_path, source, columns=columns, time_unit="ms", batch_rows=777)
    with hot:
        summary = importer.run(source)
        assert (summary.loaded + summary.duplicate, summary.rejected) == (n, 0)
        scans = hot.tail_scans(DAY)[0]
    pseudo = Pseudonymiser(KEY)
    expected = set()
    for row in table.to_pylist():
        pid = pseudo.person_id(str(row["who"]))
        expected.add((pid, row["where"], row["t_in"] // 1000, IN, row["category"]))
        if row["t_out"] is not None:
            expected.add((pid, row["where"], row["t_out"] // 1000, OUT, row["category"]))
    got = set(
        zip(
            scans["person"].tolist(),
            scans["venue"].tolist(),
            scans["t"].tolist(),
            scans["direction"].tolist(),
            scans["category"].tolist(),
            strict=True,
        )
    )
    assert got == expected
    assert len(scans) == len(expected)  # exact duplicate rows collapsed, nothing else


def test_minutes_from_an_origin_with_assumed_dwell_capped_at_day_end(tmp_path: Path) -> None:
    source = tmp_path / "points.csv"
    source.write_text("user_id,poi_id,t_minutes\n1,9,60\n1,9,1430\n")
    origin = START  # local midnight
    importer, hot = _run(
        tmp_path,
        source,
        columns={"person": "user_id", "venue": "poi_id", "t_in": "t_minutes"},
        time_unit="min",
        time_origin=origin,
        assume_dwell_min=60,
    )
    with hot:
        assert importer.run(source).loaded == 2
        scans = np.sort(hot.tail_scans(DAY)[0], order="t")
    assert scans["t"].tolist() == [
        origin + 3600,
        origin + 7200,
        origin + 1430 * 60,
        day_bounds(DAY)[1] - 1,
    ]


def test_a_missing_column_is_refused_with_the_map_hint(tmp_path: Path) -> None:
    source = tmp_path / "x.csv"
    source.write_text("user,venue,t_in\n1,2,3\n")
    importer, hot = _run(tmp_path, source)
    with hot, pytest.raises(InvalidInputError, match="--map person=COLUMN"):
        importer.run(source)


def test_scan_ids_depend_on_content_and_direction() -> None:
    fields = [np.array([1, 1, 2], np.uint64) for _ in range(5)]
    ids_in = row_scan_ids(fields, "in")
    ids_out = row_scan_ids(fields, "out")
    assert ids_in.shape == (3, 16)
    assert (ids_in[0] == ids_in[1]).all()
    assert not (ids_in[0] == ids_in[2]).all()
    assert not (ids_in[0] == ids_out[0]).all()


POINTS = """user_id,poi_id,t_minutes,t_out
1,9,200,
2,9,10,
1,9,0,
1,8,20,
1,7,25,30
3,0,5,
3,9,0,
1,9,0,
"""


@pytest.mark.parametrize("batch_rows", [2, 65_536])
def test_assumed_stay_ends_at_the_next_check_in_of_the_file(
    tmp_path: Path, batch_rows: int
) -> None:
    source = tmp_path / "points.csv"
    source.write_text(POINTS)
    importer, hot = _run(
        tmp_path,
        source,
        columns={"person": "user_id", "venue": "poi_id", "t_in": "t_minutes"},
        time_unit="min",
        time_origin=START,
        assume_dwell_min=60,
        cap_at_next_checkin=True,
        batch_rows=batch_rows,
    )
    with hot:
        summary = importer.run(source)
        assert (summary.rows, summary.loaded, summary.duplicate, summary.rejected) == (8, 6, 1, 1)
        scans = hot.tail_scans(DAY)[0]
        pseudo = Pseudonymiser(KEY)
        pairs = sorted(
            (int(s["person"]), int(s["t"] - START) // 60, int(s["direction"])) for s in scans
        )
        p1, p2, p3 = (pseudo.person_id(str(p)) for p in (1, 2, 3))
        # person 1: 0 -> next check-in 20; 20 -> 25 (the row with its own t_out counts as a
        # check-in); 25 -> 30 as given; 200 -> 260. Person 3's venue-0 row is rejected, so it
        # caps nothing: 0 -> 60. The duplicate row is one visit.
        assert sorted(pairs) == sorted(
            [(p1, 0, IN), (p1, 20, OUT), (p1, 20, IN), (p1, 25, OUT), (p1, 25, IN), (p1, 30, OUT),
             (p1, 200, IN), (p1, 260, OUT), (p2, 10, IN), (p2, 70, OUT), (p3, 0, IN),
             (p3, 60, OUT)]
        )  # fmt: skip
        again = importer.run(source)  # exactly once: nothing new, nothing conflicting
        assert (again.loaded, again.duplicate, again.conflict) == (0, 7, 0)


def test_without_the_cap_assumed_stays_overlap(tmp_path: Path) -> None:
    source = tmp_path / "points.csv"
    source.write_text("user_id,poi_id,t_minutes\n1,9,0\n1,8,20\n")
    importer, hot = _run(
        tmp_path,
        source,
        columns={"person": "user_id", "venue": "poi_id", "t_in": "t_minutes"},
        time_unit="min",
        time_origin=START,
        assume_dwell_min=60,
    )
    with hot:
        importer.run(source)
        outs = hot.tail_scans(DAY)[0]
        assert sorted(int(t - START) // 60 for t in outs["t"][outs["direction"] == OUT]) == [60, 80]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 4), st.integers(0, 50)), max_size=30),
    st.lists(st.tuples(st.integers(1, 5), st.integers(0, 60)), max_size=30),
)
def test_next_check_in_equals_a_per_row_search(
    known: list[tuple[int, int]], queries: list[tuple[int, int]]
) -> None:
    index = _NextCheckIn(
        np.array([p for p, _ in known], dtype=np.uint64), np.array([t for _, t in known])
    )
    got = index.after(
        np.array([p for p, _ in queries], dtype=np.uint64),
        np.array([t for _, t in queries], dtype=np.int64),
    ).tolist()
    none = np.iinfo(np.int64).max
    want = [min((u for q, u in known if q == p and u > t), default=none) for p, t in queries]
    assert got == want
