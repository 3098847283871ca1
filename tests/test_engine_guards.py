"""The engine's guards, seen from outside: through a real node, over real sockets.

* Silence and noise never become captions (Whisper's "Thank you." on silence stays out).
* A long monologue, live or as a recording, is cut into segments by the max_segment_s
  trimming path without losing or repeating words at the cuts, and CloseStream flushes its
  tail. Where the speaker pauses briefly, a live cut falls in a pause, not inside a word.
* Opus in Ogg and WebM, and PCM at 8 kHz or 44.1 kHz stereo (LINEAR16 and FLOAT32), are
  decoded and resampled well enough to transcribe.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import subprocess
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import av
import jiwer
import numpy as np
import pytest
import pytest_asyncio
import soxr
from conftest import RunningNode
from stenograph.client import (
    GrpcTranscriptionClient,
    TranscriptionError,
    TranscriptionStream,
    WebSocketTranscriptionClient,
    streaming_config,
)
from stenograph.v1 import transcription_pb2 as pb
from support_audio import espeak_wav, normalise, wer

from server.file_streamer import decode_file

Transport = Literal["grpc", "ws"]
RATE = 16_000
MAX_WER = 0.15
MAX_SEGMENT_S = 12.0  # the node's default max_segment_s

#: About a minute of continuous speech: no pause in it reaches the 2 s endpointing used
#: below, so only the max_segment_s trimming path can cut it into segments. Every 4-word
#: sequence in it is unique.
MONOLOGUE = (
    "Good morning everyone and thank you for joining the weekly planning meeting. "
    "Today we will review the progress of the mobile application and decide what to ship "
    "next. The design team finished the new login screen last week and the feedback from "
    "users was very positive. However the search feature is still too slow on older phones "
    "and we need to fix that before the release. Our engineers believe the problem comes from "
    "loading every picture at full size when the page opens. They want to resize the pictures "
    "on the server and send smaller copies to the phone instead. This change should make the "
    "search page open in less than one second on most devices. The marketing group would like "
    "to announce the release at the end of next month. Before that happens we must finish "
    "testing on both small and large screens. Please write down any problem you find in the "
    "shared document so that nothing gets lost. We will meet again on Thursday afternoon to "
    "check the results and agree on the final plan. Thank you all for your hard work and have "
    "a wonderful rest of the day."
)


def config(**overrides: Any) -> pb.StreamingConfig:
    kwargs: dict[str, Any] = {"meeting_id": "m-guards", "participant_id": "p-1"}
    kwargs.update(overrides)
    return streaming_config(**kwargs)


@dataclass
class Transcript:
    responses: list[pb.StreamingRecognizeResponse] = field(default_factory=list)

    def of(self, kind: str) -> list[pb.StreamingRecognizeResponse]:
        return [r for r in self.responses if r.WhichOneof("response") == kind]

    @property
    def results(self) -> list[pb.SpeechRecognitionResult]:
        return [r.result for r in self.of("result")]

    @property
    def finals(self) -> list[pb.SpeechRecognitionResult]:
        return [r for r in self.results if r.is_final]

    @property
    def text(self) -> str:
        return " ".join(r.text for r in self.finals)

    @property
    def summary(self) -> pb.StreamSummary:
        (summary,) = self.of("summary")
        return summary.summary


@contextlib.asynccontextmanager
async def open_stream(
    node: RunningNode, transport: Transport, cfg: pb.StreamingConfig
) -> AsyncIterator[TranscriptionStream]:
    client: GrpcTranscriptionClient | WebSocketTranscriptionClient
    if transport == "grpc":
        client = GrpcTranscriptionClient(node.grpc_target)
    else:
        client = WebSocketTranscriptionClient(node.ws_url)
    async with client, await client.stream(cfg) as stream:
        yield stream


async def transcribe(
    node: RunningNode,
    transport: Transport,
    cfg: pb.StreamingConfig,
    frames: list[bytes],
    *,
    frame_s: float = 0.0,
    lead_s: float = 2.0,
    timeout_s: float = 240.0,
) -> Transcript:
    """Stream `frames`, then CloseStream; read every response up to the summary.

    With `frame_s` > 0 the frames are paced like a microphone (each is due `frame_s` after the
    previous one, sent up to `lead_s` early); otherwise they go as fast as the node accepts.
    """
    transcript = Transcript()
    loop = asyncio.get_running_loop()

    async def send(stream: TranscriptionStream) -> None:
        started = loop.time()
        for i, frame in enumerate(frames):
            due = started + i * frame_s - lead_s
            if frame_s and due > loop.time():
                await asyncio.sleep(due - loop.time())  # the microphone's clock
            await stream.send_audio(frame)
        await stream.close_stream()

    async def read(stream: TranscriptionStream) -> None:
        async for response in stream:
            transcript.responses.append(response)

    async with asyncio.timeout(timeout_s), open_stream(node, transport, cfg) as stream:
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(read(stream))
                tg.create_task(send(stream))
        except* TranscriptionError as group:
            raise AssertionError(f"stream failed: {group.exceptions[0]}") from None
    assert transcript.of("summary"), "the stream did not end with its summary"
    return transcript


def frames_of(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


# -- silence and noise ------------------------------------------------------------------------


def sox_signal(tmp_path: Path, name: str, effect: list[str], seconds: float = 10.0) -> bytes:
    out = tmp_path / f"{name}.wav"
    subprocess.run(
        [
            "sox",
            "-n",
            "-r",
            "16000",
            "-c",
            "1",
            "-b",
            "16",
            str(out),
            "synth",
            str(seconds),
            *effect,
        ],
        check=True,
    )
    return decode_file(out)


@pytest.mark.parametrize(
    ("name", "effect"),
    [
        ("digital-silence", []),
        ("white-noise", ["whitenoise", "vol", "0.3"]),
        ("pink-noise", ["pinknoise", "vol", "0.3"]),
    ],
    ids=["digital-silence", "white-noise", "pink-noise"],
)
async def test_ten_seconds_without_speech_produce_no_text(
    node: RunningNode, tmp_path: Path, name: str, effect: list[str]
) -> None:
    audio = sox_signal(tmp_path, name, effect) if effect else bytes(2 * 10 * RATE)
    assert len(audio) == 2 * 10 * RATE
    frames = frames_of(audio, 3200)  # 100 ms each, paced like a live microphone
    both = await asyncio.gather(
        *(transcribe(node, t, config(), frames, frame_s=0.1) for t in ("grpc", "ws"))
    )
    for transport, transcript in zip(("grpc", "ws"), both, strict=True):
        texts = [r.text for r in transcript.results]
        onsets = len(transcript.of("speech_started"))
        print(f"{name} over {transport}: {onsets} VAD onsets, {len(texts)} results {texts}")
        assert all(text == "" for text in texts), f"{name} became captions: {texts}"
        assert transcript.summary.audio_received.ToTimedelta().total_seconds() == 10.0
        assert transcript.summary.audio_processed.ToTimedelta().total_seconds() == 10.0
        if not effect:  # digital silence never even looks like speech
            assert not transcript.results
            assert not transcript.of("speech_started")


# -- a long monologue -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def monologue_audio(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    wav = espeak_wav(MONOLOGUE, tmp_path_factory.mktemp("monologue") / "monologue.wav")
    audio = decode_file(wav)
    seconds = len(audio) / (2 * RATE)
    assert 60.0 <= seconds <= 80.0, seconds
    return audio


@pytest_asyncio.fixture(scope="module", loop_scope="session", params=["recording", "live"])
async def monologue(
    request: pytest.FixtureRequest, node: RunningNode, monologue_audio: bytes
) -> Transcript:
    """The monologue with 2 s endpointing, every response collected: sent as a recording
    (batch mode), or as a live stream (partials, and long-segment cuts by the live session)."""
    live = request.param == "live"
    cfg = config(batch=not live, endpointing_ms=2000, meeting_id="m-monologue")
    # A live stream may run at most 15 s ahead of real time: it is paced, 12 s ahead.
    return await transcribe(
        node,
        "grpc",
        cfg,
        frames_of(monologue_audio, 3200),
        frame_s=0.1 if live else 0.0,
        lead_s=12.0,
    )


def ngrams(words: list[str], n: int = 4) -> list[tuple[str, ...]]:
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def test_monologue_finals_match_the_script(monologue: Transcript) -> None:
    error = wer(MONOLOGUE, monologue.text)
    print(f"monologue WER {error:.3f} over {len(monologue.finals)} finals")
    assert error < MAX_WER, monologue.text
    script, heard = normalise(MONOLOGUE).split(), normalise(monologue.text).split()
    assert abs(len(heard) - len(script)) <= 0.03 * len(script), (len(heard), len(script))


def test_monologue_is_cut_by_the_trimming_path(monologue: Transcript) -> None:
    finals = monologue.finals
    # With 2 s endpointing no pause ends an utterance: every cut before the last comes from
    # a segment growing past max_segment_s (the last one from CloseStream).
    assert not any(f.speech_final for f in finals)
    assert len(finals) >= 4, [f.text for f in finals]
    for f in finals[:-1]:
        length = f.end.ToTimedelta().total_seconds() - f.start.ToTimedelta().total_seconds()
        assert 0 < length <= MAX_SEGMENT_S + 2.0, (length, f.text)
    ids = [f.segment_id for f in finals]
    assert len(set(ids)) == len(ids), "each final closes a segment of its own"
    ends = [f.end.ToTimedelta().total_seconds() for f in finals]
    starts = [f.start.ToTimedelta().total_seconds() for f in finals]
    assert all(s >= e - 0.1 for e, s in zip(ends, starts[1:], strict=False)), (starts, ends)
    assert monologue.summary.finals == len(finals)


def test_no_words_are_repeated_or_lost_at_segment_boundaries(monologue: Transcript) -> None:
    script = normalise(MONOLOGUE).split()
    segments = [normalise(f.text).split() for f in monologue.finals]
    heard = [w for s in segments for w in s]
    boundaries = np.cumsum([len(s) for s in segments])[:-1].tolist()
    assert boundaries, "no boundary to check"

    script_counts, heard_counts = Counter(ngrams(script)), Counter(ngrams(heard))
    for b in boundaries:
        for gram in ngrams(heard[max(0, b - 6) : b + 6]):
            if script_counts[gram] == 1:
                assert heard_counts[gram] == 1, f"{' '.join(gram)!r} repeated at a cut"

    alignment = jiwer.process_words(" ".join(script), " ".join(heard)).alignments[0]
    for chunk in alignment:
        if chunk.type in ("delete", "insert"):
            length = max(
                chunk.ref_end_idx - chunk.ref_start_idx, chunk.hyp_end_idx - chunk.hyp_start_idx
            )
            near_cut = any(abs(chunk.hyp_start_idx - b) <= 2 for b in boundaries)
            assert not (near_cut and length >= 2), (
                f"{chunk.type} of {script[chunk.ref_start_idx : chunk.ref_end_idx]} / "
                f"{heard[chunk.hyp_start_idx : chunk.hyp_end_idx]} at a segment boundary"
            )


def test_close_stream_flushes_the_tail(monologue: Transcript) -> None:
    last = monologue.finals[-1]
    assert not last.speech_final, "the tail was cut by CloseStream, not by silence"
    # The script's closing words were heard (one misrecognised word is ASR, not a lost tail).
    heard, said = normalise(last.text).split()[-4:], normalise(MONOLOGUE).split()[-4:]
    assert sum(h == s for h, s in zip(heard, said, strict=True)) >= 3, last.text
    assert monologue.of("summary") and monologue.responses[-1].WhichOneof("response") == "summary"


#: Phrases said with pauses shorter than the 2 s endpointing, most of them mid-sentence (where
#: Whisper writes no full stop): a live segment grows past max_segment_s and must be cut.
PAUSED_PHRASES = (
    "Today we will review the progress of the mobile application",
    "and decide what we ship next month",
    "the design team finished the new login screen last week",
    "and the feedback from our users was very positive",
    "however the search feature is still too slow on older phones",
    "and we need to fix that before the release",
    "our engineers believe the problem comes from loading every picture",
    "at full size when the page opens",
)
PAUSE_S = 0.7


async def test_a_live_utterance_that_pauses_briefly_is_cut_in_its_pauses(
    node: RunningNode, tmp_path: Path
) -> None:
    parts, pauses, t = [], [], 0.0
    for i, phrase in enumerate(PAUSED_PHRASES):
        speech = decode_file(espeak_wav(phrase, tmp_path / f"{i}.wav"))
        parts += [speech, bytes(2 * round(PAUSE_S * RATE))]
        t += len(speech) / (2 * RATE)
        pauses.append((t, t + PAUSE_S))
        t += PAUSE_S
    cfg = config(endpointing_ms=2000, meeting_id="m-pauses")
    transcript = await transcribe(
        node, "grpc", cfg, frames_of(b"".join(parts), 3200), frame_s=0.1, lead_s=12.0
    )
    finals = transcript.finals
    assert len(finals) >= 3, [f.text for f in finals]  # ~37 s: at least two cuts
    assert wer(" ".join(PAUSED_PHRASES), transcript.text) < MAX_WER, transcript.text
    for before, after in zip(finals, finals[1:], strict=False):
        end = before.end.ToTimedelta().total_seconds()
        start = after.start.ToTimedelta().total_seconds()
        # Whisper's word times are approximate: a last word's end may stretch into the pause,
        # a first word's start drift back into it.
        in_a_pause = any(end <= p_end + 0.3 and start >= p_start - 0.3 for p_start, p_end in pauses)
        assert in_a_pause, f"cut at {end:.2f}-{start:.2f} s, pauses {pauses}: {before.text!r}"


# -- Opus in Ogg and WebM ---------------------------------------------------------------------


def encode_opus(source: Path, container: Literal["ogg", "webm"]) -> bytes:
    """`source` as stereo 48 kHz Opus in an Ogg or WebM container (what browsers send)."""
    buffer = io.BytesIO()
    with av.open(str(source)) as src, av.open(buffer, "w", format=container) as dst:
        out = dst.add_stream("libopus", rate=48_000, layout="stereo")
        out.bit_rate = 32_000
        for frame in src.decode(audio=0):
            frame.pts = None
            for packet in out.encode(frame):
                dst.mux(packet)
        for packet in out.encode(None):
            dst.mux(packet)
    return buffer.getvalue()


@pytest.mark.parametrize("transport", ["grpc", "ws"])
@pytest.mark.parametrize(
    ("container", "encoding"),
    [("ogg", pb.AUDIO_ENCODING_OGG_OPUS), ("webm", pb.AUDIO_ENCODING_WEBM_OPUS)],
    ids=["ogg", "webm"],
)
async def test_opus_in_a_container_is_transcribed(
    node: RunningNode,
    speech: Path,
    transport: Transport,
    container: Literal["ogg", "webm"],
    encoding: pb.AudioEncoding,
) -> None:
    data = encode_opus(speech / "audio" / "jfk.flac", container)
    # 4000-byte frames cut the container anywhere, as a network would.
    cfg = config(encoding=encoding, sample_rate_hertz=0, batch=True)
    transcript = await transcribe(node, transport, cfg, frames_of(data, 4000))
    error = wer((speech / "refs" / "jfk.txt").read_text(), transcript.text)
    print(f"{container}/opus over {transport}: WER {error:.3f}")
    assert error < MAX_WER, transcript.text
    received = transcript.summary.audio_received.ToTimedelta().total_seconds()
    assert received == pytest.approx(11.0, abs=0.1)


# -- PCM at other rates and channel counts ----------------------------------------------------


def decode_native(path: Path) -> tuple[np.ndarray, int, int]:
    """(interleaved float32 samples, rate, channels) exactly as the file holds them."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate, channels = stream.rate, stream.codec_context.channels
        resampler = av.AudioResampler(format="flt", layout=stream.layout, rate=rate)
        parts = [
            f.to_ndarray().reshape(-1)
            for frame in container.decode(audio=0)
            for f in resampler.resample(frame)
        ]
    return np.concatenate(parts).astype(np.float32), rate, channels


