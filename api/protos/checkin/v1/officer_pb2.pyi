from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TraceCaseRequest(_message.Message):
    __slots__ = ("case_id", "person", "sample_date", "onset_date", "isolation_date", "start", "end", "rules", "params", "limit", "offset", "f2", "purpose")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_DATE_FIELD_NUMBER: _ClassVar[int]
    ONSET_DATE_FIELD_NUMBER: _ClassVar[int]
    ISOLATION_DATE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    F2_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    person: str
    sample_date: str
    onset_date: str
    isolation_date: str
    start: str
    end: str
    rules: str
    params: _containers.ScalarMap[str, str]
    limit: int
    offset: int
    f2: bool
    purpose: str
    def __init__(self, case_id: _Optional[str] = ..., person: _Optional[str] = ..., sample_date: _Optional[str] = ..., onset_date: _Optional[str] = ..., isolation_date: _Optional[str] = ..., start: _Optional[str] = ..., end: _Optional[str] = ..., rules: _Optional[str] = ..., params: _Optional[_Mapping[str, str]] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., f2: bool = ..., purpose: _Optional[str] = ...) -> None: ...

class TraceExposureRequest(_message.Message):
    __slots__ = ("venue", "start", "end", "rules", "params", "limit", "offset", "purpose")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    VENUE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    venue: int
    start: str
    end: str
    rules: str
    params: _containers.ScalarMap[str, str]
    limit: int
    offset: int
    purpose: str
    def __init__(self, venue: _Optional[int] = ..., start: _Optional[str] = ..., end: _Optional[str] = ..., rules: _Optional[str] = ..., params: _Optional[_Mapping[str, str]] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., purpose: _Optional[str] = ...) -> None: ...

class Evidence(_message.Message):
    __slots__ = ("venue", "ward", "category", "overlap_start", "overlap_end", "minutes", "score", "contact_checkout", "case_checkout", "rule")
    VENUE_FIELD_NUMBER: _ClassVar[int]
    WARD_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_START_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_END_FIELD_NUMBER: _ClassVar[int]
    MINUTES_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    CONTACT_CHECKOUT_FIELD_NUMBER: _ClassVar[int]
    CASE_CHECKOUT_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    venue: int
    ward: int
    category: str
    overlap_start: str
    overlap_end: str
    minutes: float
    score: float
    contact_checkout: str
    case_checkout: str
    rule: str
    def __init__(self, venue: _Optional[int] = ..., ward: _Optional[int] = ..., category: _Optional[str] = ..., overlap_start: _Optional[str] = ..., overlap_end: _Optional[str] = ..., minutes: _Optional[float] = ..., score: _Optional[float] = ..., contact_checkout: _Optional[str] = ..., case_checkout: _Optional[str] = ..., rule: _Optional[str] = ...) -> None: ...

class Contact(_message.Message):
    __slots__ = ("rank", "person", "home_ward", "tier", "score", "max_day_score", "minutes", "shared_visits", "first_exposure", "last_exposure", "evidence", "follow_up", "already_handled")
    RANK_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    HOME_WARD_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    MAX_DAY_SCORE_FIELD_NUMBER: _ClassVar[int]
    MINUTES_FIELD_NUMBER: _ClassVar[int]
    SHARED_VISITS_FIELD_NUMBER: _ClassVar[int]
    FIRST_EXPOSURE_FIELD_NUMBER: _ClassVar[int]
    LAST_EXPOSURE_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_UP_FIELD_NUMBER: _ClassVar[int]
    ALREADY_HANDLED_FIELD_NUMBER: _ClassVar[int]
    rank: int
    person: str
    home_ward: int
    tier: str
    score: float
    max_day_score: float
    minutes: float
    shared_visits: int
    first_exposure: str
    last_exposure: str
    evidence: _containers.RepeatedCompositeFieldContainer[Evidence]
    follow_up: str
    already_handled: bool
    def __init__(self, rank: _Optional[int] = ..., person: _Optional[str] = ..., home_ward: _Optional[int] = ..., tier: _Optional[str] = ..., score: _Optional[float] = ..., max_day_score: _Optional[float] = ..., minutes: _Optional[float] = ..., shared_visits: _Optional[int] = ..., first_exposure: _Optional[str] = ..., last_exposure: _Optional[str] = ..., evidence: _Optional[_Iterable[_Union[Evidence, _Mapping]]] = ..., follow_up: _Optional[str] = ..., already_handled: bool = ...) -> None: ...

