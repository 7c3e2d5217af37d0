"""Where the real data sets live: `--data`, else $QRTRACE_REALDATA, else ../shared/data.

The data sets are not ours to redistribute (research-only and share-alike licences, see each
folder's README.md), so they are never copied into the repository: everything takes a path,
and an absent folder means "skip, and say so", never an error.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
ENV_VAR: Final = "QRTRACE_REALDATA"

#: data set name -> (folder, files the evaluation reads)
DATASETS: Final = {
    "foursquare": ("foursquare-nyc-tsmc2014-stan", ("checkins.csv",)),
    "ds4c": ("ds4c-korea-patient-route", ("PatientRoute.csv", "PatientInfo.csv")),
    "nz": ("nz-locations-of-interest", ("locations-of-interest-union.csv",)),
    "hk": ("hk-building-list", ("building-case-links-union.csv",)),
    "sp-hospital": ("sociopatterns-hospital-lyon", ("hospital-lyon-contacts.tsv",)),
    "sp-ht09": ("sociopatterns-ht09", ("ht09-contacts-steps.tsv",)),
}


def data_root(explicit: str | Path | None = None) -> Path:
    """The folder holding the data set folders."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return REPO_ROOT.parent / "shared" / "data"


def dataset_dir(root: Path, name: str) -> Path | None:
    """The data set's folder when every file it needs is there, else None."""
    folder, files = DATASETS[name]
    path = root / folder
    return path if all((path / f).is_file() for f in files) else None


def missing_message(root: Path, name: str) -> str:
    folder, files = DATASETS[name]
    return f"{name}: {root / folder} (with {', '.join(files)}) not found; skipped"
