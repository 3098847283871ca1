"""What a live pass hears besides the open segment: audio before it, and a text prompt.

A partial pass hears only what is still open (from the last committed words on), so it stays
short and cheap. A final pass hears the whole segment; a short utterance right after other
speech also hears the conversation before it, so a turn like "Thanks, both." is decoded with
the words around it. Every pass is prompted with the stream's committed text before its audio.
"""

from __future__ import annotations

from collections.abc import Sequence

from streaming.events import Word
from streaming.vad import PRE_ROLL_S

#: Audio before the open segment that each final pass also hears: it gives short utterances the
#: words around them. Partials go without: the extra words to decode would slow every refresh.
CONTEXT_S = 6.0
#: Context only helps when it holds speech. After a longer silence Whisper stretches the first
#: word's start back into it, and the word is then taken for context and dropped ("Bob, can
#: you…" came out "Can you…" after another participant's turn).
CONTEXT_MAX_SILENCE_S = 2.0
#: ...and only short segments need it: a longer one carries its own. Decoding the context
#: words again doubled the cost of most finals, the largest cost of a busy node.
CONTEXT_MAX_SEGMENT_S = 3.0
#: Whisper sees at most 30 s; the session's window leaves room for audio arriving during a pass.
WHISPER_WINDOW_S = 29.5
#: Committed words of the stream that seed the next pass's prompt.
PROMPT_WORDS = 40
#: Committed words a partial pass hears again before the open ones.
PARTIAL_ANCHOR_WORDS = 2


def pass_start_s(
    *,
    segment_start_s: float,
    voiced_end_s: float,
    last_said_s: float | None,
    continues_cut: bool,
    committed: Sequence[Word],
    final: bool,
    isolated: bool = False,
) -> float:
    """Stream time where a pass's audio starts; it ends at `voiced_end_s`.

    `last_said_s`: end of the stream's last finalised word; `continues_cut`: the segment began
    at a long segment's cut; `committed`: the open segment's committed words; `isolated`: the
    segment's audio alone (a final pass redone without context).
    """
    recent = last_said_s is not None and segment_start_s - last_said_s <= CONTEXT_MAX_SILENCE_S
    short = voiced_end_s - segment_start_s <= CONTEXT_MAX_SEGMENT_S
    # A long segment's later part starts in mid-conversation, where Whisper drops the first
    # words it hears ("you know, I heard a beep" lost after a cut): it gets context.
    wanted = (recent and short) or continues_cut
    context_s = CONTEXT_S if final and wanted and not isolated else 0.0
    # Context, segment and margin must fit one 30 s Whisper window.
    from_s = max(segment_start_s - context_s, voiced_end_s - WHISPER_WINDOW_S)
    if not final and len(committed) > PARTIAL_ANCHOR_WORDS:
        # Committed words never change, so a partial pass need not hear them again: it starts
        # at the last committed words (an anchor the agreement recognises and drops) and hears
        # only what is still open.
        from_s = max(from_s, committed[-PARTIAL_ANCHOR_WORDS].start_s - PRE_ROLL_S)
    return from_s


def prompt_before(said: Sequence[Word], audio_start_s: float) -> str:
    """The prompt for audio starting at `audio_start_s`: the last committed words before it.

    Only text *before* the audio: words inside it would make Whisper skip them.
    """
    earlier = [w for w in said if w.end_s <= audio_start_s]
    return " ".join(w.text for w in earlier[-PROMPT_WORDS:])
