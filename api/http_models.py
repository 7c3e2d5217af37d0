"""Strict HTTP request bodies (unknown fields and wrong types are refused with 422).

They mirror the gRPC request messages field for field, so one client shape works over both.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Text = Annotated[str, Field(max_length=200)]
Date = Annotated[str, Field(max_length=40, description="YYYY-MM-DD (city time)")]
Time = Annotated[str, Field(max_length=40, description="ISO 8601 (city time if naive) or epoch s")]
Limit = Annotated[int, Field(ge=0, le=5000, description="0: the default (100)")]
Offset = Annotated[int, Field(ge=0, le=10_000_000)]
Ward = Annotated[int, Field(ge=0, le=30, description="ward code 1..30, 0: all / from directory")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TraceCaseBody(_Strict):
    case_id: Text = ""
    person: Text = ""
    sample_date: Date = ""
    onset_date: Date = ""
    isolation_date: Date = ""
    start: Time = ""
    end: Time = ""
    rules: Text = ""
    params: dict[Text, Text] = Field(default_factory=dict, max_length=50)
    limit: Limit = 0
    offset: Offset = 0
    f2: bool = False
    purpose: Text = ""


class TraceExposureBody(_Strict):
    venue: Annotated[int, Field(ge=1, le=(1 << 26) - 1)]
    start: Time
    end: Time
    rules: Text = ""
    params: dict[Text, Text] = Field(default_factory=dict, max_length=50)
    limit: Limit = 0
    offset: Offset = 0
    purpose: Text = ""


class TraceCasesBody(_Strict):
    case_ids: list[Text] = Field(default_factory=list, max_length=10_000)
    purpose: Text = ""


class ClustersBody(_Strict):
    case_ids: list[Text] = Field(default_factory=list, max_length=10_000)
    hot_spot_cases: Annotated[int, Field(ge=0, le=1000)] = 0
    hot_spot_hours: Annotated[int, Field(ge=0, le=24 * 30)] = 0
    purpose: Text = ""


class RegisterCaseBody(_Strict):
    person: Text
    sample_date: Date
    onset_date: Date = ""
    ward: Ward = 0
    external_id: Text = ""


class PositiveResultsBody(_Strict):
    results: list[RegisterCaseBody] = Field(max_length=10_000)


class FollowUpUpdateBody(_Strict):
    person: Text
    status: Annotated[str, Field(description="to_call, called, isolating, tested, unreachable")]


class SetFollowUpBody(_Strict):
    updates: list[FollowUpUpdateBody] = Field(min_length=1, max_length=10_000)
    purpose: Text = ""


class RegisterVenueBody(_Strict):
    name: Text
    ward: Annotated[int, Field(ge=1, le=30)]
    category: Text
    capacity: Annotated[int, Field(ge=0, le=10_000_000)] = 0


class ErrorBody(BaseModel):
    """Every error response: gRPC-style code name, the field at fault, the reason."""

    error: str
    field: str | None
    reason: str
    request_id: str
