"""The exceptions of the package: one base class, and a subclass per kind of failure.

    TopologyError
     +-- ProtocolError            the server sent bytes that are not the protocol
     |    +-- DecodeError         ... a message that cannot be decoded (``kind`` says why)
     |    +-- FrameTooLargeError  ... a frame announced over ``max_frame_size``
     +-- TopologyConnectionError  no connection, or it was lost
     |    +-- TopologyTimeoutError  ... or an answer did not come in time (also a ``TimeoutError``)
     +-- ServerStatusError        the server answered with a non-OK Status (``code``, ``status_message``)
          +-- AuthenticationError ... UNAUTHENTICATED (16): no token, or not the server's

As with ``smtplib``, a connection that raised any of these (except ``ServerStatusError``, which is
an answer to one call) is closed and is never reused. ``AuthenticationError`` closes it too.
"""

from __future__ import annotations

import enum

__all__ = [
    "TopologyError",
    "ProtocolError",
    "DecodeError",
    "FrameTooLargeError",
    "TopologyConnectionError",
    "TopologyTimeoutError",
    "ServerStatusError",
    "AuthenticationError",
    "StatusCode",
    "shorten",
]


class StatusCode(enum.IntEnum):
    """gRPC status code numbers, as carried by ``Status.code``. Unknown codes stay plain ints."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


#: The longest part of a caller's string (a name, a target, an address) an error message repeats.
ECHO_LIMIT = 64


def shorten(text: str) -> str:
    """``text`` quoted for an error message, cut to :data:`ECHO_LIMIT` characters with its length
    said (``'aaaa…'…(5000 chars)``): a 5,000-character name must not fill a log line."""
    if len(text) <= ECHO_LIMIT:
        return repr(text)
    return f"{text[:ECHO_LIMIT]!r}…({len(text)} chars)"


def status_name(code: int) -> str:
    """``NOT_FOUND`` for 5; the number itself for a code this package does not know."""
    try:
        return StatusCode(code).name
    except ValueError:
        return str(code)


class TopologyError(Exception):
    """Base class of every error this package raises."""


class ProtocolError(TopologyError):
    """The peer broke the protocol: undecodable bytes, an oversized frame, an unexpected message."""


class DecodeError(ProtocolError):
    """Bytes that are not a valid protobuf encoding of the expected message.

    ``kind`` is one of ``truncated``, ``malformed_varint``, ``invalid_wire_type``, ``group``,
    ``invalid_utf8``, ``invalid_field_number`` (the names the golden vectors use).
    """

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind.replace('_', ' ')}: {detail}")
        self.kind = kind


class FrameTooLargeError(ProtocolError):
    """The server announced a frame over the client's ``max_frame_size``. The connection is closed
    (as after any framing error, nothing more is read from it); asking again would fetch the same
    frame, so a :class:`~topology_client.Watch` ends with it instead of reconnecting."""


class TopologyConnectionError(TopologyError):
    """Could not connect to any server address, or the connection was lost."""


class TopologyTimeoutError(TopologyConnectionError, TimeoutError):
    """An operation did not complete within its timeout."""


class ServerStatusError(TopologyError):
    """The server answered a call with a non-OK ``Status``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"server status {status_name(code)} ({code}): {message}")
        self.code = code
        self.status_message = message

    @property
    def code_name(self) -> str:
        return status_name(self.code)


class AuthenticationError(ServerStatusError):
    """The server refused the connection (code 16, UNAUTHENTICATED): it runs with
    ``--auth-token-file`` and the client sent no token (pass ``token=``) or another one. The
    server closed the connection; retrying with the same token is refused the same way."""

    def __init__(self, message: str) -> None:
        super().__init__(StatusCode.UNAUTHENTICATED, message)
