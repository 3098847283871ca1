"""A recording's path from audio to captions: batch mode (uploads, `stream --fast`).

Nobody watches a recording's captions form, so there are no partial passes. Utterances found
by voice activity detection are gathered into windows of up to `WINDOW_S` of audio and each
window is decoded once, with the final beam, the way offline faster-whisper decodes its 30 s
windows: the encoder hears each second of speech once instead of once per utterance plus
padding, and Whisper hears every utterance with its neighbours. Windows are decoded while
the next ones are gathered (up to `IN_FLIGHT_PER_WORKER` per inference worker), so one
recording can keep every worker busy that live streams leave idle; results are sent in order.

The words of a window are shared out to its utterances by time, so a client sees the same
messages as in live mode, without partials: per utterance SpeechStarted, a final result, and
UtteranceEnd.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass

from streaming.audio import SAMPLE_RATE, Pcm
from streaming.events import SpeechStarted, UtteranceEnd, Word
from streaming.guards import drop_unlikely_tail
from streaming.options import SessionOptions
from streaming.recognizer import Recognition
from streaming.refresh import Refresh
from streaming.scheduler import InferenceScheduler
from streaming.segment_cut import SENTENCE_END
from streaming.session import VOICED_MARGIN_S, TranscriptionSession
from streaming.vad import PRE_ROLL_S, SileroVoiceDetector

#: Audio in one decoded window, gaps included. Whisper's limit is 30 s; the audio window of
#: the session must also hold what arrives before a window is cut off.
WINDOW_S = 20.0
#: A longer pause closes the window: Whisper invents words in long silences, and a meeting
#: participant's stream is mostly silence between their turns.
MAX_GAP_S = 2.0
#: Decodes queued per inference worker, so the next window is ready when a worker frees.
IN_FLIGHT_PER_WORKER = 2
#: When one utterance outgrows a window, the words this close to its end are decoded again
#: with the audio that follows (Whisper guesses at a word cut by the window's end).
UNSURE_TAIL_S = 3.0


@dataclass(slots=True)
class Utterance:
    start_s: float
    end_s: float
    #: Ended by a pause (rather than by Finalize/Close or the window's size).
    speech_final: bool
    started: SpeechStarted | None


@dataclass(slots=True)
class Decode:
    utterances: list[Utterance]
    result: asyncio.Task[Recognition]


class RecordingSession(TranscriptionSession):
    def __init__(
        self, recognizer: InferenceScheduler, vad: SileroVoiceDetector, options: SessionOptions
    ) -> None:
        super().__init__(recognizer, vad, options)
        self._gathered: list[Utterance] = []
        self._started: SpeechStarted | None = None  # of the open utterance, sent with its final
        self._decodes: deque[Decode] = deque()
        self._max_in_flight = IN_FLIGHT_PER_WORKER * recognizer.load.workers

    async def run(self) -> None:
        try:
            await super().run()
        finally:
            for decode in self._decodes:  # the stream went away: its queued passes never run
                decode.result.cancel()

    def _pass_due(self) -> Refresh | None:
        return None

    def _keep_from_s(self) -> float:
        keep = super()._keep_from_s()
        return min(keep, self._gathered[0].start_s) if self._gathered else keep

    async def _speech_started(self, at_s: float) -> None:
        start_s = max(self._window.start_s, at_s - PRE_ROLL_S)
        if self._gathered and start_s - self._gathered[-1].end_s > MAX_GAP_S:
            await self._submit()
        self._segment_start_s = start_s
        self._started = SpeechStarted(round(at_s, 3))

    async def _on_audio(self, pcm: Pcm) -> None:
        await super()._on_audio(pcm)
        if not self._endpointer.in_speech:
            if self._gathered and self._window.end_s - self._gathered[-1].end_s > MAX_GAP_S:
                await self._submit()  # the pause closes the window: why wait for more speech
            return
        if self._gathered and self._window.end_s - self._gathered[0].start_s > WINDOW_S:
            await self._submit()
        if self._window.end_s - self._segment_start_s > WINDOW_S:
            await self._cut_long_utterance()
        # In speech the window is not trimmed otherwise: keep only what is still to decode.
        self._window.trim_before(
            self._gathered[0].start_s if self._gathered else self._segment_start_s
        )

    async def _finish_segment(
        self, *, speech_final: bool, voiced_until_s: float | None = None
    ) -> None:
        """The open utterance joins the window; Finalize and Close also flush everything."""
        in_speech = self._endpointer.in_speech or speech_final
        end_s = min(self._window.end_s, self._speech_end_s(voiced_until_s) + VOICED_MARGIN_S)
        if in_speech and end_s - self._segment_start_s >= 0.1:
            self._gathered.append(
                Utterance(self._segment_start_s, end_s, speech_final, self._started)
            )
        self._started = None
        self._segment_start_s = self._window.end_s
        if not speech_final:
            await self._submit()
            while self._decodes:
                await self._send_oldest()
        elif self._gathered and self._window.end_s - self._gathered[0].start_s >= WINDOW_S:
            await self._submit()

    async def _submit(self) -> None:
        """Queue the gathered utterances' window for decoding."""
        if not self._gathered:
            return
        utterances, self._gathered = self._gathered, []
        task = asyncio.create_task(self._decode(utterances[0].start_s, utterances[-1].end_s))
        self._decodes.append(Decode(utterances, task))
        if len(self._decodes) > self._max_in_flight:
            await self._send_oldest()

    def _decode(self, start_s: float, end_s: float) -> Coroutine[None, None, Recognition]:
        """The pass over [start_s, end_s); its audio is copied now, before the window moves."""
        audio = self._window.since(start_s)[: round((end_s - start_s) * SAMPLE_RATE)]
        return self._recognizer.recognize(
            audio, offset_s=start_s, language=self.options.language, final=True, bulk=True
        )

    async def _send_oldest(self) -> None:
        decode = self._decodes.popleft()
        words = list((await decode.result).words)
        for utterance, heard in zip(
            decode.utterances, share_out(words, decode.utterances), strict=True
        ):
            if utterance.started is not None:
                await self._emit(utterance.started)
            heard = drop_unlikely_tail(heard)
            if heard:
                await self._send_words(heard, speech_final=utterance.speech_final)
                if utterance.speech_final:
                    await self._emit(UtteranceEnd(round(heard[-1].end_s, 3)))

    async def _send_words(self, words: list[Word], *, speech_final: bool) -> None:
        """Finals of at most `max_segment_s` each (captions and subtitles stay readable)."""
        pieces = split_at_sentences(words, self.options.max_segment_s)
        for i, piece in enumerate(pieces):
            await self._send_final(piece, speech_final=speech_final and i == len(pieces) - 1)

    async def _cut_long_utterance(self) -> None:
        """An utterance without a pause longer than a window: send what is surely done.

        Its words up to the last sentence end clear of the window's end become a final; the
        rest of its audio stays open and is decoded again with what follows.
        """
        while self._decodes:
            await self._send_oldest()
        end_s = self._window.end_s
        words = list((await self._decode(self._segment_start_s, end_s)).words)
        sure = [w for w in words if w.end_s <= end_s - UNSURE_TAIL_S]
        ends = [i for i, w in enumerate(sure) if w.text.endswith(SENTENCE_END)]
        done = sure[: ends[-1] + 1] if ends else sure
        if not done:
            done = words  # nothing to hold back for: all of it, and start afresh
        if self._started is not None:
            await self._emit(self._started)
            self._started = None
        if done:
            await self._send_words(done, speech_final=False)
        later = words[len(done) :]
        self._segment_start_s = (done[-1].end_s + later[0].start_s) / 2 if done and later else end_s


