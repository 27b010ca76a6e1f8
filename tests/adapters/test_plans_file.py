"""The plans file: built-in defaults, overrides, new plans, and every malformation named."""

from pathlib import Path

import pytest

from adapters.outbound.plans_file import PlanFileError, load_plans
from domain.plan import PlanCatalog


def write_plans(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plans.toml"
    path.write_text(text, encoding="utf-8")
    return path


def policy(catalog: PlanCatalog, name: str) -> tuple[int, bool]:
    found = catalog.get(name).auditlog
    return found.retention.days, found.can_download


def load_error(path: Path) -> str:
    with pytest.raises(PlanFileError) as raised:
        load_plans(path)
    message = str(raised.value)
    assert str(path) in message
    return message


BUILT_INS = {"free": (7, False), "pro": (90, True), "enterprise": (365, True)}


def test_without_a_file_the_built_in_plans_apply() -> None:
    catalog = load_plans(None)

    assert {p.name: policy(catalog, p.name) for p in catalog.all()} == BUILT_INS


def test_an_empty_file_keeps_the_built_in_plans(tmp_path: Path) -> None:
    catalog = load_plans(write_plans(tmp_path, ""))

    assert {p.name: policy(catalog, p.name) for p in catalog.all()} == BUILT_INS


def test_overriding_retention_of_a_built_in_keeps_its_download_right_and_the_others(
    tmp_path: Path,
) -> None:
    path = write_plans(tmp_path, "[plans.pro.auditlog]\nretention_days = 30\n")

    catalog = load_plans(path)

    assert {p.name: policy(catalog, p.name) for p in catalog.all()} == {
        **BUILT_INS,
        "pro": (30, True),
    }


def test_overriding_download_right_of_a_built_in_keeps_its_retention(tmp_path: Path) -> None:
    path = write_plans(tmp_path, "[plans.free.auditlog]\ncan_download = true\n")

    assert policy(load_plans(path), "free") == (7, True)


def test_a_new_plan_with_both_keys_is_added_beside_the_built_ins(tmp_path: Path) -> None:
    path = write_plans(
        tmp_path, "[plans.gold.auditlog]\nretention_days = 180\ncan_download = false\n"
    )

    catalog = load_plans(path)

    assert {p.name: policy(catalog, p.name) for p in catalog.all()} == {
        **BUILT_INS,
        "gold": (180, False),
    }


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ("retention_days = 30\n", "plans.gold.auditlog.can_download"),
        ("can_download = true\n", "plans.gold.auditlog.retention_days"),
    ],
)
def test_a_new_plan_missing_a_key_is_rejected_naming_the_key(
    tmp_path: Path, body: str, missing: str
) -> None:
    path = write_plans(tmp_path, "[plans.gold.auditlog]\n" + body)

    message = load_error(path)

    assert missing in message
    assert "required" in message


@pytest.mark.parametrize("value", ["0", "-5", "1.5", '"90"', "true", "36501"])
def test_a_retention_that_is_not_a_positive_whole_number_of_days_is_rejected(
    tmp_path: Path, value: str
) -> None:
    path = write_plans(tmp_path, f"[plans.pro.auditlog]\nretention_days = {value}\n")

    assert "plans.pro.auditlog.retention_days" in load_error(path)


def test_a_bad_retention_on_a_new_plan_names_that_plan(tmp_path: Path) -> None:
    path = write_plans(
        tmp_path, "[plans.gold.auditlog]\nretention_days = -5\ncan_download = true\n"
    )

    assert "plans.gold.auditlog.retention_days" in load_error(path)


@pytest.mark.parametrize("value", ['"yes"', "1", "0"])
def test_a_download_right_that_is_not_a_boolean_is_rejected(tmp_path: Path, value: str) -> None:
    path = write_plans(tmp_path, f"[plans.pro.auditlog]\ncan_download = {value}\n")

    assert "plans.pro.auditlog.can_download" in load_error(path)


def test_an_unknown_key_in_a_policy_is_rejected_naming_its_table_not_the_key(
    tmp_path: Path,
) -> None:
    path = write_plans(tmp_path, "[plans.pro.auditlog]\nretention_day = 30\n")

    message = load_error(path)

    assert (
        "plans.pro.auditlog has a key other than can_download, can_stream, retention_days"
        in message
    )
    assert "retention_day " not in message
    assert not message.endswith("retention_day")


