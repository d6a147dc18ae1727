"""The application behind the consumer: an account that each processed message pays 10 into.

With the "add" operation every payment credits the account, so a duplicate over-credits; with
"idempotent" the payment #id is applied once and a duplicate is harmless. A message pays when it
is processed, or under state-machine ordering when its lifecycle transition applies (so a
duplicate rejected by the state machine pays nothing). The account is a database: it survives a
consumer crash.
"""

from __future__ import annotations

PAYMENT = 10


class Account:
    def __init__(self, operation: str = "add"):
        self.operation = operation
        self.balance = 0

    def pay(self, msg: int, paid_before: bool) -> int:
        """Apply the payment carried by message ``msg``; return the balance after it.

        ``paid_before`` says whether payment #msg was processed before (the application keeps
        that record with the account).
        """
        if self.operation == "add" or not paid_before:
            self.balance += PAYMENT
        return self.balance


def expected_balance(distinct_sent: int) -> int:
    return PAYMENT * distinct_sent