@dataclass(frozen=True)
class PcmCase:
    name: str
    file: str
    ref: str
    rate: int  # sent at this rate (resampled first); 0: the file's own rate
    encoding: Literal["linear16", "float32"]
    transport: Transport


PCM_CASES = [
    PcmCase(
        "linear16-8k-mono",
        "librispeech_test-clean_1995-1837-0001.wav",
        "librispeech_test-clean_1995-1837-0001.txt",
        8_000,
        "linear16",
        "grpc",
    ),
    PcmCase(
        "float32-8k-mono",
        "librispeech_test-clean_1995-1837-0001.wav",
        "librispeech_test-clean_1995-1837-0001.txt",
        8_000,
        "float32",
        "ws",
    ),
    PcmCase("linear16-44k1-stereo", "jfk.flac", "jfk.txt", 0, "linear16", "ws"),
    PcmCase("float32-44k1-stereo", "jfk.flac", "jfk.txt", 0, "float32", "grpc"),
]


@pytest.mark.parametrize("case", PCM_CASES, ids=[c.name for c in PCM_CASES])
async def test_pcm_at_other_rates_and_channels_is_resampled(
    node: RunningNode, speech: Path, case: PcmCase
) -> None:
    samples, rate, channels = decode_native(speech / "audio" / case.file)
    if case.rate:
        assert channels == 1
        samples = soxr.resample(samples, rate, case.rate).astype(np.float32)
        rate = case.rate
    seconds = samples.size / channels / rate
    if case.encoding == "linear16":
        data = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
        wire = pb.AUDIO_ENCODING_LINEAR16
    else:
        data = samples.astype("<f4").tobytes()
        wire = pb.AUDIO_ENCODING_FLOAT32
    frame_bytes = (2 if case.encoding == "linear16" else 4) * channels * (rate // 10)  # 100 ms
    cfg = config(encoding=wire, sample_rate_hertz=rate, channels=channels, batch=True)
    transcript = await transcribe(node, case.transport, cfg, frames_of(data, frame_bytes))

    error = wer((speech / "refs" / case.ref).read_text(), transcript.text)
    print(f"{case.name} ({rate} Hz, {channels} ch) over {case.transport}: WER {error:.3f}")
    assert error < MAX_WER, transcript.text
    # Resampled to 16 kHz, the stream holds as many seconds as the input did.
    received = transcript.summary.audio_received.ToTimedelta().total_seconds()
    assert received == pytest.approx(seconds, abs=0.02)