def share_out(words: list[Word], utterances: list[Utterance]) -> list[list[Word]]:
    """Each word to the utterance it falls in, or in a pause, to the nearer one."""
    cuts = [
        (before.end_s + after.start_s) / 2
        for before, after in zip(utterances, utterances[1:], strict=False)
    ]
    shares: list[list[Word]] = [[] for _ in utterances]
    for word in words:
        shares[sum(word.middle_s >= cut for cut in cuts)].append(word)
    return shares


def split_at_sentences(words: list[Word], max_s: float) -> list[list[Word]]:
    """`words` in runs of at most `max_s`, cut after the last sentence end that fits, else
    at the widest pause between two words."""
    pieces: list[list[Word]] = []
    rest = words
    while rest:
        limit_s = rest[0].start_s + max_s
        fits = rest[: max(1, next((i for i, w in enumerate(rest) if w.end_s > limit_s), len(rest)))]
        if len(fits) == len(rest):
            pieces.append(rest)
            break
        ends = [i for i, w in enumerate(fits) if w.text.endswith(SENTENCE_END)]
        if ends:
            cut = ends[-1] + 1
        else:
            gaps = [rest[i + 1].start_s - rest[i].end_s for i in range(len(fits))]
            cut = gaps.index(max(gaps)) + 1
        pieces.append(rest[:cut])
        rest = rest[cut:]
    return pieces
