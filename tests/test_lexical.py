"""The lexical reader: everyday wordings read through WordNet's concepts, or not read at all."""

from __future__ import annotations

import random

import pytest

from hagent.language import parse, same_task, understand
from hagent.language.lexical import read, words
from hagent.language.paraphrase import TRAINING, paraphrase


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("would you be so kind as to seize the crimson orb", "pick up the red ball"),
        ("i'd be grateful if you would travel over to the violet strongbox", "go to the purple box"),
        ("the greyish latchkey - grab it", "pick up the grey key"),
        ("the key, which is bluish: approach it", "go to the blue key"),
        ("break open the yellowish door, and subsequently fetch a ball", "open the yellow door, then pick up the ball"),
        ("grab the red key after you open the green door", "open the green door, then pick up the red key"),
        ("before you go to the box, pick up the key", "pick up the key, then go to the box"),
        ("pick up the red ball and the blue key", "pick up the red ball and pick up the blue key"),
        ("put the purple one, the ball, next to a grey box", "put the purple ball next to the grey box"),
        ("carry the green key over to the yellow door", "put the green key next to the yellow door"),
        ("go get the tennis ball, and never step on lava", "pick up the ball, avoid lava"),
        ("walk to the box; keep well away from the top-left room", "go to the box, stay out of the top-left room"),
        ("approach the ball without picking anything up", "go to the ball, don't pick anything up"),
        ("go to the blal on your left", "go to the ball on your left"),  # a letter swapped
        ("put the crate which is red in colour beside this key", "put the red box next to the key"),
        ("drop the grey ball by any ball on your right now", "put the grey ball next to the ball on your right"),
        ("the ball - the blue one behind you: pick it up", "pick up the blue ball behind you"),
        ("so here's the thing: travel towards the red key until you're beside it", "go to the red key"),  # not a put
        # English's joining phrases, questions that frame requests, guardrail words from WordNet
        ("open the red door, followed by go and find the box", "open the red door, then go to the box"),
        ("travel to one ball along with get next to this box", "go to the ball and go to the box"),
        ("go to the ball on the left", "go to the ball on your left"),  # the agent is the only one with a left
        ("right, head over to the blue box", "go to the blue box"),  # "right," opens the turn
        ("do me a favour and fetch the key", "pick up the key"),
        ("do you reckon you could hurry to the blue box", "go to the blue box"),
        ("is it possible for you to lay the box beside the green door", "put the box next to the green door"),
        ("what i need is for you to come near the green ball", "go to the green ball"),
        ("go to the key, mind the lava", "go to the key, avoid lava"),
        ("the yellow room is off limits - be careful of the lava", "stay out of the yellow room, avoid lava"),
        ("stay outside the red room and don't let go of anything", "stay out of the red room, don't drop anything"),
        ("take the key and put it next to the box", "put the key next to the box"),  # one put, not a pick-up and a put
        ("take yourself over to the bouncy ball", "go to the ball"),  # what moves is you; "bouncy" says no colour
        ("go pick the box up when you get a chance", "pick up the box"),  # when, not what
        ("if you don't mind, go to a green ball to the right of you", "go to the green ball on your right"),
        ("go to the box. as soon as that's done, open the door", "go to the box, then open the door"),
        ("avoid toggling anything", "don't toggle anything"),  # guardrails alone are a task
    ],
)
def test_everyday_wordings_read_as_their_task(text: str, canonical: str) -> None:
    reading = read(text)
    assert reading.sure, (text, reading.why)
    assert same_task(reading.task, parse(canonical)), (text, reading.task)