def test_an_unknown_top_level_key_is_rejected_without_quoting_it(tmp_path: Path) -> None:
    path = write_plans(tmp_path, "[Zm9vYmFyc2VjcmV0.pro.auditlog]\nretention_days = 30\n")

    message = load_error(path)

    assert "has a top-level key other than 'plans'" in message
    assert "Zm9vYmFyc2VjcmV0" not in message


def test_plans_that_is_not_a_table_is_rejected(tmp_path: Path) -> None:
    path = write_plans(tmp_path, "plans = 3\n")

    message = load_error(path)

    assert f"{path}: plans " in message


@pytest.mark.parametrize(
    "text",
    [
        "[plans.pro]\nretention_days = 30\n",
        "[plans]\npro = 3\n",
        "[plans.pro.auditlog]\nretention_days = 30\n[plans.pro.billing]\ncurrency = 'EUR'\n",
        "[plans.pro]\n",
    ],
    ids=["keys-beside-auditlog", "not-a-table", "extra-table", "empty-table"],
)
def test_a_plan_must_hold_exactly_an_auditlog_table(tmp_path: Path, text: str) -> None:
    path = write_plans(tmp_path, text)

    message = load_error(path)

    assert "plans.pro" in message
    assert "auditlog" in message


def test_an_auditlog_that_is_not_a_table_is_rejected(tmp_path: Path) -> None:
    path = write_plans(tmp_path, "[plans.pro]\nauditlog = 3\n")

    assert "plans.pro.auditlog" in load_error(path)


@pytest.mark.parametrize("name", ["Gold Plan", "Gold", "-gold", ""])
def test_an_invalid_plan_name_is_rejected(tmp_path: Path, name: str) -> None:
    path = write_plans(
        tmp_path, f'[plans."{name}".auditlog]\nretention_days = 30\ncan_download = true\n'
    )

    message = load_error(path)

    assert f"{path}: plans holds a plan name that must be" in message
    assert name == "" or name not in message


def test_malformed_toml_is_rejected_as_not_valid_toml(tmp_path: Path) -> None:
    path = write_plans(tmp_path, "[plans.pro.auditlog\nretention_days = = 30\n")

    assert "is not valid TOML" in load_error(path)


def test_a_missing_file_is_rejected_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent" / "plans.toml"

    assert "cannot be read" in load_error(path)


def test_a_file_that_is_not_utf8_is_rejected_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "plans.toml"
    path.write_bytes(b"[plans.pro.auditlog]\n# caf\xe9\nretention_days = 30\n")

    load_error(path)


@pytest.mark.parametrize(
    "value", ['"alk_9f86d081884c7d65_QE9FQWK6wMY95kQareXrrzT9SJWGrCUqmvg1TLL2NgQ"', "-7777777"]
)
def test_a_refused_retention_is_named_but_never_quoted(tmp_path: Path, value: str) -> None:
    path = write_plans(
        tmp_path, f"[plans.gold.auditlog]\nretention_days = {value}\ncan_download = true\n"
    )

    message = load_error(path)

    assert "plans.gold.auditlog.retention_days" in message
    assert value.strip('"') not in message


def test_streams_are_in_pro_and_enterprise_but_not_free() -> None:
    catalog = load_plans(None)
    assert {p.name: p.auditlog.can_stream for p in catalog.all()} == {
        "free": False,
        "pro": True,
        "enterprise": True,
    }


def test_a_file_can_give_or_take_streams_and_keeps_the_other_keys(tmp_path: Path) -> None:
    path = write_plans(
        tmp_path,
        "[plans.free.auditlog]\ncan_stream = true\n[plans.pro.auditlog]\ncan_stream = false\n",
    )
    catalog = load_plans(path)
    assert catalog.get("free").auditlog.can_stream
    assert not catalog.get("pro").auditlog.can_stream
    assert policy(catalog, "pro") == (90, True)


def test_a_new_plan_written_before_streams_existed_has_none(tmp_path: Path) -> None:
    path = write_plans(
        tmp_path, "[plans.team.auditlog]\nretention_days = 30\ncan_download = true\n"
    )
    assert not load_plans(path).get("team").auditlog.can_stream


@pytest.mark.parametrize("value", ['"yes"', "1", "[]"])
def test_a_stream_right_that_is_not_a_boolean_is_rejected(tmp_path: Path, value: str) -> None:
    path = write_plans(tmp_path, f"[plans.pro.auditlog]\ncan_stream = {value}\n")
    assert "plans.pro.auditlog.can_stream must be true or false" in load_error(path)
