import io
import logging

import orjson

from api.logs import configure_logging


def test_one_json_object_per_line_with_extra_fields() -> None:
    stream = io.StringIO()
    configure_logging("INFO", "json", stream)
    log = logging.getLogger("qrtrace.test")
    log.info("sealed %d segments", 3, extra={"day": "2021-09-06", "rows": 1200})
    log.debug("not shown")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    record = orjson.loads(lines[0])
    assert record["msg"] == "sealed 3 segments"
    assert record["level"] == "INFO"
    assert record["logger"] == "qrtrace.test"
    assert (record["day"], record["rows"]) == ("2021-09-06", 1200)
    assert record["ts"].endswith("+00:00")


def test_exceptions_stay_on_one_line() -> None:
    stream = io.StringIO()
    configure_logging("INFO", "json", stream)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("qrtrace.test").exception("failed")
    (line,) = stream.getvalue().splitlines()
    assert "ValueError: boom" in orjson.loads(line)["exc"]


def test_text_format_for_humans() -> None:
    stream = io.StringIO()
    configure_logging("WARNING", "text", stream)
    logging.getLogger("qrtrace.test").warning("disk %s", "full")
    assert "WARNING qrtrace.test: disk full" in stream.getvalue()
