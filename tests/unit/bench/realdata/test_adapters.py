"""Hand-made rows through the DS4C and HK adapters: links, rejects, slots."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from bench.realdata import ds4c

INFO = """patient_id,global_num,sex,infection_case,infected_by
1,101,male,Itaewon Clubs,
2,102,female,contact with patient,1
3,103,male,contact with patient,#101
4,,male,,4
5,,male,,999
6,,male,,#555
"""
ROUTES = """patient_id,global_num,date,province,city,type,latitude,longitude
1,101,2020-05-02,Seoul,Yongsan-gu,etc,37.5,127.0
1,101,2020-05-02,Seoul,Yongsan-gu,etc,37.6,127.1
2,102,2020-05-02,Seoul,Yongsan-gu,etc,37.50000001,127.0
3,103,,Seoul,Yongsan-gu,etc,37.5,127.0
3,103,2020-05-03,Seoul,Yongsan-gu,etc,,127.0
3,103,2020-05-03,Seoul,Yongsan-gu,etc,0,0
"""


def test_links_resolve_patient_ids_and_global_numbers(tmp_path: Path) -> None:
    (tmp_path / "PatientInfo.csv").write_text(INFO)
    links, cases, counts = ds4c.read_links(tmp_path)
    assert links == {"2": "1", "3": "1"}
    assert cases["1"] == "Itaewon Clubs"
    assert counts == {
        "by patient id": 1,
        "by global number (#N)": 1,
        "infected by itself": 1,
        "source not a listed patient": 2,
    }


def test_routes_reject_with_reasons_and_slot_a_persons_day(tmp_path: Path) -> None:
    (tmp_path / "PatientRoute.csv").write_text(ROUTES)
    routes = ds4c.read_routes(tmp_path)
    assert routes.rows == 6
    assert routes.patient == ["1", "1", "2"]
    assert dict(routes.rejects) == {
        "date missing or not yyyy-mm-dd": 1,
        "coordinate missing or not a number": 1,
        "coordinate out of range (or 0, 0)": 1,
    }
    ds4c._write_rows(routes, 7, tmp_path / "rows.parquet")
    rows = pq.read_table(tmp_path / "rows.parquet").to_pydict()
    day = (18384) * 86_400  # 2020-05-02
    assert rows["t_in"] == [day, day + 60, day]  # patient 1's second place is a minute later
    assert rows["venue"][0] == rows["venue"][2] != rows["venue"][1]  # 7 decimals: same place