class CaseVisit(_message.Message):
    __slots__ = ("venue", "ward", "t_in", "t_out", "checkout")
    VENUE_FIELD_NUMBER: _ClassVar[int]
    WARD_FIELD_NUMBER: _ClassVar[int]
    T_IN_FIELD_NUMBER: _ClassVar[int]
    T_OUT_FIELD_NUMBER: _ClassVar[int]
    CHECKOUT_FIELD_NUMBER: _ClassVar[int]
    venue: int
    ward: int
    t_in: str
    t_out: str
    checkout: str
    def __init__(self, venue: _Optional[int] = ..., ward: _Optional[int] = ..., t_in: _Optional[str] = ..., t_out: _Optional[str] = ..., checkout: _Optional[str] = ...) -> None: ...

class F2Candidate(_message.Message):
    __slots__ = ("person", "home_ward", "priority", "via", "score", "first_exposure")
    PERSON_FIELD_NUMBER: _ClassVar[int]
    HOME_WARD_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    VIA_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    FIRST_EXPOSURE_FIELD_NUMBER: _ClassVar[int]
    person: str
    home_ward: int
    priority: str
    via: str
    score: float
    first_exposure: str
    def __init__(self, person: _Optional[str] = ..., home_ward: _Optional[int] = ..., priority: _Optional[str] = ..., via: _Optional[str] = ..., score: _Optional[float] = ..., first_exposure: _Optional[str] = ...) -> None: ...

class TraceCounts(_message.Message):
    __slots__ = ("contacts", "high_tier", "shown", "all_wards")
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    HIGH_TIER_FIELD_NUMBER: _ClassVar[int]
    SHOWN_FIELD_NUMBER: _ClassVar[int]
    ALL_WARDS_FIELD_NUMBER: _ClassVar[int]
    contacts: int
    high_tier: int
    shown: int
    all_wards: int
    def __init__(self, contacts: _Optional[int] = ..., high_tier: _Optional[int] = ..., shown: _Optional[int] = ..., all_wards: _Optional[int] = ...) -> None: ...

class TraceResponse(_message.Message):
    __slots__ = ("request_id", "case_id", "kind", "window_from", "window_to", "case_person", "rules_json", "counts", "case_visits", "contacts", "f2_candidates")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FROM_FIELD_NUMBER: _ClassVar[int]
    WINDOW_TO_FIELD_NUMBER: _ClassVar[int]
    CASE_PERSON_FIELD_NUMBER: _ClassVar[int]
    RULES_JSON_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    CASE_VISITS_FIELD_NUMBER: _ClassVar[int]
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    F2_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    case_id: str
    kind: str
    window_from: str
    window_to: str
    case_person: str
    rules_json: str
    counts: TraceCounts
    case_visits: _containers.RepeatedCompositeFieldContainer[CaseVisit]
    contacts: _containers.RepeatedCompositeFieldContainer[Contact]
    f2_candidates: _containers.RepeatedCompositeFieldContainer[F2Candidate]
    def __init__(self, request_id: _Optional[str] = ..., case_id: _Optional[str] = ..., kind: _Optional[str] = ..., window_from: _Optional[str] = ..., window_to: _Optional[str] = ..., case_person: _Optional[str] = ..., rules_json: _Optional[str] = ..., counts: _Optional[_Union[TraceCounts, _Mapping]] = ..., case_visits: _Optional[_Iterable[_Union[CaseVisit, _Mapping]]] = ..., contacts: _Optional[_Iterable[_Union[Contact, _Mapping]]] = ..., f2_candidates: _Optional[_Iterable[_Union[F2Candidate, _Mapping]]] = ...) -> None: ...

