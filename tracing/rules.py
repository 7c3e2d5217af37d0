"""Tracing rule sets as data: named, versioned parameter sets (DESIGN §4).

Why data and not code: the definition of "close contact" changed several times during the
pandemic, and countries disagreed. A rule set is one point in a parameter space the kernels
understand; every result is stamped with the rule set's name, version and full parameters,
so a contact list can be regenerated, or explained, after the definition moved on.

The six built-in sets (README "Tracing rule sets" documents each) differ only in these
parameters. A request may override any parameter (`--param name=value`); the value is parsed
and validated against the parameter's spec, and the stamp lists what was overridden.

Integer units: weights are kept in thousandths ("milli") so scores are exact integers in the
kernels: one second of overlap at weight 1.0 with a case weight of 1.0 is 1,000,000 units.
"""

# The parameter table reads best as one row per parameter.
# ruff: noqa: E501
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from storage.domain import CATEGORIES, LOCAL_UTC_OFFSET_S
from tracing.errors import RuleParameterError, UnknownRuleSetError

#: units of one second of overlap at weight 1.0 × case weight 1.0
UNITS_PER_SECOND: Final = 1_000_000
#: Corona-Warn-App transmission-risk level 1..8 -> weight (thousandths); index 0 = not used
CWA_RISK_WEIGHT_MILLI: Final = (1000, 0, 0, 600, 800, 1000, 1200, 1400, 1600)

# Kernel parameter slots (int64 array handed to the kernels; see tracing.kernels).
P_CLOSED: Final = 0
P_CHECKOUT: Final = 1
P_FIXED_STAY: Final = 2
P_MIN_STAY: Final = 3
P_TAIL_MAX: Final = 4
P_PAD_BEFORE: Final = 5
P_PAD_AFTER: Final = 6
P_SLOT: Final = 7
P_SLOT_BOTH: Final = 8
P_SLOT_NEXT: Final = 9
P_DAY_SPLIT: Final = 10
P_ROUND: Final = 11
P_MEASURE: Final = 12
P_CASE_W: Final = 13
P_TTL: Final = 14
P_AS_OF: Final = 15
P_LOCAL_OFFSET: Final = 16
N_PARAMS: Final = 17

