"""Paraphrases of instructions: the pairs the language normalizer learns from and is measured on.

A random `Task` is said in the words of a `Phrasings` bank (politeness, verb synonyms, word
order, relative clauses, guardrail phrasings, one-edit typos); its canonical text is
`Task.describe()`, which `hagent.language.parse` maps back to the same task. Training draws
from `TRAINING`; the benchmark's held-out set draws from a bank kept in its own file
(`benchmarks/language_heldout.json`) whose phrasings and filler words training never sees.

    >>> import random
    >>> from hagent.language import parse
    >>> pair = paraphrase(random.Random(0), TRAINING)
    >>> parse(pair.canonical) == pair.task if pair.task else pair.canonical == ""
    True
"""

from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import NamedTuple

from hagent.language import lexicon
from hagent.language.task import (
    COLORS,
    AvoidHazard,
    AvoidRegion,
    Both,
    ForbidAction,
    GoTo,
    Guardrail,
    ObjectRef,
    Open,
    PickUp,
    PutNext,
    RegionRef,
    Sequence,
    Task,
    all_of,
    in_order,
)


@dataclass(frozen=True)
class Phrasings:
    """A bank of ways to say each part of an instruction. Templates use {o} (an object), {a}
    and {b} (two objects or two clauses), {r} (a room), {c} (a colour) and {k} (a kind)."""

    lead: tuple[str, ...]  # before the whole instruction ("could you"); "" for none
    tail: tuple[str, ...]  # after it (", please"); "" for none
    goto: tuple[str, ...]  # "go to {o}"
    pickup: tuple[str, ...]  # "pick up {o}"
    open: tuple[str, ...]  # "open {o}"
    put: tuple[str, ...]  # "put {a} next to {b}"
    colored: tuple[str, ...]  # "the {c} {k}", "the {k} that is {c}"
    plain: tuple[str, ...]  # "the {k}"
    kinds: dict[str, tuple[str, ...]]  # kind (or "object") -> words for it
    locations: dict[str, tuple[str, ...]]  # "front" -> "in front of you", ...
    both: tuple[str, ...]  # "{a} and {b}"
    then: tuple[str, ...]  # "{a}, then {b}"
    lava: tuple[str, ...]  # "avoid lava"
    region: tuple[str, ...]  # "stay out of {r}"
    room: tuple[str, ...]  # "the {c} room" ({c}: a colour or a place)
    places: dict[str, tuple[str, ...]]  # "top-left" -> "top left", "north-west", ...
    forbid: dict[str, tuple[str, ...]]  # "open" -> "don't open any doors", ...
    guard_after: tuple[str, ...]  # "{a}, {b}": goal then guardrail
    guard_before: tuple[str, ...]  # "{b} and {a}": guardrail then goal
    typo: float  # chance of one edit in one word
    none: tuple[str, ...]  # texts that are not instructions (their reading is "")
    colors: dict[str, tuple[str, ...]] = field(default_factory=dict)  # "red" -> "red", "scarlet", ...; none: its name

    @classmethod
    def load(cls, path: str | Path) -> Phrasings:
        """A bank from a JSON file with one key per field (`colors` may be left out)."""
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        names = {f.name for f in fields(cls)}
        if not names - {"colors"} <= set(raw) <= names:
            raise ValueError(f"{path}: a phrasing bank needs the keys {sorted(names - {'colors'})} and may have 'colors'")
        return cls(**{k: v if isinstance(v, float) else _tuples(v) for k, v in raw.items()})

    def phrases(self) -> set[str]:
        """Every phrasing in the bank (templates and words), to check banks don't share any."""
        out: set[str] = set()
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, dict):
                out.update(p for ps in value.values() for p in ps)
            elif isinstance(value, tuple):
                out.update(value)
        return out - {""}


def _tuples(value: list | dict) -> tuple | dict:
    return {k: tuple(v) for k, v in value.items()} if isinstance(value, dict) else tuple(value)


class Pair(NamedTuple):
    """A text and its canonical reading (task None and canonical "" for a non-instruction)."""

    text: str
    canonical: str
    task: Task | None


# -- random tasks ------------------------------------------------------------------------------

_PLACES = ("top-left", "top", "top-right", "left", "centre", "right", "bottom-left", "bottom", "bottom-right")


def random_object(rng: random.Random, kinds: tuple[str, ...] = ("ball", "box", "key")) -> ObjectRef:
    """An object description: mostly coloured, now and then placed relative to the agent."""
    kind = rng.choice(kinds) if rng.random() > 0.05 else None
    color = rng.choice(COLORS) if rng.random() < 0.8 else None
    location = rng.choice(("front", "behind", "left", "right")) if rng.random() < 0.08 else None
    return ObjectRef(kind, color, location)


