"""The multiple-choice questions of the course, read from the nbgrader sources.

    python tools/quiz.py                   # every question, its key, and the balance figures

A question is a markdown cell whose options are lines ``- **A.** text`` and the answer cell
under it (``answer_<name> = "B"``); its key is the letter the hidden test of the grade cell
after it compares with. ``balance`` measures what a test-wise learner could exploit: how often
the key is the longest option, how often the shortest, and the largest share of one letter.
``wording_rule_score`` plays a test-wise learner who never opened the lessons: pick the option
with the fewest absolute words, breaking ties by the most hedge words.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"

_OPTION = re.compile(r"^\s*[-*]\s+(?:\*\*)?([A-D])\.(?:\*\*)?\s+(.+?)\s*$")
_ANSWER = re.compile(r"^(answer_\w+)\s*=\s*['\"]([A-D])['\"]", re.M)
_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", re.S)
_KEY = re.compile(r"==\s*['\"]([A-D])['\"]")


@dataclass
class Question:
    lesson: str
    name: str            # the answer variable, e.g. answer_q1_why_self_host
    options: dict        # letter -> option text
    key: str             # the letter the hidden test accepts

    @property
    def lengths(self):
        return {k: len(v) for k, v in self.options.items()}


def _source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def parse_options(markdown: str) -> dict:
    """``{letter: text}`` of the option list in a question's markdown (continuation lines
    indented under an option belong to it)."""
    options, current = {}, None
    for line in markdown.splitlines():
        o = _OPTION.match(line)
        if o:
            current = o.group(1)
            options[current] = o.group(2)
        elif current and line.startswith((" ", "\t")) and line.strip():
            options[current] += " " + line.strip()
        else:
            current = None
    return options


def questions_in(path: Path) -> list[Question]:
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    found = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        m = _ANSWER.search(_source(cell))
        if not m:
            continue
        name = m.group(1)
        options = {}
        for prev in reversed(cells[:i]):
            if prev["cell_type"] == "markdown":
                options = parse_options(_source(prev))
                break
        key = None
        for nxt in cells[i + 1:]:
            hidden = _HIDDEN.search(_source(nxt))
            if hidden and name in hidden.group(1):
                keys = _KEY.findall(hidden.group(1))
                key = keys[0] if len(set(keys)) == 1 else None
                break
        found.append(Question(Path(path).stem, name, options, key))
    return found


def all_questions(solutions: Path = SOLUTIONS) -> list[Question]:
    out = []
    for nb in sorted(Path(solutions).glob("[0-9][0-9]_*/[0-9][0-9]_*.ipynb")):
        out.extend(questions_in(nb))
    return out


def balance(questions) -> dict:
    """Shares of questions whose key is the (strictly or jointly) longest / shortest option,
    and the largest share of one letter among the keys."""
    n = len(questions)
    longest = sum(q.lengths[q.key] == max(q.lengths.values()) for q in questions)
    shortest = sum(q.lengths[q.key] == min(q.lengths.values()) for q in questions)
    letters = Counter(q.key for q in questions)
    top, top_n = letters.most_common(1)[0]
    return {
        "n": n,
        "longest_is_key": longest / n,
        "shortest_is_key": shortest / n,
        "top_letter": top,
        "top_letter_share": top_n / n,
        "letters": dict(sorted(letters.items())),
    }


# Words that make an option sound reckless or careful to a reader who does not know the answer.
ABSOLUTE_WORDS = frozenset("""always never any only must guarantee guarantees guaranteed nothing
every all none cannot impossible completely entirely certainly exactly whatever""".split())
HEDGE_WORDS = frozenset("""may might can could often usually some likely about roughly
approximately typically tends depends depend little possibly perhaps suggest suggests
unclear sometimes""".split())
_WORD = re.compile(r"[a-z']+")


def word_counts(text: str) -> tuple[int, int]:
    """(absolute words, hedge words) in an option's text, case-insensitive, code spans too."""
    words = _WORD.findall(text.lower())
    return (sum(w in ABSOLUTE_WORDS for w in words), sum(w in HEDGE_WORDS for w in words))


def wording_pick(question: Question) -> list[str]:
    """The options the wording rule picks: fewest absolute words, then most hedge words.
    More than one letter when the rule cannot separate them."""
    counts = {k: word_counts(v) for k, v in question.options.items()}
    best = min((a, -h) for a, h in counts.values())
    return [k for k, (a, h) in counts.items() if (a, -h) == best]


def wording_rule_score(questions) -> float:
    """Expected share of keys the wording rule finds; a tie it cannot break is a guess among
    the tied options (credit 1/k), so the rule gets no credit for options it cannot tell apart."""
    credit = 0.0
    for q in questions:
        picks = wording_pick(q)
        credit += (q.key in picks) / len(picks)
    return credit / len(questions)


def main(argv=None):
    qs = all_questions()
    for q in qs:
        lens = " ".join(f"{k}{v}" for k, v in q.lengths.items())
        print(f"{q.lesson:<28}{q.name:<36} key {q.key}  lengths {lens}")
    b = balance(qs)
    print(f"\n{b['n']} questions; key is the longest option in {b['longest_is_key']:.0%}, "
          f"the shortest in {b['shortest_is_key']:.0%}; most frequent key letter "
          f"{b['top_letter']} in {b['top_letter_share']:.0%}; letters {b['letters']}; "
          f"the wording rule (fewest absolute words, then most hedges) scores "
          f"{wording_rule_score(qs):.0%} (chance 25%)")


if __name__ == "__main__":
    sys.exit(main())
