"""Rendering a `CityDescription` as Markdown tables (what `qrtrace city --describe` prints).

Kept apart from `describe.py` so the aggregation stays a pure data function that other
front ends (JSON, HTTP) can reuse without the text layout.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from storage.domain import LOCAL_TZ, WARD_BY_CODE
from storage.synthetic_city.describe import CityDescription
from storage.synthetic_city.writer import OUTBREAK_JSON

#: contacts listed per F0 in the rendered summary; outbreak.json holds all of them
MAX_CONTACT_ROWS = 12


def render_description(desc: CityDescription) -> str:
    """Markdown: headline counts, then ward, category, day, venue and outbreak tables."""
    cfg = desc.config
    lines = [
        f"# Synthetic city: {desc.out_dir}",
        "",
        f"generator {desc.generator_version}, seed {cfg['seed']}, {len(desc.scans_per_day)} days"
        f" from {cfg['start_date']}",
        f"{desc.scans:,} scans · {desc.venues:,} venues · {desc.adults:,} adults"
        f" ({desc.app_users:,} app users) · {desc.no_checkout_share:.1%} without check-out",
        f"busiest 1 % of venues take {desc.top1pct_venue_share:.1%} of scans (Zipf check)",
        "",
        "## Wards",
        "",
        *_table(
            ["ward", "venues", "residents", "app users", "scans", "share"],
            [
                [
                    w.name,
                    f"{w.venues:,}",
                    f"{w.residents:,}",
                    f"{w.app_users:,}",
                    f"{w.scans:,}",
                    f"{w.share:.1%}",
                ]
                for w in desc.wards
            ],
        ),
        "",
        "## Venue categories",
        "",
        *_table(
            ["category", "venues", "scans", "share", "median dwell (min)", "no check-out"],
            [
                [
                    c.name_en,
                    f"{c.venues:,}",
                    f"{c.scans:,}",
                    f"{c.share:.1%}",
                    "-" if c.median_dwell_min is None else f"{c.median_dwell_min:.0f}",
                    f"{c.no_checkout_share:.1%}",
                ]
                for c in desc.categories
            ],
        ),
        "",
        "## Scans per day",
        "",
        *_table(
            ["day", "weekday", "scans"],
            [
                [d, datetime.fromisoformat(d).strftime("%a"), f"{n:,}"]
                for d, n in desc.scans_per_day.items()
            ],
        ),
        "",
        f"## Top {len(desc.top_venues)} venues",
        "",
        *_table(
            ["venue", "name", "ward", "category", "scans"],
            [
                [str(v.venue_id), v.name, v.ward, v.category, f"{v.scans:,}"]
                for v in desc.top_venues
            ],
        ),
        "",
        *_render_outbreak(desc.outbreak),
    ]
    return "\n".join(lines) + "\n"


def _render_outbreak(truth: dict[str, Any]) -> list[str]:
    cases = truth.get("cases", [])
    lines = ["## Planted outbreak", ""]
    if not cases:
        return [*lines, "none planted", ""]
    for i, case in enumerate(cases):
        onset = case["onset_date"] or "asymptomatic"
        ward = WARD_BY_CODE[case["home_ward"]].name
        contacts = case["contacts"]
        planted = sum(1 for c in contacts if c["planted"])
        lines += [
            f"### F0 #{i}: person {case['person']} ({ward}), sample {case['sample_date']},"
            f" onset {onset}",
            "",
            "visits: "
            + "; ".join(
                f"venue {v['venue']} {v['day']} {_clock(v['t_in'])}-{_clock(v['t_out'])}"
                for v in case["visits"]
            ),
            f"expected contacts: {len(contacts)} ({planted} planted,"
            f" {len(contacts) - planted} background)",
            "",
            *_table(
                ["person", "ward", "role", "overlap (min)", "visits", "check-out"],
                [
                    [
                        str(c["person"]),
                        WARD_BY_CODE[c["home_ward"]].name,
                        c["role"] or "background",
                        f"{c['total_overlap_s'] / 60:.1f}",
                        str(len(c["visits"])),
                        "yes" if all(s["has_checkout"] for s in c["visits"]) else "missing",
                    ]
                    for c in contacts[:MAX_CONTACT_ROWS]
                ],
            ),
            *(
                [f"... and {len(contacts) - MAX_CONTACT_ROWS} more (see {OUTBREAK_JSON})"]
                if len(contacts) > MAX_CONTACT_ROWS
                else []
            ),
            "",
        ]
        if case["non_contacts"]:
            lines += [
                "not contacts (intervals only touch): "
                + ", ".join(f"{p} ({r})" for p, r in case["non_contacts"].items()),
                "",
            ]
    chain = truth.get("chain")
    if chain:
        v = chain["f1_visit"]
        f2 = next((c for c in chain["co_visitors"] if c["person"] == chain["f2"]), None)
        overlap = "" if f2 is None else f", overlap {f2['total_overlap_s'] / 60:.0f} min"
        lines += [
            f"chain: F0 {chain['f0']} → F1 {chain['f1']} → F2 {chain['f2']} at venue"
            f" {v['venue']} on {v['day']} {_clock(v['t_in'])}-{_clock(v['t_out'])}{overlap}"
            f" ({len(chain['co_visitors'])} co-visitors)",
            "",
        ]
    return lines


def _clock(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).astimezone(LOCAL_TZ).strftime("%H:%M")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]

    def fmt(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return [fmt(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(fmt, rows)]
