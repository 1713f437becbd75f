"""The limits of one ``symnet.verify`` call: a clock, and the error that names a limit.

Every step of a check is bounded by an estimate of its size before it starts; the
clock (processor time) is the backstop. ``VerifyLimitError`` is what verify raises instead of a
verdict that would rest on too little, with ``limit`` naming which limit.

>>> budget = Budget(60)
>>> budget.check("deriving")  # well within the minute: nothing happens
>>> try:
...     Budget(0).check("evaluating")
... except VerifyLimitError as error:
...     print(error.limit)
time
"""

import time

from ..errors import TooLargeError, VerifyLimitError  # noqa: F401 - defined with the others

__all__ = ["VerifyLimitError", "Budget", "TIME_LIMIT"]

TIME_LIMIT = 2.5           # seconds for one verify call, derivation included (CLI: + ~2 s start)


class Budget:
    """A budget of processor time for one verify call; ``check`` raises ``VerifyLimitError``
    once it is spent.

    Processor time, not the wall clock: the work verify does is what is bounded, and a
    machine busy with other programs does not turn a verdict into a refusal.
    """

    def __init__(self, seconds=TIME_LIMIT):
        self.seconds = seconds
        self.deadline = time.process_time() + seconds
        self.doing = "verifying"

    def check(self, doing=None):
        if doing is not None:
            self.doing = doing
        if time.process_time() > self.deadline:
            raise VerifyLimitError(
                "time", f"the time limit of {self.seconds:g} s was reached while {self.doing} "
                "(give time_limit=... for more)")

    def left(self):
        return self.deadline - time.process_time()
