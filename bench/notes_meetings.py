"""Scripted meetings for the notes benchmark, each with what its notes must contain.

Every meeting has the traps that break naive notes: a proposal later rejected, a task
handed to someone else, an owner who is not the speaker, numbers and dates. The planted
items are matched in the notes by keywords (lower case), owners by participant id.
"""

from __future__ import annotations

from dataclasses import dataclass

from support_meeting import MEETING, VOICES


@dataclass(frozen=True, slots=True)
class PlantedDecision:
    keywords: tuple[str, ...]
    status: str  # "STATUS_AGREED" | "STATUS_REJECTED" | "STATUS_DEFERRED"


@dataclass(frozen=True, slots=True)
class PlantedAction:
    keywords: tuple[str, ...]
    owner: str  # participant id


@dataclass(frozen=True, slots=True)
class ScriptedMeeting:
    meeting_id: str
    voices: dict[str, str]
    script: list[tuple[str, str]]
    decisions: tuple[PlantedDecision, ...]
    actions: tuple[PlantedAction, ...]


AGREED, REJECTED, DEFERRED = "STATUS_AGREED", "STATUS_REJECTED", "STATUS_DEFERRED"

MEETINGS = (
    ScriptedMeeting(
        "launch",
        VOICES,
        MEETING,
        (
            PlantedDecision(("launch", "march"), AGREED),
            PlantedDecision(("hosting",), REJECTED),
            PlantedDecision(("pricing",), DEFERRED),
        ),
        (
            PlantedAction(("budget",), "Carol"),
            PlantedAction(("room",), "David"),
            PlantedAction(("press release",), "David"),
        ),
    ),
    ScriptedMeeting(
        "campaign",
        {"Erin": "en-us+f3", "Frank": "en-gb", "Grace": "en-gb-x-rp", "Henry": "en-us"},
        [
            ("Erin", "Good afternoon. Let's talk about the spring campaign."),
            ("Frank", "Let's run the campaign on the radio."),
            ("Grace", "No, let's not run the campaign on the radio. It reaches too few people."),
            ("Erin", "We decided to spend twelve thousand dollars on online ads."),
            ("Henry", "Grace, can you write the new slogan before Monday?"),
            ("Erin", "Frank, can you call the printer tomorrow?"),
            ("Erin", "Actually, Henry will take that, not Frank."),
            ("Grace", "I will send the photos to the agency by Thursday."),
            ("Frank", "When does the campaign start?"),
            ("Erin", "Let's revisit the logo next month."),
        ],
        (
            PlantedDecision(("radio",), REJECTED),
            PlantedDecision(("online",), AGREED),
            PlantedDecision(("logo",), DEFERRED),
        ),
        (
            PlantedAction(("slogan",), "Grace"),
            PlantedAction(("printer",), "Henry"),
            PlantedAction(("photos",), "Grace"),
        ),
    ),
    ScriptedMeeting(
        "upgrade",
        {"Ivy": "en-gb-x-rp", "Jack": "en-us", "Kate": "en-us+f3", "Liam": "en-gb"},
        [
            ("Ivy", "Hello everyone. Let's talk about the database upgrade."),
            ("Jack", "Let's upgrade the database on Saturday night."),
            ("Kate", "Let's move the servers to a new region."),
            ("Liam", "No, let's not move the servers this year. It is too risky."),
            ("Ivy", "Jack, can you test the backup before Friday?"),
            ("Liam", "Kate, can you update the runbook by Wednesday?"),
            ("Kate", "I will write the status report by the fifteenth."),
            ("Jack", "How long will the upgrade take?"),
            ("Ivy", "Let's revisit the monitoring budget next quarter."),
        ],
        (
            PlantedDecision(("upgrade", "saturday"), AGREED),
            PlantedDecision(("servers",), REJECTED),
            PlantedDecision(("monitoring",), DEFERRED),
        ),
        (
            PlantedAction(("backup",), "Jack"),
            PlantedAction(("runbook",), "Kate"),
            PlantedAction(("status report",), "Kate"),
        ),
    ),
    ScriptedMeeting(
        "hiring",
        {"Mia": "en-us+f3", "Noah": "en-gb", "Olivia": "en-gb-x-rp", "Paul": "en-us"},
        [
            ("Mia", "Thanks for joining. Let's talk about hiring for the support team."),
            ("Noah", "Let's hire two new support engineers."),
            ("Olivia", "Let's hire a contractor for the summer."),
            ("Paul", "No, let's not hire a contractor. The budget is too small."),
            ("Mia", "Noah, can you post the job listing by Friday?"),
            ("Mia", "Actually, Olivia will take that, not Noah."),
            ("Noah", "Paul, can you schedule the interviews before March tenth?"),
            ("Olivia", "I will update the salary ranges by next Monday."),
            ("Paul", "Should we offer remote work?"),
            ("Mia", "Let's revisit the team structure next quarter."),
        ],
        (
            PlantedDecision(("support engineers",), AGREED),
            PlantedDecision(("contractor",), REJECTED),
            PlantedDecision(("structure",), DEFERRED),
        ),
        (
            PlantedAction(("job",), "Olivia"),
            PlantedAction(("interviews",), "Paul"),
            PlantedAction(("salary",), "Olivia"),
        ),
    ),
)
