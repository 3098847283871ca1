"""A live stream's path from audio to captions (recordings: `streaming/recording_session.py`).

Audio arrives in a bounded inbox. Each chunk goes through voice activity detection; while
someone speaks, the open segment's audio is re-recognised every `partial_interval_s` of new
audio and LocalAgreement-2 decides which words are stable. The segment becomes final when the
utterance ends (silence), on Finalize/Close, or, in long monologues, in the quietest pause
between committed words once the segment grows past `max_segment_s` (`segment_cut.py`; its
audio is then trimmed, so the window stays short). The final pass of an utterance starts in
the pause that may end it (`EarlyFinal`), so its final is sent as the silence completes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from streaming.agreement import LocalAgreement
from streaming.audio import SAMPLE_RATE, Pcm
from streaming.captions import CaptionSequence
from streaming.events import (
    EngineWarning,
    SessionEvent,
    SpeechStarted,
    StreamSummary,
    UtteranceEnd,
    Word,
)
from streaming.guards import drop_unlikely_tail
from streaming.inbox import Command, StreamInbox
from streaming.options import WINDOW_CAPACITY_S, SessionOptions
from streaming.pass_context import CONTEXT_S, PROMPT_WORDS, pass_start_s, prompt_before
from streaming.refresh import EarlyFinal, OpenSegment, Refresh, refresh_due
from streaming.scheduler import InferenceScheduler
from streaming.segment_cut import (
    MIN_CUT_SHARE,
    pause_cut,
)
from streaming.vad import (
    PRE_ROLL_S,
    SileroVoiceDetector,
    UtteranceEndpointer,
    VadState,
    VoiceActivityTrace,
)
from streaming.window import AudioWindow

log = logging.getLogger(__name__)

#: Audio kept while nobody speaks: the pre-roll of the next onset, plus a margin because
#: onsets are confirmed a few windows late and a chunk boundary may fall in between. Only a
#: segment that continues a cut hears audio before it (`CONTEXT_S`), and that is mid-speech,
#: when nothing is trimmed.
KEEP_WHEN_SILENT_S = PRE_ROLL_S + 1.0
#: Whisper invents words in trailing non-speech ("Thanks for watching!"): audio is cut this
#: long after the last voiced window, and words starting after it are dropped.
VOICED_MARGIN_S = 0.4
#: A segment in which no word has been agreed is finalised this long past `max_segment_s`.
UNAGREED_EXTRA_S = 2.0
#: A pass that fails (a CUDA error, a decoding bug on odd audio) costs its stream a partial
#: or the final pass's corrections, not the stream; this many failing in a row, none between
#: them succeeding, end it (INTERNAL): the recognizer is broken, not the audio.
MAX_FAILED_PASSES_IN_A_ROW = 3


class TranscriptionSession:
    """Per-stream state and loop. Create one per stream; `run()` until `close()` is handled."""

    def __init__(
        self, recognizer: InferenceScheduler, vad: SileroVoiceDetector, options: SessionOptions
    ) -> None:
        self.options = options
        self._recognizer = recognizer
        self._vad = vad
        self._vad_state = VadState()
        self._endpointer = UtteranceEndpointer(options.vad_threshold, options.silence_ms)
        self._voice = VoiceActivityTrace(WINDOW_CAPACITY_S)
        self._inbox = StreamInbox(options.max_pending_chunks)
        self._outbox: asyncio.Queue[SessionEvent] = asyncio.Queue(256)
        self._window = AudioWindow(WINDOW_CAPACITY_S)
        self._agreement = LocalAgreement()
        self._history: list[Word] = []  # committed words of earlier segments, for the prompt
        self._segment_start_s = 0.0
        self._continues_cut = False  # the open segment began at a long segment's cut
        self._early: EarlyFinal | None = None  # the final pass run in a pause
        self._captions = CaptionSequence(options.stream_id)
        self._utterance_last_end_s: float | None = None
        self._since_pass_s = 0.0
        self._last_pass_end_s = 0.0  # end of the audio the last pass heard
        self._failed_passes = 0  # in a row
        self._passed = False  # a pass ran since the backlog was last reported

    # -- input (called by the transport) -------------------------------------------------------
    async def push_audio(self, pcm: Pcm) -> None:
        """Queue decoded 16 kHz audio; waits while the inbox is full (back-pressure)."""
        await self._inbox.put_audio(pcm)

    async def finalize(self) -> None:
        await self._inbox.put_command(Command.FINALIZE)

    async def close(self) -> None:
        """Flush everything; the events end with a StreamSummary."""
        await self._inbox.put_command(Command.CLOSE)

    async def warn(self, code: str, message: str) -> None:
        """Tell the client something without ending the stream."""
        await self._emit(EngineWarning(code, message))

    @property
    def audio_received_s(self) -> float:
        return self._inbox.received_s

    @property
    def audio_processed_s(self) -> float:
        return self._inbox.processed_s

    @property
    def backlog_s(self) -> float:
        return self._inbox.backlog_s

    # -- output ------------------------------------------------------------------------------
    async def events(self) -> AsyncIterator[SessionEvent]:
        """Events in order, ending after the StreamSummary."""
        while True:
            event = await self._outbox.get()
            yield event
            if isinstance(event, StreamSummary):
                return

    async def _emit(self, event: SessionEvent) -> None:
        await self._outbox.put(event)

    # -- the loop ----------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            await self._run()
        finally:
            self._recognizer.stream_ended(self.options.stream_id)

    async def _run(self) -> None:
        while True:
            item = await self._inbox.get()
            if self._passed:
                # What piled up while passes ran: the node's measure of whether live streams
                # are kept real time (admission reads it), whatever made the passes slow.
                self._passed = False
                self._recognizer.record_backlog(self.options.stream_id, self.backlog_s)
            drained = 0.0
            while True:
                if isinstance(item, Command):
                    await self._finish_segment(speech_final=False)
                    if item is Command.CLOSE:
                        await self._emit(self.stats())
                        return
                else:
                    drained += item.size / SAMPLE_RATE
                    await self._on_audio(item)
                if drained >= self.options.max_drain_s or self._inbox.empty():
                    break
                item = self._inbox.get_nowait()
            if (due := self._pass_due()) is not None:
                await self._refresh(due)

    def _pass_due(self) -> Refresh | None:
        """Which pass refreshes the open segment now, if any (`streaming/refresh.py`)."""
        segment = OpenSegment(
            start_s=self._segment_start_s,
            end_s=self._window.end_s,
            in_speech=self._endpointer.in_speech,
            trailing_silence_s=self._endpointer.trailing_silence_s,
            last_voiced_s=self._endpointer.last_voiced_s,
            last_pass_end_s=self._last_pass_end_s,
            since_pass_s=self._since_pass_s,
        )
        return refresh_due(
            segment,
            self._early,
            silence_ms=self.options.silence_ms,
            max_segment_s=self.options.max_segment_s,
            partial_interval_s=self._partial_interval_s,
        )

    def _speech_end_s(self, voiced_until_s: float | None) -> float:
        """Where the open segment's speech ended: `voiced_until_s` where an utterance end
        found it, else the last voiced audio so far."""
        return self._endpointer.last_voiced_s if voiced_until_s is None else voiced_until_s

    def _partial_interval_s(self) -> float:
        return self._recognizer.partial_interval_s(self.options.partial_interval_s)

    async def _on_audio(self, pcm: Pcm) -> None:
        if pcm.size / SAMPLE_RATE > self._window.room_s:
            # Only reachable when speech never pauses: finalise what we have to make room.
            await self._finish_segment(speech_final=False)
            self._window.trim_before(self._window.end_s - PRE_ROLL_S)
        self._window.append(pcm)
        probs = await asyncio.to_thread(self._vad.probabilities, self._vad_state, pcm)
        self._inbox.processed(pcm)
        self._voice.extend(probs)
        for boundary in self._endpointer.update(probs):
            if boundary.kind == "start":
                await self._speech_started(boundary.at_s)
            else:
                await self._finish_segment(speech_final=True, voiced_until_s=boundary.at_s)
        if self._endpointer.in_speech:
            self._since_pass_s += pcm.size / SAMPLE_RATE
        else:
            self._window.trim_before(self._keep_from_s())

    async def _speech_started(self, at_s: float) -> None:
        self._segment_start_s = max(self._window.start_s, at_s - PRE_ROLL_S)
        self._continues_cut = False
        self._agreement.reset(self._segment_start_s)
        self._utterance_last_end_s = None
        self._since_pass_s = self._window.end_s - self._segment_start_s
        await self._emit(SpeechStarted(round(at_s, 3)))

    def _keep_from_s(self) -> float:
        """Where the window may be trimmed while nobody speaks."""
        return self._window.end_s - KEEP_WHEN_SILENT_S

    async def _recognize(
        self, *, final: bool = False, isolated: bool = False, until_s: float | None = None
    ) -> list[Word] | None:
        """One pass; `isolated`: the segment's audio alone, without context audio or prompt;
        `until_s`: the segment's audio up to there only (a long segment's finalised part).
        None: the pass failed, and the stream goes on without it."""
        voiced_end_s = self._endpointer.last_voiced_s + VOICED_MARGIN_S
        if until_s is not None:
            voiced_end_s = min(voiced_end_s, until_s)
        if voiced_end_s - self._segment_start_s < 0.1:
            self._since_pass_s = 0.0
            return []
        from_s = pass_start_s(
            segment_start_s=self._segment_start_s,
            voiced_end_s=voiced_end_s,
            continues_cut=self._continues_cut,
            committed=self._agreement.committed,
            final=final,
            isolated=isolated,
        )
        audio = self._window.since(from_s)
        start_s = self._window.end_s - audio.size / SAMPLE_RATE
        audio = audio[: max(0, round((voiced_end_s - start_s) * SAMPLE_RATE))]
        self._since_pass_s = 0.0
        self._last_pass_end_s = self._window.end_s
        self._passed = True
        said = self._history + self._agreement.committed
        try:
            result = await self._recognizer.recognize(
                audio,
                offset_s=start_s,
                language=self.options.language,
                prompt="" if isolated else prompt_before(said, start_s),
                final=final,
            )
        except Exception:
            self._failed_passes += 1
            if self._failed_passes >= MAX_FAILED_PASSES_IN_A_ROW:
                raise
            log.warning(
                "a recognition pass failed; the stream goes on without it",
                exc_info=True,
                extra={"stream_id": self.options.stream_id, "final": final},
            )
            return None
        self._failed_passes = 0
        voiced = [w for w in result.words if w.start_s < voiced_end_s - VOICED_MARGIN_S / 2]
        return drop_unlikely_tail(voiced)

    async def _refresh(self, due: Refresh) -> None:
        """One partial pass over the open segment, or in a pause the final pass, early."""
        if due is Refresh.EARLY_FINAL:
            # The pause may end the utterance: run its final pass now rather than after the
            # endpointing silence. Its words also refresh the partial (better ones than a
            # partial pass's), and if speech resumes they were a partial pass that cost more.
            if (words := await self._final_hypothesis()) is None:
                return
            self._early = EarlyFinal(self._segment_start_s, self._endpointer.last_voiced_s, words)
            self._agreement.insert(words)
            await self._send_partial()
            return
        if (heard := await self._recognize()) is None:
            return  # the next pass is due an interval later; the final pass covers this one
        self._agreement.insert(heard)
        # Shown before a cut's final pass, not after it: under load that pass takes a second
        # or two, and the words this pass heard last would wait for it.
        await self._send_partial()
        committed = self._agreement.committed
        segment_s = self._window.end_s - self._segment_start_s
        if committed and segment_s > self.options.max_segment_s:
            # Long monologue (or a conversation without a pause long enough to end an
            # utterance): finalise the committed words up to where the speech paused most
            # (streaming/segment_cut.py), and trim the window there, so passes stay short and
            # committed text is not decoded again.
            cut, boundary_s = pause_cut(
                committed,
                self._agreement.tentative,
                self._voice,
                earliest_s=self._segment_start_s + self.options.max_segment_s * MIN_CUT_SHARE,
            )
            # Always a final pass, busy or not: keeping the partial passes' committed words
            # on a busy node cost the pyannote sample 7 points of WER at 8 streams ("Neither
            # did I" stood as "I need the design"). Finals outrank partials, so under load the
            # partials slow down instead.
            done = await self._final_words_until(boundary_s, committed[:cut])
            self._agreement.split_at(cut, finalised=done)
            await self._send_final(done, speech_final=False)
            self._segment_start_s = boundary_s
            self._continues_cut = True
            self._window.trim_before(boundary_s - CONTEXT_S)
            await self._send_partial()  # the words after the cut, as a new segment
        elif not committed and segment_s > self.options.max_segment_s + UNAGREED_EXTRA_S:
            # Nothing agreed (noise-like speech, or consecutive passes that keep disagreeing on
            # the first word, e.g. "one"/"1"): the final pass decides, and the window stops
            # growing. Users never wait more than a segment for a final.
            log.info(
                "no agreement within a segment; finalising it",
                extra={"stream_id": self.options.stream_id, "segment_s": round(segment_s, 2)},
            )
            await self._finish_segment(speech_final=False)

    async def _final_words_until(self, boundary_s: float, committed: list[Word]) -> list[Word]:
        """The final text of the segment's audio up to `boundary_s`, from a final pass.

        The committed words came from narrow-beam partial passes over short windows, where
        two passes can agree on a wrong word (on overlapping speakers, "I'm in New Jersey" for
        "I'm originally from Chicago"); a segment ended by a pause gets a final pass, and so
        does this part of a long one. A derailed pass keeps the committed words instead.
        """
        if (heard := await self._recognize(final=True, until_s=boundary_s)) is None:
            return committed
        words = [
            w
            for w in self._agreement.final_words(heard, self._segment_start_s)
            if w.middle_s < boundary_s
        ]
        return committed if len(words) * 2 < len(committed) else words

    async def _send_partial(self) -> None:
        if self.options.interim_results:
            committed, tentative = self._agreement.committed, self._agreement.tentative
            if (update := self._captions.partial(committed, tentative)) is not None:
                await self._emit(update)

    async def _finish_segment(
        self, *, speech_final: bool, voiced_until_s: float | None = None
    ) -> None:
        """Final pass over all of the open segment's audio, then its final result.

        `voiced_until_s`: where an utterance end found the speech ended; the audio chunk that
        completed the silence may already hold the next utterance's first windows.
        """
        words: list[Word] = []
        # In speech, the open segment has audio even if the last partial pass showed nothing;
        # so has an utterance that just ended (even right after a pass, with nothing shown).
        in_speech = self._endpointer.in_speech or speech_final
        speech_end_s = self._speech_end_s(voiced_until_s)
        if self._early is not None and self._early.covers(self._segment_start_s, speech_end_s):
            words = self._early.words  # nobody spoke since it heard the segment
        elif self._captions.showing or self._since_pass_s > 0 or in_speech:
            heard = await self._final_hypothesis(until_s=speech_end_s + VOICED_MARGIN_S)
            # Without its final pass, the segment ends with what its partials showed.
            words = heard if heard is not None else self._agreement.shown
        self._early = None
        await self._send_final(words, speech_final=speech_final)
        if speech_final and self._utterance_last_end_s is not None:
            await self._emit(UtteranceEnd(round(self._utterance_last_end_s, 3)))
            self._utterance_last_end_s = None
        self._segment_start_s = self._window.end_s
        # Finalised while someone speaks (Finalize, a full window): the next part is mid-speech.
        self._continues_cut = self._endpointer.in_speech and not speech_final
        self._agreement.reset(self._segment_start_s)
        self._since_pass_s = 0.0

    async def _final_hypothesis(self, until_s: float | None = None) -> list[Word] | None:
        """The open segment's words from a final pass over all of its audio (up to `until_s`);
        None if the pass failed."""
        shown = len(self._agreement.shown)
        if (hypothesis := await self._recognize(final=True, until_s=until_s)) is None:
            return None
        words = self._agreement.final_words(hypothesis, self._segment_start_s)
        if len(words) * 2 < shown:
            # The context and prompt can derail the final pass (tiny.en heard "the rush." in
            # 5 s of speech the partials had right): decode the segment on its own.
            alone = await self._recognize(final=True, isolated=True, until_s=until_s)
            if alone is not None:
                alone_words = self._agreement.final_words(alone, self._segment_start_s)
                words = max(words, alone_words, key=len)
        return words

    async def _send_final(self, words: list[Word], *, speech_final: bool) -> None:
        span = (self._segment_start_s, self._window.end_s)
        update = self._captions.final(words, speech_final=speech_final, span=span)
        if update is not None:
            await self._emit(update)
        if words:
            self._history = (self._history + words)[-PROMPT_WORDS:]
            self._utterance_last_end_s = words[-1].end_s

    def stats(self) -> StreamSummary:
        return StreamSummary(
            audio_received_s=round(self.audio_received_s, 3),
            audio_processed_s=round(self.audio_processed_s, 3),
            segments=self._captions.segments,
            finals=self._captions.finals,
        )
