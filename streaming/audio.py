"""Turn a stream's audio frames into 16 kHz mono float32, whatever the client sent.

PCM is decoded with numpy and resampled with soxr (a real polyphase resampler, streaming so
chunk edges leave no clicks). Opus in Ogg or WebM is demuxed and decoded by PyAV (FFmpeg) in
one thread per stream, fed through a bounded pipe, because a container cannot be parsed one
network frame at a time.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from typing import Literal, Protocol

import av
import numpy as np
import soxr
from numpy.typing import NDArray

from streaming.errors import InvalidAudio, InvalidConfig

SAMPLE_RATE = 16_000
MIN_INPUT_RATE = 8_000
MAX_INPUT_RATE = 48_000
MAX_CHANNELS = 8
#: FLOAT32 audio is full scale at ±1.0. A sample past this (24 dB over full scale) is integer
#: PCM sent as float: JFK's speech scaled by 16 (peak 12.5) is heard word for word, by 64 it
#: is misheard, and at int16 scale (×32768) Whisper hears nothing and the VAD misses most of
#: it. Refused with a clear error rather than silently transcribed as nothing.
MAX_FLOAT32_PEAK = 16.0

Pcm = NDArray[np.float32]
Encoding = Literal["linear16", "float32", "ogg_opus", "webm_opus"]


def empty_pcm() -> Pcm:
    return np.zeros(0, dtype=np.float32)


class AudioDecoder(Protocol):
    """Decodes one stream's frames, in order, to 16 kHz mono float32."""

    def decode(self, frame: bytes) -> Pcm:
        """Decode a frame; may return no samples yet. Raises InvalidAudio."""

    def flush(self) -> Pcm:
        """End of input: return what is still buffered. May block briefly."""

    def close(self) -> None: ...


class PcmDecoder:
    """LINEAR16 or FLOAT32 interleaved PCM at any rate from 8 to 48 kHz."""

    def __init__(self, encoding: Literal["linear16", "float32"], rate: int, channels: int) -> None:
        self._dtype = np.dtype("<i2") if encoding == "linear16" else np.dtype("<f4")
        self._frame_bytes = self._dtype.itemsize * channels
        self._channels = channels
        self._encoding = encoding
        self._resampler = (
            soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
            if rate != SAMPLE_RATE
            else None
        )

    def decode(self, frame: bytes) -> Pcm:
        if len(frame) % self._frame_bytes:
            raise InvalidAudio(
                f"{self._encoding.upper()} frame of {len(frame)} bytes is not a whole number of "
                f"{self._frame_bytes}-byte samples ({self._channels} channel(s))"
            )
        samples = np.frombuffer(frame, dtype=self._dtype)
        if self._encoding == "linear16":
            pcm = samples.astype(np.float32) / 32768.0
        else:
            pcm = samples.astype(np.float32)
            peak = float(np.abs(pcm).max(initial=0.0))  # NaN and inf carry through max
            if not np.isfinite(peak):
                raise InvalidAudio("FLOAT32 audio contains NaN or infinite samples")
            if peak > MAX_FLOAT32_PEAK:
                raise InvalidAudio(
                    f"FLOAT32 samples are full scale at ±1.0, but this frame peaks at {peak:g}: "
                    "integer samples sent as float? Send them as LINEAR16, or divide by 32768"
                )
        if self._channels > 1:
            pcm = pcm.reshape(-1, self._channels).mean(axis=1, dtype=np.float32)
        if self._resampler is not None:
            pcm = self._resampler.resample_chunk(pcm, last=False)
        return np.ascontiguousarray(pcm, dtype=np.float32)

    def flush(self) -> Pcm:
        if self._resampler is None:
            return empty_pcm()
        return np.asarray(self._resampler.resample_chunk(empty_pcm(), last=True), np.float32)

    def close(self) -> None:
        return None


class _BytePipe:
    """A blocking, bounded file-like object PyAV reads the container from."""

    def __init__(self, max_frames: int = 256) -> None:
        self._frames: queue.Queue[bytes | None] = queue.Queue(maxsize=max_frames)
        self._pending = b""
        self._eof = False

    def put(self, frame: bytes | None, timeout_s: float) -> None:
        self._frames.put(frame, timeout=timeout_s)

    def read(self, size: int = -1) -> bytes:
        while not self._pending and not self._eof:
            frame = self._frames.get()
            if frame is None:
                self._eof = True
            else:
                self._pending = frame
        want = len(self._pending) if size < 0 else size
        out, self._pending = self._pending[:want], self._pending[want:]
        return out


class ContainerOpusDecoder:
    """Opus in Ogg or WebM, decoded by PyAV in a thread of its own."""

    def __init__(self, container: Literal["ogg", "webm"], put_timeout_s: float = 5.0) -> None:
        self._format = "ogg" if container == "ogg" else "matroska"
        self._pipe = _BytePipe()
        self._out: queue.Queue[Pcm] = queue.Queue()
        self._error: str | None = None
        self._put_timeout_s = put_timeout_s
        self._thread = threading.Thread(target=self._run, name="opus-decoder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with av.open(self._pipe, mode="r", format=self._format) as container:
                if not container.streams.audio:
                    raise InvalidAudio("the container holds no audio stream")
                resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
                for frame in container.decode(audio=0):
                    for out in resampler.resample(frame):
                        self._out.put(out.to_ndarray().reshape(-1).astype(np.float32))
                for out in resampler.resample(None):
                    self._out.put(out.to_ndarray().reshape(-1).astype(np.float32))
        except (av.FFmpegError, InvalidAudio, ValueError) as e:
            self._error = f"cannot decode {self._format} audio: {e}"
            # Keep draining so a client writing more does not block on a dead decoder.
            while self._pipe.read(65536):
                pass

    def _take(self) -> Pcm:
        parts: list[Pcm] = []
        while True:
            try:
                parts.append(self._out.get_nowait())
            except queue.Empty:
                break
        return np.concatenate(parts) if parts else empty_pcm()

    def decode(self, frame: bytes) -> Pcm:
        if self._error is not None:
            raise InvalidAudio(self._error)
        try:
            self._pipe.put(frame, self._put_timeout_s)
        except queue.Full:
            raise InvalidAudio("the audio decoder stopped consuming input") from None
        return self._take()

    def flush(self) -> Pcm:
        if self._error is None:
            self._pipe.put(None, self._put_timeout_s)
            self._thread.join(timeout=self._put_timeout_s)
        if self._error is not None:
            raise InvalidAudio(self._error)
        return self._take()

    def close(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(queue.Full):
                self._pipe.put(None, 0.1)


def make_decoder(encoding: Encoding, sample_rate_hz: int, channels: int) -> AudioDecoder:
    """A decoder for one stream. Raises InvalidConfig for unsupported formats."""
    if encoding == "ogg_opus":
        return ContainerOpusDecoder("ogg")
    if encoding == "webm_opus":
        return ContainerOpusDecoder("webm")
    if not MIN_INPUT_RATE <= sample_rate_hz <= MAX_INPUT_RATE:
        raise InvalidConfig(
            f"sample rate {sample_rate_hz} Hz is outside {MIN_INPUT_RATE}..{MAX_INPUT_RATE} Hz"
        )
    if not 1 <= channels <= MAX_CHANNELS:
        raise InvalidConfig(f"channel count {channels} is outside 1..{MAX_CHANNELS}")
    return PcmDecoder(encoding, sample_rate_hz, channels)