class TraceCasesRequest(_message.Message):
    __slots__ = ("case_ids", "purpose")
    CASE_IDS_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    case_ids: _containers.RepeatedScalarFieldContainer[str]
    purpose: str
    def __init__(self, case_ids: _Optional[_Iterable[str]] = ..., purpose: _Optional[str] = ...) -> None: ...

class CaseTraceSummary(_message.Message):
    __slots__ = ("case_id", "contacts", "high_tier")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    HIGH_TIER_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    contacts: int
    high_tier: int
    def __init__(self, case_id: _Optional[str] = ..., contacts: _Optional[int] = ..., high_tier: _Optional[int] = ...) -> None: ...

class TraceCasesResponse(_message.Message):
    __slots__ = ("request_id", "cases", "elapsed_ms")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CASES_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_MS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    cases: _containers.RepeatedCompositeFieldContainer[CaseTraceSummary]
    elapsed_ms: float
    def __init__(self, request_id: _Optional[str] = ..., cases: _Optional[_Iterable[_Union[CaseTraceSummary, _Mapping]]] = ..., elapsed_ms: _Optional[float] = ...) -> None: ...

class ClustersRequest(_message.Message):
    __slots__ = ("case_ids", "hot_spot_cases", "hot_spot_hours", "purpose")
    CASE_IDS_FIELD_NUMBER: _ClassVar[int]
    HOT_SPOT_CASES_FIELD_NUMBER: _ClassVar[int]
    HOT_SPOT_HOURS_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    case_ids: _containers.RepeatedScalarFieldContainer[str]
    hot_spot_cases: int
    hot_spot_hours: int
    purpose: str
    def __init__(self, case_ids: _Optional[_Iterable[str]] = ..., hot_spot_cases: _Optional[int] = ..., hot_spot_hours: _Optional[int] = ..., purpose: _Optional[str] = ...) -> None: ...

class ClustersResponse(_message.Message):
    __slots__ = ("request_id", "document_json")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_JSON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    document_json: str
    def __init__(self, request_id: _Optional[str] = ..., document_json: _Optional[str] = ...) -> None: ...

class ExportTraceRequest(_message.Message):
    __slots__ = ("case_id", "format", "purpose")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    format: str
    purpose: str
    def __init__(self, case_id: _Optional[str] = ..., format: _Optional[str] = ..., purpose: _Optional[str] = ...) -> None: ...

class ExportTraceResponse(_message.Message):
    __slots__ = ("request_id", "filename", "content_type", "content", "rows")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    filename: str
    content_type: str
    content: bytes
    rows: int
    def __init__(self, request_id: _Optional[str] = ..., filename: _Optional[str] = ..., content_type: _Optional[str] = ..., content: _Optional[bytes] = ..., rows: _Optional[int] = ...) -> None: ...

class ListRuleSetsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RuleSetInfo(_message.Message):
    __slots__ = ("name", "version", "summary", "params_json")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    summary: str
    params_json: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., summary: _Optional[str] = ..., params_json: _Optional[str] = ...) -> None: ...

class ListRuleSetsResponse(_message.Message):
    __slots__ = ("default_rule_set", "rule_sets")
    DEFAULT_RULE_SET_FIELD_NUMBER: _ClassVar[int]
    RULE_SETS_FIELD_NUMBER: _ClassVar[int]
    default_rule_set: str
    rule_sets: _containers.RepeatedCompositeFieldContainer[RuleSetInfo]
    def __init__(self, default_rule_set: _Optional[str] = ..., rule_sets: _Optional[_Iterable[_Union[RuleSetInfo, _Mapping]]] = ...) -> None: ...

class RegisterCaseRequest(_message.Message):
    __slots__ = ("person", "sample_date", "onset_date", "ward", "external_id")
    PERSON_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_DATE_FIELD_NUMBER: _ClassVar[int]
    ONSET_DATE_FIELD_NUMBER: _ClassVar[int]
    WARD_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    person: str
    sample_date: str
    onset_date: str
    ward: int
    external_id: str
    def __init__(self, person: _Optional[str] = ..., sample_date: _Optional[str] = ..., onset_date: _Optional[str] = ..., ward: _Optional[int] = ..., external_id: _Optional[str] = ...) -> None: ...

