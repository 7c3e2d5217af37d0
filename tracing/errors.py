"""Transport-free errors of the tracing tier.

The edges (CLI, gRPC and HTTP servicers) map these to exit codes and status codes in one
table each; nothing here imports a transport.
"""

from __future__ import annotations

from storage.errors import QrtraceError


class TracingError(QrtraceError):
    """Base of errors raised by the tracing tier."""


class UnknownRuleSetError(TracingError):
    """A rule-set name that is not one of the built-in rule sets."""


class RuleParameterError(TracingError):
    """A `--param name=value` override names no parameter or has an invalid value."""


class TraceWindowError(TracingError):
    """A trace window is empty or inverted, or neither dates nor times were given."""


class UnknownPersonError(TracingError):
    """The person to trace has no visits in the searched window."""


class ClusterUnavailableError(TracingError):
    """The Dask scheduler named by `dask_scheduler` / `--cluster` could not be reached."""
