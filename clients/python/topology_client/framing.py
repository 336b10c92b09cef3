"""Length-prefixed framing (sans-I/O): each frame is a varint byte length, then one encoded ``Frame``.

    +-----------------+------------------------------+----
    | length (varint, | Frame (protobuf, ``length``  | next frame ...
    |  1 to 5 bytes)  |  bytes)                      |
    +-----------------+------------------------------+----

:class:`FrameReader` takes bytes however they were read (one at a time, a frame split across reads,
many frames in one read) and returns whole frames; ``None`` means "not enough bytes yet". The size
limit is checked on the length prefix, before the body is waited for, so a peer announcing a huge
frame costs nothing beyond the bytes it really sent. After any error the reader is unusable.
"""

from __future__ import annotations

from typing import Iterator, Optional

from ._proto import encode_varint
from .errors import DecodeError, FrameTooLargeError, ProtocolError
from .messages import Frame

__all__ = ["DEFAULT_MAX_FRAME_SIZE", "encode_frame", "FrameReader"]

#: Largest frame body the client accepts: 128 MiB, as the C client's. A snapshot costs about 364
#: bytes per node with every field set at realistic lengths and about 174 per edge, so 200,000 nodes
#: (some 70 MiB) fit with about 350,000 edges. The server's default --max-services is 1,000,000:
#: a whole topology that large needs a larger limit, or a query that selects less.
DEFAULT_MAX_FRAME_SIZE = 128 * 1024 * 1024
_MAX_PREFIX_BYTES = 5


def encode_frame(frame: Frame) -> bytes:
    """The bytes that put ``frame`` on the wire: its length prefix, then its encoding."""
    body = frame.encode()
    return encode_varint(len(body)) + body


class FrameReader:
    """Splits a byte stream into ``Frame``s."""

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        if max_frame_size <= 0:
            raise ValueError("max_frame_size must be positive")
        self.max_frame_size = max_frame_size
        self._buffer = bytearray()
        self._start = 0
        self._failed: Optional[ProtocolError] = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as frames."""
        return len(self._buffer) - self._start

    def feed(self, data: bytes) -> None:
        if self._start and self._start >= len(self._buffer) - self._start:
            del self._buffer[:self._start]
            self._start = 0
        self._buffer += data

    def next_frame(self) -> Optional[Frame]:
        """The next complete frame, or ``None`` until more bytes arrive. Raises :class:`ProtocolError`."""
        if self._failed is not None:
            raise self._failed
        try:
            return self._next()
        except ProtocolError as error:
            self._failed = error
            raise

    def frames(self) -> Iterator[Frame]:
        """Every complete frame buffered so far."""
        while True:
            frame = self.next_frame()
            if frame is None:
                return
            yield frame

    def finish(self) -> None:
        """Call at end of stream: raises if it ended inside a frame."""
        if self.buffered:
            raise ProtocolError(f"stream ended inside a frame ({self.buffered} bytes of it received)")

    def _next(self) -> Optional[Frame]:
        buf = self._buffer
        pos = self._start
        end = len(buf)
        length = 0
        shift = 0
        while True:
            if pos >= end:
                return None
            byte = buf[pos]
            pos += 1
            length |= (byte & 0x7F) << shift
            # Checked at every byte, as the Swift and C readers do: an incomplete prefix may already
            # be over the limit, and the verdict must not depend on how the prefix was split.
            if length > self.max_frame_size:
                raise FrameTooLargeError(
                    f"frame of {'at least ' if byte >= 0x80 else ''}{length} bytes is over the limit of "
                    f"{self.max_frame_size} bytes (max_frame_size)")
            if byte < 0x80:
                break
            shift += 7
            if shift >= 7 * _MAX_PREFIX_BYTES:
                raise ProtocolError("malformed length prefix: longer than 5 bytes")
        if end - pos < length:
            return None
        body = bytes(buf[pos:pos + length])
        self._start = pos + length
        if self._start == end:
            buf.clear()
            self._start = 0
        try:
            return Frame.decode(body)
        except DecodeError as error:
            raise DecodeError(error.kind, f"undecodable frame: {error}") from None
