"""The lessons' exercises, one module per lesson (``lesson01`` ... ): questions, not answers.

``exercises(3)`` returns lesson 3's ``Exercise`` list, built on the same networks
the lesson uses. The solutions are kept apart, in ``lessons/solutions/NN_name.toml``
(the solution and typical wrong answers with the mistake each should be named as),
so that a learner sees them only by opening that file; ``tests/test_exercises.py``
checks every solution verifies and every wrong answer gets its hint.

Examples
--------
>>> [exercise.key for exercise in exercises(0)]
['00.1', '00.2']
>>> exercises(0)[0].check("(t_1 - y_1) z_1^(1)").mistake
'flip_sign'
"""

import importlib

from ...errors import SymnetError

__all__ = ["exercises", "LESSONS"]

LESSONS = tuple(range(1, 17))


def exercises(lesson):
    """The ``Exercise`` list of lesson ``lesson`` (an int; 0 is this module's example)."""
    if not isinstance(lesson, int) or isinstance(lesson, bool):
        raise SymnetError(f"lesson is a number; got {lesson!r}")
    try:
        module = importlib.import_module(f".lesson{lesson:02d}", __name__)
    except ModuleNotFoundError:
        raise SymnetError(f"lesson {lesson} has no exercises") from None
    return module.exercises()
