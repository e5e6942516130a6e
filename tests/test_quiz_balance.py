"""The multiple-choice questions cannot be gamed by the look of their options.

Measured on solutions/ (tools/quiz.py reads every question, its options and the key its hidden
test accepts): the key is the longest option in at most 35 % of the questions, the shortest in
at most 35 % (ties count as longest or shortest: a test-wise learner would pick among them), and
no letter is the key of more than 40 %. The figures are printed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.quiz import (  # noqa: E402
    Question,
    all_questions,
    balance,
    wording_pick,
    wording_rule_score,
)

QUESTIONS = all_questions()


def test_the_course_has_questions():
    assert len(QUESTIONS) >= 8, "every lesson has practice questions"


def test_every_question_is_read_whole():
    for q in QUESTIONS:
        assert sorted(q.options) == list("ABCD"), f"{q.lesson} {q.name}: options {q.options}"
        assert q.key in "ABCD" and q.key, f"{q.lesson} {q.name}: no single key in its hidden test"


def test_options_do_not_give_the_key_away():
    b = balance(QUESTIONS)
    print(f"\n{b['n']} multiple-choice questions: the key is the longest option in "
          f"{b['longest_is_key']:.0%}, the shortest in {b['shortest_is_key']:.0%}; the most "
          f"frequent key letter, {b['top_letter']}, holds {b['top_letter_share']:.0%} "
          f"(letters {b['letters']}); the wording rule scores "
          f"{wording_rule_score(QUESTIONS):.0%}")
    assert b["longest_is_key"] <= 0.35
    assert b["shortest_is_key"] <= 0.35
    assert b["top_letter_share"] <= 0.40


def test_balance_measures_what_it_says():
    # an independent check of the measure on made-up questions
    def q(key, lengths):
        return Question("x", "answer_x", {k: "w" * n for k, n in zip("ABCD", lengths)}, key)

    qs = [q("A", (9, 5, 5, 5)), q("B", (5, 1, 5, 5)), q("C", (5, 5, 7, 5)), q("D", (5, 5, 5, 6))]
    b = balance(qs)
    assert b["longest_is_key"] == 0.75 and b["shortest_is_key"] == 0.25
    assert b["top_letter_share"] == 0.25
    tie = balance([q("A", (5, 5, 5, 5))])
    assert tie["longest_is_key"] == tie["shortest_is_key"] == 1.0


def test_wording_rule_measures_what_it_says():
    # hand-counted: the rule avoids "always"/"must", then prefers "may"/"often"
    def q(key, texts):
        return Question("x", "answer_x", dict(zip("ABCD", texts)), key)

    hedged = q("B", ["It always works.", "It may work.", "It must work.", "It works."])
    assert wording_pick(hedged) == ["B"]
    tied = q("A", ["Loss goes up.", "Loss goes down.", "Only loss.", "Any loss."])
    assert wording_pick(tied) == ["A", "B"]
    reckless = q("C", ["It may help.", "It often helps.", "It always helps.", "It can help."])
    # A/B/D tie on one hedge each: a third of a point each where the key is among them
    assert wording_rule_score([hedged, tied, reckless]) == (1 + 1 / 2 + 0) / 3