class CaseInfo(_message.Message):
    __slots__ = ("case_id", "ward", "sample_date", "onset_date", "status", "contacts", "high_tier", "registered_at", "registered_by", "person", "external_id")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    WARD_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_DATE_FIELD_NUMBER: _ClassVar[int]
    ONSET_DATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    HIGH_TIER_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_BY_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    ward: int
    sample_date: str
    onset_date: str
    status: str
    contacts: int
    high_tier: int
    registered_at: str
    registered_by: str
    person: str
    external_id: str
    def __init__(self, case_id: _Optional[str] = ..., ward: _Optional[int] = ..., sample_date: _Optional[str] = ..., onset_date: _Optional[str] = ..., status: _Optional[str] = ..., contacts: _Optional[int] = ..., high_tier: _Optional[int] = ..., registered_at: _Optional[str] = ..., registered_by: _Optional[str] = ..., person: _Optional[str] = ..., external_id: _Optional[str] = ...) -> None: ...

class ListCasesRequest(_message.Message):
    __slots__ = ("ward", "limit", "offset")
    WARD_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    ward: int
    limit: int
    offset: int
    def __init__(self, ward: _Optional[int] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class ListCasesResponse(_message.Message):
    __slots__ = ("cases", "total")
    CASES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    cases: _containers.RepeatedCompositeFieldContainer[CaseInfo]
    total: int
    def __init__(self, cases: _Optional[_Iterable[_Union[CaseInfo, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class PositiveResult(_message.Message):
    __slots__ = ("external_id", "person", "sample_date", "onset_date", "ward")
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_DATE_FIELD_NUMBER: _ClassVar[int]
    ONSET_DATE_FIELD_NUMBER: _ClassVar[int]
    WARD_FIELD_NUMBER: _ClassVar[int]
    external_id: str
    person: str
    sample_date: str
    onset_date: str
    ward: int
    def __init__(self, external_id: _Optional[str] = ..., person: _Optional[str] = ..., sample_date: _Optional[str] = ..., onset_date: _Optional[str] = ..., ward: _Optional[int] = ...) -> None: ...

class SubmitPositiveResultsRequest(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[PositiveResult]
    def __init__(self, results: _Optional[_Iterable[_Union[PositiveResult, _Mapping]]] = ...) -> None: ...

class SubmitPositiveResultsResponse(_message.Message):
    __slots__ = ("cases", "registered", "already_known")
    CASES_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_FIELD_NUMBER: _ClassVar[int]
    ALREADY_KNOWN_FIELD_NUMBER: _ClassVar[int]
    cases: _containers.RepeatedCompositeFieldContainer[CaseInfo]
    registered: int
    already_known: int
    def __init__(self, cases: _Optional[_Iterable[_Union[CaseInfo, _Mapping]]] = ..., registered: _Optional[int] = ..., already_known: _Optional[int] = ...) -> None: ...

class ListContactsRequest(_message.Message):
    __slots__ = ("ward", "status", "limit", "offset", "purpose")
    WARD_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    ward: int
    status: str
    limit: int
    offset: int
    purpose: str
    def __init__(self, ward: _Optional[int] = ..., status: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., purpose: _Optional[str] = ...) -> None: ...

class WorklistRow(_message.Message):
    __slots__ = ("person", "name", "phone", "home_ward", "tier", "score", "reason", "case_ids", "status", "reached_again", "status_updated_at")
    PERSON_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    HOME_WARD_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CASE_IDS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REACHED_AGAIN_FIELD_NUMBER: _ClassVar[int]
    STATUS_UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    person: str
    name: str
    phone: str
    home_ward: int
    tier: str
    score: float
    reason: str
    case_ids: _containers.RepeatedScalarFieldContainer[str]
    status: str
    reached_again: bool
    status_updated_at: str
    def __init__(self, person: _Optional[str] = ..., name: _Optional[str] = ..., phone: _Optional[str] = ..., home_ward: _Optional[int] = ..., tier: _Optional[str] = ..., score: _Optional[float] = ..., reason: _Optional[str] = ..., case_ids: _Optional[_Iterable[str]] = ..., status: _Optional[str] = ..., reached_again: bool = ..., status_updated_at: _Optional[str] = ...) -> None: ...

class ListContactsResponse(_message.Message):
    __slots__ = ("request_id", "rows", "total")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    rows: _containers.RepeatedCompositeFieldContainer[WorklistRow]
    total: int
    def __init__(self, request_id: _Optional[str] = ..., rows: _Optional[_Iterable[_Union[WorklistRow, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class FollowUpUpdate(_message.Message):
    __slots__ = ("person", "status")
    PERSON_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    person: str
    status: str
    def __init__(self, person: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class SetFollowUpRequest(_message.Message):
    __slots__ = ("updates", "purpose")
    UPDATES_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    updates: _containers.RepeatedCompositeFieldContainer[FollowUpUpdate]
    purpose: str
    def __init__(self, updates: _Optional[_Iterable[_Union[FollowUpUpdate, _Mapping]]] = ..., purpose: _Optional[str] = ...) -> None: ...

class SetFollowUpResponse(_message.Message):
    __slots__ = ("request_id", "updated")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    updated: int
    def __init__(self, request_id: _Optional[str] = ..., updated: _Optional[int] = ...) -> None: ...

class ScanTotalsRequest(_message.Message):
    __slots__ = ("from_date", "to_date", "ward", "category")
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    WARD_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    from_date: str
    to_date: str
    ward: int
    category: str
    def __init__(self, from_date: _Optional[str] = ..., to_date: _Optional[str] = ..., ward: _Optional[int] = ..., category: _Optional[str] = ...) -> None: ...

class ScanTotalsRow(_message.Message):
    __slots__ = ("date", "ward", "category", "check_ins", "check_outs")
    DATE_FIELD_NUMBER: _ClassVar[int]
    WARD_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CHECK_INS_FIELD_NUMBER: _ClassVar[int]
    CHECK_OUTS_FIELD_NUMBER: _ClassVar[int]
    date: str
    ward: int
    category: str
    check_ins: int
    check_outs: int
    def __init__(self, date: _Optional[str] = ..., ward: _Optional[int] = ..., category: _Optional[str] = ..., check_ins: _Optional[int] = ..., check_outs: _Optional[int] = ...) -> None: ...

class ScanTotalsResponse(_message.Message):
    __slots__ = ("rows", "check_ins", "check_outs")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    CHECK_INS_FIELD_NUMBER: _ClassVar[int]
    CHECK_OUTS_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[ScanTotalsRow]
    check_ins: int
    check_outs: int
    def __init__(self, rows: _Optional[_Iterable[_Union[ScanTotalsRow, _Mapping]]] = ..., check_ins: _Optional[int] = ..., check_outs: _Optional[int] = ...) -> None: ...

class VenueTotalsRequest(_message.Message):
    __slots__ = ("ward",)
    WARD_FIELD_NUMBER: _ClassVar[int]
    ward: int
    def __init__(self, ward: _Optional[int] = ...) -> None: ...

class VenueTotalsRow(_message.Message):
    __slots__ = ("ward", "category", "registered", "active", "registered_today")
    WARD_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_TODAY_FIELD_NUMBER: _ClassVar[int]
    ward: int
    category: str
    registered: int
    active: int
    registered_today: int
    def __init__(self, ward: _Optional[int] = ..., category: _Optional[str] = ..., registered: _Optional[int] = ..., active: _Optional[int] = ..., registered_today: _Optional[int] = ...) -> None: ...

class VenueTotalsResponse(_message.Message):
    __slots__ = ("rows", "registered", "active", "registered_today")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_TODAY_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[VenueTotalsRow]
    registered: int
    active: int
    registered_today: int
    def __init__(self, rows: _Optional[_Iterable[_Union[VenueTotalsRow, _Mapping]]] = ..., registered: _Optional[int] = ..., active: _Optional[int] = ..., registered_today: _Optional[int] = ...) -> None: ...

class SummaryRequest(_message.Message):
    __slots__ = ("date",)
    DATE_FIELD_NUMBER: _ClassVar[int]
    date: str
    def __init__(self, date: _Optional[str] = ...) -> None: ...

class SummaryResponse(_message.Message):
    __slots__ = ("date", "venues", "venues_today", "scans", "scans_today", "text")
    DATE_FIELD_NUMBER: _ClassVar[int]
    VENUES_FIELD_NUMBER: _ClassVar[int]
    VENUES_TODAY_FIELD_NUMBER: _ClassVar[int]
    SCANS_FIELD_NUMBER: _ClassVar[int]
    SCANS_TODAY_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    date: str
    venues: int
    venues_today: int
    scans: int
    scans_today: int
    text: str
    def __init__(self, date: _Optional[str] = ..., venues: _Optional[int] = ..., venues_today: _Optional[int] = ..., scans: _Optional[int] = ..., scans_today: _Optional[int] = ..., text: _Optional[str] = ...) -> None: ...

class FollowUpReportRequest(_message.Message):
    __slots__ = ("ward",)
    WARD_FIELD_NUMBER: _ClassVar[int]
    ward: int
    def __init__(self, ward: _Optional[int] = ...) -> None: ...

class FollowUpWard(_message.Message):
    __slots__ = ("ward", "ward_name", "f0", "f1", "f1_updated", "updated_share")
    WARD_FIELD_NUMBER: _ClassVar[int]
    WARD_NAME_FIELD_NUMBER: _ClassVar[int]
    F0_FIELD_NUMBER: _ClassVar[int]
    F1_FIELD_NUMBER: _ClassVar[int]
    F1_UPDATED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_SHARE_FIELD_NUMBER: _ClassVar[int]
    ward: int
    ward_name: str
    f0: int
    f1: int
    f1_updated: int
    updated_share: float
    def __init__(self, ward: _Optional[int] = ..., ward_name: _Optional[str] = ..., f0: _Optional[int] = ..., f1: _Optional[int] = ..., f1_updated: _Optional[int] = ..., updated_share: _Optional[float] = ...) -> None: ...

class FollowUpReportResponse(_message.Message):
    __slots__ = ("wards",)
    WARDS_FIELD_NUMBER: _ClassVar[int]
    wards: _containers.RepeatedCompositeFieldContainer[FollowUpWard]
    def __init__(self, wards: _Optional[_Iterable[_Union[FollowUpWard, _Mapping]]] = ...) -> None: ...

class RegisterVenueRequest(_message.Message):
    __slots__ = ("name", "ward", "category", "capacity")
    NAME_FIELD_NUMBER: _ClassVar[int]
    WARD_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    name: str
    ward: int
    category: str
    capacity: int
    def __init__(self, name: _Optional[str] = ..., ward: _Optional[int] = ..., category: _Optional[str] = ..., capacity: _Optional[int] = ...) -> None: ...

class DeactivateVenueRequest(_message.Message):
    __slots__ = ("venue_id",)
    VENUE_ID_FIELD_NUMBER: _ClassVar[int]
    venue_id: int
    def __init__(self, venue_id: _Optional[int] = ...) -> None: ...

class IssueQrRequest(_message.Message):
    __slots__ = ("venue_id",)
    VENUE_ID_FIELD_NUMBER: _ClassVar[int]
    venue_id: int
    def __init__(self, venue_id: _Optional[int] = ...) -> None: ...

class VenueInfo(_message.Message):
    __slots__ = ("venue_id", "name", "ward", "category", "active", "qr_payload")
    VENUE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    WARD_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    QR_PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    venue_id: int
    name: str
    ward: int
    category: str
    active: bool
    qr_payload: str
    def __init__(self, venue_id: _Optional[int] = ..., name: _Optional[str] = ..., ward: _Optional[int] = ..., category: _Optional[str] = ..., active: bool = ..., qr_payload: _Optional[str] = ...) -> None: ...
