"""One error root for a stream; each transport maps `status` to its own codes exactly once."""

from __future__ import annotations

from typing import ClassVar


class StreamError(Exception):
    """A stream cannot go on. `status` is the gRPC status name the front doors answer with."""

    status: ClassVar[str] = "INTERNAL"


class InvalidConfig(StreamError):
    """Malformed configuration, or the first message was not a configuration."""

    status = "INVALID_ARGUMENT"


class InvalidAudio(StreamError):
    """Audio that cannot be decoded in the configured encoding."""

    status = "INVALID_ARGUMENT"


class IdleTimeout(StreamError):
    """No audio and no keep-alive for longer than the idle limit."""

    status = "DEADLINE_EXCEEDED"


class LimitExceeded(StreamError):
    """A frame or the whole stream is over a size or duration limit."""

    status = "OUT_OF_RANGE"


class NodeFull(StreamError):
    """The node has no room for another stream; refused before it was accepted."""

    status = "RESOURCE_EXHAUSTED"


class Overloaded(StreamError):
    """A live stream kept sending faster than real time beyond its budget."""

    status = "RESOURCE_EXHAUSTED"


class InternalFailure(StreamError):
    status = "INTERNAL"