def random_action(rng: random.Random) -> GoTo | PickUp | Open | PutNext:
    """One goal action of any of the four verbs."""
    r = rng.random()
    if r < 0.4:
        kinds = ("ball", "box", "key", "door", "goal") if rng.random() < 0.3 else ("ball", "box", "key")
        return GoTo(random_object(rng, kinds))
    if r < 0.7:
        return PickUp(random_object(rng))
    if r < 0.85:
        return Open(ObjectRef("door", rng.choice(COLORS) if rng.random() < 0.85 else None))
    return PutNext(random_object(rng), random_object(rng, ("ball", "box", "key", "door")))


def random_guardrail(rng: random.Random) -> Guardrail:
    """Avoid lava, stay out of a room, or forbid one of the world's actions."""
    r = rng.random()
    if r < 0.45:
        return AvoidHazard("lava")
    if r < 0.75:
        if rng.random() < 0.5:
            return AvoidRegion(RegionRef(color=rng.choice(COLORS)))
        return AvoidRegion(RegionRef(position=rng.choice(_PLACES)))
    return ForbidAction(rng.choice(("open", "pickup", "drop", "toggle")))


def random_task(rng: random.Random) -> Task:
    """A task of 1-3 actions (in any order or in order) and 0-2 guardrails, or guardrails alone."""
    n_guards = rng.choices((0, 1, 2), (0.55, 0.35, 0.10))[0]
    guards = tuple(dict.fromkeys(random_guardrail(rng) for _ in range(n_guards)))
    if guards and rng.random() < 0.06:
        return Task(None, guards)
    actions = [random_action(rng) for _ in range(rng.choices((1, 2, 3), (0.65, 0.27, 0.08))[0])]
    steps: list[list] = [[actions[0]]]
    for action in actions[1:]:
        if rng.random() < 0.4:
            steps[-1].append(action)
        else:
            steps.append([action])
    return Task(in_order(*(all_of(*step) for step in steps)), guards)


# -- saying a task -----------------------------------------------------------------------------


def say(task: Task, bank: Phrasings, rng: random.Random) -> str:
    """`task` in the words of `bank`, with a chance of one typo."""
    parts = [] if task.goal is None else [_goal(task.goal, bank, rng)]
    for g in task.guardrails:
        guard = _guardrail(g, bank, rng)
        if not parts:
            parts = [guard]
        elif rng.random() < 0.7:
            parts = [rng.choice(bank.guard_after).format(a=parts[0], b=guard)]
        else:
            parts = [rng.choice(bank.guard_before).format(a=parts[0], b=guard)]
    text = " ".join(filter(None, (rng.choice(bank.lead), parts[0]))) + rng.choice(bank.tail)
    if rng.random() < bank.typo:
        text = typo(text, rng)
    return text


def paraphrase(rng: random.Random, bank: Phrasings, none_fraction: float = 0.08) -> Pair:
    """A random pair: mostly a task said in `bank`'s words, sometimes a non-instruction."""
    if rng.random() < none_fraction:
        text = rng.choice(bank.none)
        return Pair(typo(text, rng) if rng.random() < bank.typo else text, "", None)
    task = random_task(rng)
    return Pair(say(task, bank, rng), task.describe(), task)


def typo(text: str, rng: random.Random) -> str:
    """`text` with one edit (delete, insert, substitute or swap letters) in one word of 4+ letters."""
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    w, j = words[i], rng.randrange(len(words[i]) - 1)
    letter = rng.choice(string.ascii_lowercase)
    match rng.randrange(4):
        case 0:
            w = w[:j] + w[j + 1 :]
        case 1:
            w = w[:j] + letter + w[j:]
        case 2:
            w = w[:j] + letter + w[j + 1 :]
        case _:
            w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    words[i] = w
    return " ".join(words)


def _object(ref: ObjectRef, bank: Phrasings, rng: random.Random) -> str:
    kind = rng.choice(bank.kinds[ref.kind or "object"])
    if ref.color:
        text = rng.choice(bank.colored).format(c=_color(ref.color, bank, rng), k=kind)
    else:
        text = rng.choice(bank.plain).format(k=kind)
    if ref.location:
        text += " " + rng.choice(bank.locations[ref.location])
    return text


