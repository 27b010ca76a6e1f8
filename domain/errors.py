"""Errors the domain raises when a rule is broken."""


class DomainError(Exception):
    """Base of every rule violation the domain reports."""


class InvalidField(DomainError):
    """A value does not satisfy the rule for its field; nothing may be stored."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class UnknownPlan(DomainError):
    """A plan name that the plan catalog does not define."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown plan {name!r}")
        self.name = name
