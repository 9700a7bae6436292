"""Language in: instructions become a `Task` (goal + guardrails).

`task` is what an instruction means (the goal tree and guardrails, and the errors that say why a
text isn't one); `grammar` reads the BabyAI instruction language, every registered minigrid
mission and common paraphrases into one (`parse`, `understand`), with the phrase tables of
`rules`; `lexical` reads everyday wordings the grammar doesn't take through the concepts
`lexicon` (WordNet) files their words under, and says when it isn't sure; `normalizer` is the
small learned model that rewrites what neither takes into its canonical form, trained on
`paraphrase`'s generated pairs;
`missions` lists the missions of the registered environments. The names below are
`task`'s and `grammar`'s; import the normalizer from `hagent.language.normalizer`.
"""

from hagent.language.grammar import VOCABULARY, Reader, Reading, goal_from_babyai, parse, understand
from hagent.language.task import (
    COLORS,
    FORBIDDABLE_ACTIONS,
    GRAMMAR_SUMMARY,
    HAZARDS,
    KINDS,
    LOCATIONS,
    MAX_TEXT_LENGTH,
    ROOM_POSITIONS,
    Action,
    AvoidHazard,
    AvoidRegion,
    Both,
    ForbidAction,
    Goal,
    GoTo,
    Guardrail,
    ObjectRef,
    Open,
    ParseError,
    PickUp,
    PutNext,
    RegionRef,
    Sequence,
    Task,
    UnclearError,
    all_of,
    in_order,
    same_task,
)

__all__ = [
    "COLORS", "FORBIDDABLE_ACTIONS", "GRAMMAR_SUMMARY", "HAZARDS", "KINDS", "LOCATIONS", "MAX_TEXT_LENGTH",
    "ROOM_POSITIONS", "VOCABULARY", "Action", "AvoidHazard", "AvoidRegion", "Both", "ForbidAction", "Goal", "GoTo",
    "Guardrail", "ObjectRef", "Open", "ParseError", "PickUp", "PutNext", "Reader", "Reading", "RegionRef", "Sequence",
    "Task", "UnclearError", "all_of", "goal_from_babyai", "in_order", "parse", "same_task", "understand",
]
