"""Language in: instructions become a `Task` (goal + guardrails).

`grammar` reads the BabyAI instruction language, every registered minigrid mission and common
paraphrases (`parse`, `understand`); `normalizer` is the small learned model that rewrites text
the grammar doesn't take into its canonical form, trained on `paraphrase`'s generated pairs;
`missions` lists the missions of the registered environments. The names below are the
grammar's; import the normalizer from `hagent.language.normalizer`.
"""

from hagent.language.grammar import (
    COLORS,
    FORBIDDABLE_ACTIONS,
    GRAMMAR_SUMMARY,
    HAZARDS,
    KINDS,
    LOCATIONS,
    MAX_TEXT_LENGTH,
    ROOM_POSITIONS,
    VOCABULARY,
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
    Reader,
    Reading,
    RegionRef,
    Sequence,
    Task,
    UnclearError,
    all_of,
    goal_from_babyai,
    in_order,
    parse,
    same_task,
    understand,
)

__all__ = [
    "COLORS", "FORBIDDABLE_ACTIONS", "GRAMMAR_SUMMARY", "HAZARDS", "KINDS", "LOCATIONS", "MAX_TEXT_LENGTH",
    "ROOM_POSITIONS", "VOCABULARY", "Action", "AvoidHazard", "AvoidRegion", "Both", "ForbidAction", "Goal", "GoTo",
    "Guardrail", "ObjectRef", "Open", "ParseError", "PickUp", "PutNext", "Reader", "Reading", "RegionRef", "Sequence",
    "Task", "UnclearError", "all_of", "goal_from_babyai", "in_order", "parse", "same_task", "understand",
]