def _color(color: str, bank: Phrasings, rng: random.Random) -> str:
    if color in bank.colors:
        return rng.choice(bank.colors[color])
    return "gray" if color == "grey" and rng.random() < 0.3 else color


def _action(action: GoTo | PickUp | Open | PutNext, bank: Phrasings, rng: random.Random) -> str:
    match action:
        case GoTo(obj):
            # {x}: a made-up verb: whatever moves "to" an object goes to it.
            return rng.choice(bank.goto).format(o=_object(obj, bank, rng), x=_made_up(rng))
        case PickUp(obj):
            return rng.choice(bank.pickup).format(o=_object(obj, bank, rng))
        case Open(obj):
            return rng.choice(bank.open).format(o=_object(obj, bank, rng))
        case PutNext(move, fixed):
            return rng.choice(bank.put).format(a=_object(move, bank, rng), b=_object(fixed, bank, rng))
    raise TypeError(f"not an action: {action!r}")


def _goal(goal: object, bank: Phrasings, rng: random.Random) -> str:
    match goal:
        case Both(a, b):
            return rng.choice(bank.both).format(a=_action(a, bank, rng), b=_goal(b, bank, rng))
        case Sequence(first, second):
            return rng.choice(bank.then).format(a=_goal(first, bank, rng), b=_goal(second, bank, rng))
    return _action(goal, bank, rng)  # type: ignore[arg-type]


def _guardrail(g: Guardrail, bank: Phrasings, rng: random.Random) -> str:
    match g:
        case AvoidHazard():
            return rng.choice(bank.lava)
        case AvoidRegion(region):
            name = _color(region.color, bank, rng) if region.color else rng.choice(bank.places[region.position or "centre"])
            return rng.choice(bank.region).format(r=rng.choice(bank.room).format(c=name))
        case ForbidAction(action):
            return rng.choice(bank.forbid[action])
    raise TypeError(f"not a guardrail: {g!r}")


# -- the training bank ---------------------------------------------------------------------------


