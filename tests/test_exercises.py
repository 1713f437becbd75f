"""Every lesson's exercises: the hidden solution verifies, typical wrong answers get their hint.

The questions are ``symnet.teach.exercise_sets.lessonNN``; the solutions and the wrong
answers (with the mistake each must be named as) are ``lessons/solutions/NN_*.toml``,
written by hand. A lesson shows each exercise with an empty box
(``widgets.exercise_box``) and never its solution.
"""
import re
import tomllib
from pathlib import Path

import pytest

from symnet.errors import SymnetError
from symnet.teach.exercise_sets import exercises
from symnet.teach.exercises import Exercise, read_number

LESSONS = Path(__file__).resolve().parents[1] / "lessons"
SOURCES = {int(p.name[:2]): p for p in LESSONS.glob("[0-9][0-9]_*.py")}


def _solutions(number):
    found = sorted((LESSONS / "solutions").glob(f"{number:02d}_*.toml"))
    assert len(found) == 1, f"lessons/solutions/{number:02d}_*.toml: one file per lesson"
    return tomllib.loads(found[0].read_text())["exercise"]


def _lessons_with_exercises():
    return sorted(n for n, p in SOURCES.items() if "exercise_box(" in p.read_text())


CASES = [0] + _lessons_with_exercises()


@pytest.mark.parametrize("number", CASES)
def test_two_or_three_exercises_each_with_a_solution_file_entry(number):
    found = exercises(number)
    assert 2 <= len(found) <= 3
    keys = [e.key for e in found]
    assert keys == [f"{number:02d}.{k}" for k in range(1, len(found) + 1)]
    assert sorted(_solutions(number)) == sorted(keys)


@pytest.mark.parametrize("number", CASES)
def test_solutions_verify_and_wrong_answers_get_the_intended_hint(number):
    solutions = _solutions(number)
    for exercise in exercises(number):
        entry = solutions[exercise.key]
        assert exercise.check("").status == "empty"
        verdict = exercise.check(entry["solution"])
        assert verdict.equal, f"{exercise.key}: the solution does not verify:\n{verdict}"
        assert len(entry["wrong"]) >= 2, f"{exercise.key}: at least two typical wrong answers"
        for wrong in entry["wrong"]:
            verdict = exercise.check(wrong["answer"])
            assert not verdict.equal, f"{exercise.key}: {wrong['answer']!r} accepted"
            assert verdict.mistake == wrong["mistake"], (exercise.key, wrong, str(verdict))
            if exercise.target is not None:  # a formula: a real counterexample is shown
                result = verdict.verification
                shown = next((e for e in result.entries if not e.equal), result)
                assert shown.counterexample is not None or shown.domain_mismatch
                assert shown.formula_value != shown.reference_value


@pytest.mark.parametrize("number", _lessons_with_exercises())
def test_the_lesson_shows_every_exercise_blank_and_no_solution(number):
    text = SOURCES[number].read_text()
    assert re.search(rf"^questions = widgets\.exercises\({number}\)$", text, re.M)
    for k, exercise in enumerate(exercises(number)):
        assert f"widgets.exercise_box(questions[{k}])" in text, \
            f"lesson {number} does not show exercise {exercise.key}"
    for exercise in exercises(number):
        solution = _solutions(number)[exercise.key]["solution"]
        assert f'"{solution}"' not in text and f"'{solution}'" not in text, \
            f"lesson {number} gives away the solution of {exercise.key}"


def test_lesson_10_starts_blank():
    text = SOURCES[10].read_text()
    assert not re.search(r'^answer = "[^"]+"', text, re.M)


def test_the_feedback_does_not_give_the_correct_formula_away():
    exercise = exercises(0)[0]                    # dE/dw_11^(2) = (y_1 - t_1) z_1^(1)
    verdict = exercise.check("(t_1 - y_1) z_1^(1)")
    assert "correct:" not in str(verdict) and "difference" not in str(verdict)
    assert "y_1 - t_1" not in str(verdict) and verdict.mistake == "flip_sign"


def test_unreadable_answers_are_said_so_not_raised():
    exercise = exercises(0)[0]
    assert exercise.check("z_1^(1) +* 2").status == "unreadable"
    assert exercise.check("__import__('os')").status == "unreadable"
    number = exercises(0)[1]
    assert number.check("2**3").status == "unreadable"
    assert number.check("1e999").status == "unreadable"


def test_numbers_are_read_exactly_without_evaluation():
    assert read_number("1/4") == 0.25 and read_number("-3e-2") == -0.03
    with pytest.raises(SymnetError):
        read_number("abs(1)")


def test_an_exercise_needs_a_target_or_a_value():
    with pytest.raises(SymnetError):
        Exercise("x.1", "?", net=None)
    with pytest.raises(SymnetError):
        exercises(99)
