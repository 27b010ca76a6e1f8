"""Plans from a TOML file (`AUDITLOG_PLANS_FILE`), over the built-in defaults.

    [plans.pro.auditlog]
    retention_days = 90
    can_download = true
    can_stream = true

A plan the file names replaces or adds to the built-ins; a key it leaves out of a built-in
plan keeps the built-in value. Anything malformed stops the service at start, with the
file and key named, because a silently ignored typo would change how long logs are kept.
A message names where the problem is and what is expected, never the value found there (a
key or value that is refused could be a secret pasted into the wrong file).
"""

import tomllib
from pathlib import Path
from typing import Any

from domain import validation
from domain.errors import InvalidField
from domain.plan import DEFAULT_PLANS, Plan, PlanCatalog, plan

_POLICY_KEYS = {"retention_days", "can_download", "can_stream"}
_EXPECTED_POLICY_KEYS = ", ".join(sorted(_POLICY_KEYS))
# Keys added after plan files were first written: a new plan that leaves one out gets this.
_OPTIONAL_POLICY_KEYS = {"can_stream": False}


class PlanFileError(Exception):
    def __init__(self, path: Path, key: str | None, problem: str) -> None:
        where = f"{path}" if key is None else f"{path}: {key}"
        super().__init__(f"plans file {where} {problem}")


def load_plans(path: Path | None) -> PlanCatalog:
    plans = {p.name: p for p in DEFAULT_PLANS}
    if path is not None:
        for name, table in _read_plans_table(path).items():
            plans[name] = _parse_plan(path, name, table, plans.get(name))
    return PlanCatalog(plans.values())


def _read_plans_table(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except OSError as exc:
        raise PlanFileError(path, None, f"cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PlanFileError(path, None, f"is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise PlanFileError(path, None, "is not valid TOML: it is not UTF-8 text") from None
    if set(document) - {"plans"}:
        raise PlanFileError(path, None, "has a top-level key other than 'plans'")
    table = document.get("plans", {})
    if not isinstance(table, dict):
        raise PlanFileError(path, "plans", "must be a table of plans")
    return table


def _parse_plan(path: Path, name: str, table: Any, default: Plan | None) -> Plan:
    try:
        validation.identifier(name, "plan name")
    except InvalidField as exc:
        raise PlanFileError(path, "plans", f"holds a plan name that {exc.problem}") from None
    key = f"plans.{name}"
    if not isinstance(table, dict) or set(table) != {"auditlog"}:
        raise PlanFileError(path, key, "must hold exactly one table, 'auditlog'")
    policy = table["auditlog"]
    if not isinstance(policy, dict):
        raise PlanFileError(path, f"{key}.auditlog", "must be a table")
    if set(policy) - _POLICY_KEYS:
        raise PlanFileError(
            path, f"{key}.auditlog", f"has a key other than {_EXPECTED_POLICY_KEYS}"
        )
    if default is None:
        missing = _POLICY_KEYS - set(policy) - set(_OPTIONAL_POLICY_KEYS)
        if missing:
            raise PlanFileError(
                path, f"{key}.auditlog.{sorted(missing)[0]}", "is required for a new plan"
            )
    inherited: dict[str, Any] = dict(_OPTIONAL_POLICY_KEYS)
    if default is not None:
        inherited = {
            "retention_days": default.auditlog.retention.days,
            "can_download": default.auditlog.can_download,
            "can_stream": default.auditlog.can_stream,
        }
    values: dict[str, Any] = {**inherited, **policy}
    retention_days = values["retention_days"]
    for flag in ("can_download", "can_stream"):
        if not isinstance(values[flag], bool):
            raise PlanFileError(path, f"{key}.auditlog.{flag}", "must be true or false")
    try:
        return plan(
            name,
            retention_days=retention_days,
            can_download=values["can_download"],
            can_stream=values["can_stream"],
        )
    except InvalidField as exc:
        raise PlanFileError(path, f"{key}.auditlog.retention_days", exc.problem) from None