def _mostly(own: tuple[str, ...], concept: str) -> tuple[str, ...]:
    """`own` words for about half the draws, the lexicon's other training words for the rest."""
    others = tuple(w for w in lexicon.words(concept, "training") if w not in own)
    return own * max(1, len(others) // len(own)) + others


TRAINING = Phrasings(
    lead=("i would love for you to", "would you kindly", "could you maybe", "hey buddy,", "please, please", "if it's not too much trouble,", "i'm asking nicely:", "could i ask you to", "you ought to", "go on and", "", "", "", "", "please", "could you", "can you", "would you", "i'd like you to", "i want you to",
          "you should", "go ahead and", "now", "okay", "hey", "try to", "i need you to", "kindly", "please just",
          "could you please", "can you please", "it would be great if you could", "your task is to", "ok so",
          "alright,", "let's", "quickly"),
    tail=(" thank you very much", ", if you would", " quickly please", ", would you?", " i beg you", " without delay", "", "", "", "", ", please", " please", " for me", " thanks", ", thank you", " now", ".", "!", " quickly",
          " if you can", " asap", " please.", " ok?"),
    goto=("{x} to {o}", "{x} over to {o}", "{x} up to {o}", "run over to {o}", "rush to {o}", "dash over to {o}", "wander over to {o}", "stroll to {o}", "go up close to {o}", "get near {o}", "position yourself next to {o}", "go right to {o}", "seek {o}", "go look for {o}", "search for {o}", "track down {o}", "drive to {o}", "zoom to {o}", "go to {o}", "walk to {o}", "head for {o}", "head to {o}", "find {o}", "get to {o}", "move to {o}",
          "reach {o}", "go over to {o}", "approach {o}", "navigate to {o}", "make your way to {o}", "go find {o}",
          "walk over to {o}", "go up to {o}", "go next to {o}", "stand next to {o}", "go and stand by {o}",
          "visit {o}", "get close to {o}", "go towards {o}", "move next to {o}",
          # WordNet's training words, and constructions the held-out banks don't use
          "speed to {o}", "speed over to {o}", "draw close to {o}", "come on over to {o}",
          "try walking to {o}", "start heading to {o}", "how about going to {o}", "can you try moving to {o}",
          "{o}, go to it", "{o}: approach it", "{o} is where you should go",
          "i need you next to {o}", "go and stand beside {o} for me", "run along to {o}", "head straight for {o}"),
    pickup=("nab {o}", "grab up {o}", "go take {o}", "get {o} for me", "pick out {o}", "pocket {o}", "carry {o}", "hold {o}", "go and take {o}", "pick up {o} and hold it", "pick up {o}", "grab {o}", "fetch {o}", "get {o}", "take {o}", "collect {o}", "pick {o} up",
            "go get {o}", "bring me {o}", "lift {o}", "take hold of {o}", "go pick up {o}", "snag {o}",
            "get hold of {o}", "retrieve {o}", "pick up {o} from the floor",
            "clutch {o}", "catch {o}", "prehend {o}", "catch hold of {o}", "clutch onto {o}",
            "how about grabbing {o}", "try picking up {o}", "start by taking {o}", "{o} - get it", "{o}, pick it up",
            "{o} needs picking up", "get {o} picked up", "bring {o} back to me"),
    open=("pull open {o}", "go unlock {o}", "try to open {o}", "open {o} wide", "crack open {o}", "open {o}", "unlock {o}", "open up {o}", "go open {o}", "swing open {o}", "get {o} open",
          "reopen {o}", "click open {o}", "try opening {o}", "how about opening {o}", "{o}, open it up", "{o} needs opening", "get {o} unlocked and open"),
    put=("position {a} next to {b}", "drop off {a} by {b}", "park {a} beside {b}", "stick {a} next to {b}", "put down {a} next to {b}", "move {a} so it is next to {b}", "put {a} next to {b}", "place {a} beside {b}", "move {a} next to {b}", "set {a} by {b}",
         "drop {a} next to {b}", "put {a} near {b}", "bring {a} next to {b}", "carry {a} over to {b}",
         "take {a} to {b}", "put {a} close to {b}", "place {a} right next to {b}",
         "lay {a} next to {b}", "lay {a} by {b}", "try putting {a} next to {b}", "how about placing {a} by {b}",
         "{a} needs to go next to {b}", "get {a} placed next to {b}"),
    colored=("the {k} painted {c}", "the {k} that looks {c}", "a {k} painted {c}", "the {c} {k} there", "one of the {c} {k}s", "the {c} {k}", "the {c} {k}", "a {c} {k}", "{c} {k}", "the {k} that is {c}", "a {k} that is {c}",
             "the {c} coloured {k}", "that {c} {k}", "the {k} which is {c}", "the {c} one, the {k}"),
    plain=("the {k}", "a {k}", "{k}", "that {k}", "any {k}"),
    kinds={"ball": _mostly(("ball", "sphere"), "ball"), "box": _mostly(("box",), "box"), "key": _mostly(("key",), "key"),
           "door": _mostly(("door",), "door"), "goal": ("goal", "goal square", "goal tile"), "object": ("object", "thing", "item")},
    colors={c: _mostly((c,), c) for c in COLORS},
    locations={"front": ("in front of you", "ahead of you"), "behind": ("behind you", "at your back"),
               "left": ("on your left", "to your left"), "right": ("on your right", "to your right")},
    both=("{a} and {b}", "{a} and also {b}", "{a}, and {b}", "{a} as well as {b}", "{a} and {b} in any order",
          "{a}, and likewise {b}", "{a}, and {b} too", "{a}; besides, {b}", "{a} and {b}, whichever first"),
    then=("{a}, then {b}", "{a} and then {b}", "{a} then {b}", "{a}. after that, {b}", "first {a}, then {b}",
          "{a}, and after that {b}", "{a}, next {b}", "{a}; then {b}", "{a}, afterwards {b}",
          "{a}, afterward {b}", "{a} and later {b}", "{a}. after you have, {b}", "{a}; when that's finished, {b}"),
    lava=("avoid the hot lava", "lava must be avoided", "keep out of lava", "don't cross the lava", "never set foot on lava", "don't you dare touch lava", "avoid lava", "avoid the lava", "stay away from lava", "don't step on lava", "keep off the lava",
          "don't touch the lava", "never walk into lava", "steer clear of the lava", "stay out of the lava",
          "do not enter the lava", "keep clear of lava", "no lava", "lava is dangerous, avoid it",
          "watch out for lava", "without touching lava", "don't go in the lava", "shun the lava", "shun lava"),
    region=("don't step into {r}", "do not walk through {r}", "keep well away from {r}", "{r} must be avoided", "stay out of {r}", "don't enter {r}", "keep out of {r}", "avoid {r}", "never go into {r}",
            "do not go in {r}", "stay away from {r}", "don't set foot in {r}", "without entering {r}", "shun {r}"),
    room=("the {c} room", "the {c} room", "the room that is {c}"),
    places={"top-left": ("top-left", "top left", "upper left", "north-west"), "top": ("top", "upper", "north"),
            "top-right": ("top-right", "top right", "upper right", "north-east"), "left": ("left", "west"),
            "centre": ("centre", "middle", "center"), "right": ("right", "east"),
            "bottom-left": ("bottom-left", "bottom left", "lower left", "south-west"),
            "bottom": ("bottom", "lower", "south"),
            "bottom-right": ("bottom-right", "bottom right", "lower right", "south-east")},
    forbid={"open": ("don't open any doors", "do not open doors", "never open a door", "keep the doors closed",
                     "leave the doors shut", "no opening doors", "without opening any doors"),
            "pickup": ("don't pick anything up", "do not pick up anything", "never pick up any objects",
                       "don't grab anything", "no picking things up", "without picking anything up"),
            "drop": ("don't drop anything", "never drop anything", "don't put anything down", "no dropping things"),
            "toggle": ("don't toggle anything", "never toggle anything", "no toggling")},
    guard_after=("{a}, {b}", "{a} and {b}", "{a} but {b}", "{a}; {b}", "{a}, and {b}", "{a} while you {b}",
                 "{a}. {b}", "{a}, but {b}"),
    guard_before=("{b} and {a}", "{b}, {a}", "{b}; {a}", "{b}. {a}", "{b}, and {a}"),
    typo=0.3,
    none=("hello", "hi there", "how are you", "what is your name", "tell me a joke", "what's the weather like",
          "thank you", "good morning", "who made you", "sing a song", "fly to the moon", "cook dinner",
          "asdf qwerty", "the the the", "blue", "i like turtles", "do a barrel roll",
          "what time is it", "open the window", "call my mother", "dance", "write a poem about doors",
          "how many rooms are there", "is the ball red", "nothing", "never mind", "stop", "what can you do",
          "print hello world", "jump", "swim across the lake", "eat the apple", "drive to work",
          # questions and remarks that name things but ask for nothing
          "is there a red ball", "do you see the key", "where is the blue box", "what colour is the door",
          "i see a green key", "there is a box over there", "nice ball", "which door is open", "how far is the ball",
          "did you find the key", "the purple box is big", "are there any doors", "what is a key for"),
)


# -- noise: what training adds so that words it never saw read as noise ---------------------------

# Common words that carry no instruction (no colour, kind, verb, joining or negating word).
NOISE_WORDS = (
    "just", "very", "maybe", "actually", "basically", "simply", "gently", "carefully", "slowly",
    "happily", "honestly", "totally", "surely", "definitely", "little", "big", "small", "nice", "shiny",
    "new", "lovely", "pretty", "there", "um", "uh", "er", "like", "well", "so", "oh", "yeah",
    "friend", "buddy", "robot", "agent", "mate", "sir", "dude", "today", "again",
    "same", "other", "funny", "weird", "strange", "exactly", "precisely", "cool", "great", "awesome", "fine",
    "good", "bad", "hmm", "wow", "look", "see", "think", "guess", "mean", "know", "want", "need",
    "would", "could", "should", "might", "must", "will", "shall", "can", "may", "please", "thanks",
    "quite", "rather", "somewhat", "probably", "perhaps", "certainly", "of", "course", "indeed",
    "anyway", "meanwhile", "earlier", "quick", "fast", "slow", "bright", "dull", "round", "square",
)  # fmt: skip
_SYLLABLES = tuple(c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou") + ("str", "th", "sh", "ch")


# Fillers that say "you" without placing anything relative to the agent.
NOISE_PHRASES = ("if you like", "you know", "as fast as you can", "after you are finished", "you see", "for you",
                 "thank you kindly", "if you would be so good", "i think you can", "you are great", "if you want",
                 "do you understand", "you got it", "like i told you")  # fmt: skip


def _made_up(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 3)))


def noise_word(rng: random.Random) -> str:
    """A common filler word or phrase, or a made-up word (1-3 syllables)."""
    r = rng.random()
    if r < 0.4:
        return rng.choice(NOISE_WORDS)
    if r < 0.55:
        return rng.choice(NOISE_PHRASES)
    return _made_up(rng)


def add_noise(text: str, rng: random.Random, words: int) -> str:
    """`text` with `words` noise words inserted at random places."""
    parts = text.split(" ")
    for _ in range(words):
        parts.insert(rng.randrange(len(parts) + 1), noise_word(rng))
    return " ".join(parts)


def word_salad(rng: random.Random) -> str:
    """A non-instruction of 1-8 noise words."""
    return " ".join(noise_word(rng) for _ in range(rng.randint(1, 8)))