@pytest.mark.parametrize(
    "text",
    [
        "fix me a sandwich",  # no concept at all
        "can you see the ball",  # an object and no verb
        "did you find the key",  # a question
        "don't go to the red ball",  # a negated goal the task language can't say
        "walk through lava",  # lava without a word that keeps away from it
        "go opnen the door",  # "go" then a word it doesn't know: maybe a typo of a verb
        "leave the doos shut, then go to the box",  # "doos" is one letter from "door"
        "go to the ball the box",  # two objects for one "go to"
        "open the red door, chased by go and find the box",  # a word it doesn't know may order the two
        "pick up the key to the left of the box",  # another object's left
        "would you mind going to the blorf ball",  # "mind" asks politely here; "blorf" may be anything
        "do you know where the red ball is",  # a question
        "get ovre to the box",  # "get" then a word it doesn't know
        "go to the \U0001f7e5 ball",  # a sign it can't read may be the colour
        "travel to one ball beside get next to this box",  # two actions in one piece
        "scoop up whatever box you find",  # "find" is the relative clause's verb; "scoop up" it doesn't know
        "go to the key, then i need the carton picked up",  # a thing it can't name is not the one before
        "scoop up some carton. never touch the lava",  # not "avoid lava" alone: an action it can't read was asked for
        "leave the box beside the gate",  # "beside" a thing it can't name
        "go to the bed ball",  # a word of English one letter from a colour may be the colour
        "take gyourself over to the ball",  # a word it doesn't know right after the verb
        "go to the ball in the hallway",  # a place it can't read
        "wheqe did the key go",  # a question, the wh-word misspelt
    ],
)
def test_what_it_cannot_read_whole_it_does_not_read(text: str) -> None:
    assert not read(text).sure, (text, read(text))


def test_a_typo_is_forgiven_only_where_it_cannot_be_another_word() -> None:
    roles = {w.text: w.role for w in words("make your way to the wall, then the")}
    assert roles["make"] == "" and roles["wall"] == "" and roles["the"] == ""  # not "take", "ball", "then"
    assert [w.value for w in words("the bule rde ball") if w.role == "colour"] == ["blue", "red"]


def test_a_text_of_known_words_that_asks_for_nothing_is_not_an_instruction() -> None:
    from hagent.language import ParseError

    assert read("can you see the ball").asks_nothing and read("is the key blue").asks_nothing
    assert not read("can you blorf the ball").asks_nothing  # a word it doesn't know: the normalizer may
    with pytest.raises(ParseError, match="asks for nothing") as info:
        understand("can you see the ball")
    assert info.value.refused


def test_understand_tries_the_lexical_reader_before_the_normalizer() -> None:
    task = understand("please seize the crimson orb, then travel to the violet box, and never step on lava")
    assert task.read_by == "lexical" and task.read_as == "pick up the red ball, then go to the purple box, avoid lava"
    assert understand("go to the red ball").read_by == ""  # the grammar's own


def test_on_new_draws_of_the_training_phrasings_it_is_mostly_sure_and_rarely_wrong() -> None:
    # Development seeds of the training bank (the bank the reader's own words come from), not a result.
    rng = random.Random(6_100_000)
    sure = wrong = 0
    for _ in range(400):
        pair = paraphrase(rng, TRAINING)
        reading = read(pair.text)
        if reading.sure:
            sure += 1
            wrong += not same_task(reading.task, pair.task)
    assert sure >= 0.6 * 400 and wrong <= 4, (sure, wrong)


def test_any_text_gets_a_reading_or_a_reason_never_an_exception() -> None:
    rng = random.Random(0)
    vocab = ["go", "to", "the", "red", "ball", "it", "one", "-", ",", "then", "after", "you", "before", "don't", "lava",
             "room", "left", "right", "next", "by", "put", "pick", "up", "and", "🟥", "ümlaut", "'", "of", "back", ":"]
    for _ in range(3000):
        text = " ".join(rng.choice(vocab) for _ in range(rng.randint(0, 12)))
        reading = read(text)
        assert reading.sure or reading.why, text


def test_words_of_english_and_colour_words_come_from_wordnet() -> None:
    from hagent.language import lexicon
    from hagent.language.checks import unread

    assert lexicon.english("bouncy") and lexicon.english("cardboard") and not lexicon.english("blorf")
    assert lexicon.colourish("lemon") and not lexicon.colourish("bouncy")
    assert lexicon.reader_words("forbidden") and ("off", "limits") in lexicon.reader_words("forbidden")
    # the normalizer's concepts are the ones it was trained on: the reader's senses live apart
    assert "beware" not in lexicon.CONCEPTS and len(lexicon.CONCEPTS) == 17
    assert unread("grab the ball in lime green", parse("pick up the green ball")) == ()  # "grab" is not "gray"
    assert unread("go to the bed ball", parse("go to the ball")) == ("red",)