CHECKOUT_MODES: Final = ("stored", "default-dwell", "next-checkin-or-midnight", "fixed")
DAY_SPLITS: Final = ("none", "local", "utc")


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One parameter: its type, bounds or choices, default meaning and help text."""

    name: str
    kind: str  # "int" | "float" | "choice" | "label"
    help: str
    low: float = 0
    high: float = 0
    choices: tuple[str, ...] = ()

    def parse(self, text: str | int | float) -> int | float | str:
        """The validated value of `text`; `RuleParameterError` names the parameter."""
        raw = str(text).strip()
        if self.kind == "int":
            try:
                value: int | float | str = int(raw)
            except ValueError:
                raise RuleParameterError(
                    f"parameter {self.name}: {raw!r} is not an integer; expected an integer in "
                    f"[{self.low:g}, {self.high:g}]"
                ) from None
        elif self.kind == "float":
            try:
                value = float(raw)
            except ValueError:
                raise RuleParameterError(
                    f"parameter {self.name}: {raw!r} is not a number; expected a number in "
                    f"[{self.low:g}, {self.high:g}]"
                ) from None
        elif self.kind == "choice":
            if raw not in self.choices:
                raise RuleParameterError(
                    f"parameter {self.name}: {raw!r}; expected one of {', '.join(self.choices)}"
                )
            return raw
        else:
            if not raw or len(raw) > 40:
                raise RuleParameterError(
                    f"parameter {self.name}: {raw!r}; expected a label of 1-40 characters"
                )
            return raw
        assert isinstance(value, int | float)
        if not self.low <= value <= self.high:
            raise RuleParameterError(
                f"parameter {self.name}: {raw}; expected a value in [{self.low:g}, {self.high:g}]"
            )
        return value


_DAY = 86_400
# fmt: off
_SPECS: tuple[ParamSpec, ...] = (
    ParamSpec("days_before", "int", "infectious window starts this many days before onset (or sample date when asymptomatic), at local midnight", 0, 30),
    ParamSpec("days_after_sample", "int", "window ends at local midnight after sample date + this many days (isolation), unless an end time is given", 0, 30),
    ParamSpec("interval", "choice", "half-open: [t_in, t_out), overlap must be > 0 s; closed: [t_in, t_out], touching counts", choices=("half-open", "closed")),
    ParamSpec("checkout", "choice", "visit end when no check-out was scanned: stored (storage's imputation: next scan, capped by the category's default dwell and the day's end), default-dwell (t_in + category default dwell), next-checkin-or-midnight, fixed (every visit is [t_in, t_in + fixed_stay_min], check-outs ignored)", choices=CHECKOUT_MODES),
    ParamSpec("fixed_stay_min", "int", "stay length used by checkout=fixed", 0, 24 * 60),
    ParamSpec("min_case_stay_min", "int", "F0 stays shorter than this many whole minutes are dropped", 0, 24 * 60),
    ParamSpec("tail_max_min", "int", "after the F0 leaves, its window is extended by min(stay in whole minutes, this) (aerosol tail); 0 = none", 0, 24 * 60),
    ParamSpec("pad_before_min", "int", "F0 window starts this many minutes before its check-in", 0, 24 * 60),
    ParamSpec("pad_after_min", "int", "F0 window ends this many minutes after its check-out", 0, 24 * 60),
    ParamSpec("slot_min", "int", "time slotting: start rounded down, end rounded up to this many minutes; 0 = none", 0, 24 * 60),
    ParamSpec("slot_side", "choice", "slotting applies to the F0's windows only (case) or to every visit (both)", choices=("case", "both")),
    ParamSpec("slot_out", "choice", "end rounding: ceil (an exact slot boundary stays) or next (an exact boundary goes to the next slot)", choices=("ceil", "next")),
    ParamSpec("day_split", "choice", "overlaps are split and summed per day at local (UTC+7) or UTC midnight; none = one sum", choices=DAY_SPLITS),
    ParamSpec("rounding", "choice", "overlap per day piece: none (seconds) or half-up whole minutes (from > 0 s only)", choices=("none", "half-up-minutes")),
    ParamSpec("measure", "choice", "overlap: score counts time together; matches: score counts matching check-ins", choices=("overlap", "matches")),
    ParamSpec("risk_level", "int", "Corona-Warn-App transmission-risk level of the F0's check-ins (1..8 -> weight 0, 0, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6); 0 = not used (weight 1)", 0, 8),
    ParamSpec("score_unit", "choice", "score shown in seconds, minutes or matches", choices=("seconds", "minutes", "matches")),
    ParamSpec("threshold", "float", "a contact whose (per-day, when day_split is set) score reaches this is in the high tier", 0, 1e9),
    ParamSpec("tier_high", "label", "label of contacts at or above the threshold"),
    ParamSpec("tier_low", "label", "label of contacts below the threshold"),
    ParamSpec("ttl_days", "int", "matches with contact check-ins older than this many days before the window end expire; 0 = never", 0, 366),
    ParamSpec("severity", "int", "severity attached to every match of this trace (kept as the highest per check-in)", 0, 3),
    ParamSpec("f2_days", "int", "F2 candidates: an F1's visits this many days from their first exposure are searched", 0, 30),
    *(
        ParamSpec(f"weight.{c.slug}", "float", f"weight of {c.name_en.lower()} visits", 0, 10)
        for c in CATEGORIES
    ),
    ParamSpec("weight.unknown", "float", "weight of visits at a venue of unknown category", 0, 10),
)
# fmt: on
SPECS: Final = MappingProxyType({s.name: s for s in _SPECS})

_UNIFORM = {f"weight.{c.slug}": 1.0 for c in CATEGORIES} | {"weight.unknown": 1.0}
#: vn-moh category weights: closed, crowded, long-stay rooms weigh more than open-air places
_VN_MOH_WEIGHTS = _UNIFORM | {
    "weight.karaoke": 1.5,
    "weight.restaurant": 1.25,
    "weight.cafe": 1.25,
    "weight.factory": 1.25,
    "weight.hospital": 1.25,
    "weight.gym": 1.25,
    "weight.shop": 0.8,
    "weight.pharmacy": 0.8,
    "weight.bank": 0.8,
    "weight.supermarket": 0.8,
    "weight.market": 0.75,
    "weight.transport": 0.75,
}
_BASE: dict[str, int | float | str] = {
    "days_before": 2,
    "days_after_sample": 0,
    "interval": "half-open",
    "checkout": "stored",
    "fixed_stay_min": 60,
    "min_case_stay_min": 0,
    "tail_max_min": 0,
    "pad_before_min": 0,
    "pad_after_min": 0,
    "slot_min": 0,
    "slot_side": "case",
    "slot_out": "ceil",
    "day_split": "none",
    "rounding": "none",
    "measure": "overlap",
    "risk_level": 0,
    "score_unit": "seconds",
    "threshold": 0.0,
    "tier_high": "contact",
    "tier_low": "possible",
    "ttl_days": 0,
    "severity": 0,
    "f2_days": 14,
    **_UNIFORM,
}


@dataclass(frozen=True)
class RuleSet:
    """A named, versioned parameter set; `with_overrides` derives a validated variant."""

    name: str
    version: str
    summary: str
    values: Mapping[str, int | float | str]
    overridden: tuple[str, ...] = field(default=())

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def __reduce__(self) -> tuple[Any, ...]:
        """Picklable (a mapping proxy is not): how a rule set travels to Dask workers."""
        values = dict(self.values)
        return (_rebuilt, (self.name, self.version, self.summary, values, self.overridden))

    def with_overrides(self, overrides: Mapping[str, str | int | float]) -> RuleSet:
        """A copy with `overrides` parsed and validated (unknown names are refused)."""
        values = dict(self.values)
        for name, raw in overrides.items():
            spec = SPECS.get(name)
            if spec is None:
                raise RuleParameterError(
                    f"unknown parameter {name!r} for rule set {self.name}; expected one of "
                    f"{', '.join(SPECS)}"
                )
            values[name] = spec.parse(raw)
        names = tuple(sorted({*self.overridden, *overrides}))
        return RuleSet(self.name, self.version, self.summary, MappingProxyType(values), names)

    def stamp(self) -> dict[str, Any]:
        """What every result carries: name, version, every parameter, what was overridden."""
        return {
            "name": self.name,
            "version": self.version,
            "params": dict(sorted(self.values.items())),
            "overridden": list(self.overridden),
        }

    # ------------------------------------------------------------ kernel views

    def weights_milli(self) -> npt.NDArray[np.int64]:
        """Weight in thousandths indexed by venue category code (256 entries)."""
        table = np.full(256, round(float(self["weight.unknown"]) * 1000), dtype=np.int64)
        for c in CATEGORIES:
            table[c.code] = round(float(self[f"weight.{c.slug}"]) * 1000)
        return table

    def case_weight_milli(self) -> int:
        return CWA_RISK_WEIGHT_MILLI[int(self["risk_level"])]

    def unit_divisor(self) -> int:
        """Kernel units per displayed score unit."""
        per = {"seconds": 1, "minutes": 60, "matches": 1}[str(self["score_unit"])]
        return UNITS_PER_SECOND * per

    def threshold_units(self) -> int:
        return round(float(self["threshold"]) * self.unit_divisor())

    @cached_property
    def compiled(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int]:
        """(parameter vector with as_of 0, weights, threshold units), computed once per set."""
        return self._params(), self.weights_milli(), self.threshold_units()

    def kernel_params(self, as_of: int) -> npt.NDArray[np.int64]:
        """The int64 parameter vector the kernels read (slots `P_*`)."""
        p = self.compiled[0].copy()
        p[P_AS_OF] = as_of
        return p

    def _params(self) -> npt.NDArray[np.int64]:
        p = np.zeros(N_PARAMS, dtype=np.int64)
        p[P_CLOSED] = self["interval"] == "closed"
        p[P_CHECKOUT] = CHECKOUT_MODES.index(str(self["checkout"]))
        p[P_FIXED_STAY] = int(self["fixed_stay_min"]) * 60
        p[P_MIN_STAY] = int(self["min_case_stay_min"]) * 60
        p[P_TAIL_MAX] = int(self["tail_max_min"]) * 60
        p[P_PAD_BEFORE] = int(self["pad_before_min"]) * 60
        p[P_PAD_AFTER] = int(self["pad_after_min"]) * 60
        p[P_SLOT] = int(self["slot_min"]) * 60
        p[P_SLOT_BOTH] = self["slot_side"] == "both"
        p[P_SLOT_NEXT] = self["slot_out"] == "next"
        p[P_DAY_SPLIT] = DAY_SPLITS.index(str(self["day_split"]))
        p[P_ROUND] = self["rounding"] == "half-up-minutes"
        p[P_MEASURE] = self["measure"] == "matches"
        p[P_CASE_W] = self.case_weight_milli()
        p[P_TTL] = int(self["ttl_days"]) * _DAY
        p[P_LOCAL_OFFSET] = LOCAL_UTC_OFFSET_S
        return p


def _rebuilt(
    name: str,
    version: str,
    summary: str,
    values: dict[str, int | float | str],
    overridden: tuple[str, ...],
) -> RuleSet:
    return RuleSet(name, version, summary, MappingProxyType(values), overridden)


def _rule(name: str, version: str, summary: str, **values: int | float | str) -> RuleSet:
    merged = {**_BASE, **values}
    for key, value in values.items():
        SPECS[key].parse(value)  # a typo in a built-in set fails at import, in tests
    return RuleSet(name, version, summary, MappingProxyType(merged))


RULE_SETS: Final = MappingProxyType(
    {
        r.name: r
        for r in (
            _rule(
                "plain",
                "1",
                "half-open overlap > 0 s, no check-out = t_in + default dwell, score = overlap seconds",
                checkout="default-dwell",
            ),
            _rule(
                "vn-moh",
                "1",
                "Vietnam MoH: category-weighted minutes per local day, F1 at >= 15",
                day_split="local",
                score_unit="minutes",
                threshold=15.0,
                tier_high="F1",
                tier_low="possible",
                **_VN_MOH_WEIGHTS,
            ),
            _rule(
                "cwa",
                "1",
                "Corona-Warn-App presence tracing: 10-min slots, tail, per UTC day, >= 10",
                min_case_stay_min=10,
                tail_max_min=30,
                slot_min=10,
                slot_side="case",
                slot_out="ceil",
                day_split="utc",
                rounding="half-up-minutes",
                risk_level=5,
                score_unit="minutes",
                threshold=10.0,
                tier_high="high-risk",
                tier_low="low-risk",
            ),
            _rule(
                "nhs",
                "1",
                "NHS COVID-19 venue check-in: quarter-hour slots, next check-in or midnight",
                checkout="next-checkin-or-midnight",
                slot_min=15,
                slot_side="both",
                slot_out="next",
                score_unit="minutes",
                tier_high="alert",
            ),
            _rule(
                "covid-alert",
                "1",
                "COVID Alert (Canada): check-in = [t, t + 1 h], closed, 14-day expiry",
                interval="closed",
                checkout="fixed",
                fixed_stay_min=60,
                score_unit="minutes",
                ttl_days=14,
                severity=1,
                tier_high="exposed",
            ),
            _rule(
                "pc-covid",
                "1",
                "PC-Covid (Vietnam 2022): same venue within ± 1 h of an F0 check-in",
                interval="closed",
                checkout="fixed",
                fixed_stay_min=0,
                pad_before_min=60,
                pad_after_min=60,
                measure="matches",
                score_unit="matches",
                tier_high="contact",
            ),
        )
    }
)
DEFAULT_RULE_SET: Final = "vn-moh"


def get_rule_set(
    name: str = DEFAULT_RULE_SET, overrides: Mapping[str, str | int | float] | None = None
) -> RuleSet:
    """A built-in rule set by name, with optional validated overrides."""
    try:
        rules = RULE_SETS[name]
    except KeyError:
        raise UnknownRuleSetError(
            f"unknown rule set {name!r}; expected one of {', '.join(RULE_SETS)}"
        ) from None
    return rules.with_overrides(overrides) if overrides else rules


def parse_param_overrides(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`["k=v", ...]` as a dict; a malformed item names itself."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise RuleParameterError(f"--param {item!r}: expected name=value")
        out[name.strip()] = value.strip()
    return out
