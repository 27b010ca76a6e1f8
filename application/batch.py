"""Errors about one item of a batch name its index, so the caller can find it."""

from domain.errors import InvalidField


class BatchItemError(Exception):
    """`cause` concerns `inputs[index]`; the whole batch was refused and nothing stored."""

    def __init__(self, index: int, cause: Exception) -> None:
        super().__init__(f"inputs[{index}]: {cause}")
        self.index = index
        self.cause = cause

    @property
    def field(self) -> str | None:
        """The offending field with its path, e.g. `inputs[3].email`, if it is a field."""
        if isinstance(self.cause, InvalidField):
            return f"inputs[{self.index}].{self.cause.field}"
        return None
