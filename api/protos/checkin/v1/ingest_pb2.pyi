from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Verdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERDICT_UNSPECIFIED: _ClassVar[Verdict]
    VERDICT_ACCEPTED: _ClassVar[Verdict]
    VERDICT_DUPLICATE: _ClassVar[Verdict]
    VERDICT_CONFLICT: _ClassVar[Verdict]
    VERDICT_INVALID_VENUE_SIGNATURE: _ClassVar[Verdict]
    VERDICT_UNKNOWN_VENUE: _ClassVar[Verdict]
    VERDICT_VENUE_CLOSED: _ClassVar[Verdict]
    VERDICT_TIME_IN_FUTURE: _ClassVar[Verdict]
    VERDICT_TIME_TOO_OLD: _ClassVar[Verdict]
    VERDICT_MALFORMED: _ClassVar[Verdict]

class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DIRECTION_IN: _ClassVar[Direction]
    DIRECTION_OUT: _ClassVar[Direction]
VERDICT_UNSPECIFIED: Verdict
VERDICT_ACCEPTED: Verdict
VERDICT_DUPLICATE: Verdict
VERDICT_CONFLICT: Verdict
VERDICT_INVALID_VENUE_SIGNATURE: Verdict
VERDICT_UNKNOWN_VENUE: Verdict
VERDICT_VENUE_CLOSED: Verdict
VERDICT_TIME_IN_FUTURE: Verdict
VERDICT_TIME_TOO_OLD: Verdict
VERDICT_MALFORMED: Verdict
DIRECTION_IN: Direction
DIRECTION_OUT: Direction

class ScanBatch(_message.Message):
    __slots__ = ("batch_id", "scan_ids", "times_ms", "directions", "person_numbers", "person_texts", "venue_codes", "venue_index")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    SCAN_IDS_FIELD_NUMBER: _ClassVar[int]
    TIMES_MS_FIELD_NUMBER: _ClassVar[int]
    DIRECTIONS_FIELD_NUMBER: _ClassVar[int]
    PERSON_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    PERSON_TEXTS_FIELD_NUMBER: _ClassVar[int]
    VENUE_CODES_FIELD_NUMBER: _ClassVar[int]
    VENUE_INDEX_FIELD_NUMBER: _ClassVar[int]
    batch_id: int
    scan_ids: bytes
    times_ms: bytes
    directions: bytes
    person_numbers: bytes
    person_texts: _containers.RepeatedScalarFieldContainer[str]
    venue_codes: _containers.RepeatedScalarFieldContainer[str]
    venue_index: bytes
    def __init__(self, batch_id: _Optional[int] = ..., scan_ids: _Optional[bytes] = ..., times_ms: _Optional[bytes] = ..., directions: _Optional[bytes] = ..., person_numbers: _Optional[bytes] = ..., person_texts: _Optional[_Iterable[str]] = ..., venue_codes: _Optional[_Iterable[str]] = ..., venue_index: _Optional[bytes] = ...) -> None: ...

class ScanRejection(_message.Message):
    __slots__ = ("index", "verdict", "field", "reason")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    index: int
    verdict: Verdict
    field: str
    reason: str
    def __init__(self, index: _Optional[int] = ..., verdict: _Optional[_Union[Verdict, str]] = ..., field: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class BatchError(_message.Message):
    __slots__ = ("field", "reason")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    field: str
    reason: str
    def __init__(self, field: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class BatchAck(_message.Message):
    __slots__ = ("batch_id", "verdicts", "accepted", "duplicate", "rejected", "rejections", "error")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    VERDICTS_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    batch_id: int
    verdicts: bytes
    accepted: int
    duplicate: int
    rejected: int
    rejections: _containers.RepeatedCompositeFieldContainer[ScanRejection]
    error: BatchError
    def __init__(self, batch_id: _Optional[int] = ..., verdicts: _Optional[bytes] = ..., accepted: _Optional[int] = ..., duplicate: _Optional[int] = ..., rejected: _Optional[int] = ..., rejections: _Optional[_Iterable[_Union[ScanRejection, _Mapping]]] = ..., error: _Optional[_Union[BatchError, _Mapping]] = ...) -> None: ...

class Scan(_message.Message):
    __slots__ = ("scan_id", "person_ref", "venue_code", "time_ms", "direction", "contact_phone")
    SCAN_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_REF_FIELD_NUMBER: _ClassVar[int]
    VENUE_CODE_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    CONTACT_PHONE_FIELD_NUMBER: _ClassVar[int]
    scan_id: bytes
    person_ref: str
    venue_code: str
    time_ms: int
    direction: Direction
    contact_phone: str
    def __init__(self, scan_id: _Optional[bytes] = ..., person_ref: _Optional[str] = ..., venue_code: _Optional[str] = ..., time_ms: _Optional[int] = ..., direction: _Optional[_Union[Direction, str]] = ..., contact_phone: _Optional[str] = ...) -> None: ...

class SubmitScansRequest(_message.Message):
    __slots__ = ("scans",)
    SCANS_FIELD_NUMBER: _ClassVar[int]
    scans: _containers.RepeatedCompositeFieldContainer[Scan]
    def __init__(self, scans: _Optional[_Iterable[_Union[Scan, _Mapping]]] = ...) -> None: ...

class SubmitScansResponse(_message.Message):
    __slots__ = ("verdicts", "accepted", "duplicate", "rejected", "rejections", "error")
    VERDICTS_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    verdicts: _containers.RepeatedScalarFieldContainer[Verdict]
    accepted: int
    duplicate: int
    rejected: int
    rejections: _containers.RepeatedCompositeFieldContainer[ScanRejection]
    error: BatchError
    def __init__(self, verdicts: _Optional[_Iterable[_Union[Verdict, str]]] = ..., accepted: _Optional[int] = ..., duplicate: _Optional[int] = ..., rejected: _Optional[int] = ..., rejections: _Optional[_Iterable[_Union[ScanRejection, _Mapping]]] = ..., error: _Optional[_Union[BatchError, _Mapping]] = ...) -> None: ...
