"""The setting ``info_file``: read once at start-up, a small JSON object or a one-line refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from mistral_core.bootstrap import INFO_FILE_MAX_BYTES, api_options, read_info_file
from mistral_core.config import Settings
from mistral_core.errors import InputError


def test_the_file_is_the_document(tmp_path: Path) -> None:
    path = tmp_path / "info.json"
    path.write_text('{"build": "2026.12", "nested": {"a": [1, 2]}}')

    options = api_options(Settings(info_file=str(path), report_max_entries=7))

    assert options.info == {"build": "2026.12", "nested": {"a": [1, 2]}}
    assert options.report_max_entries == 7
    assert options.allow_action_execution_deletion is False


def test_without_the_setting_info_is_off() -> None:
    assert api_options(Settings()).info is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[1, 2]", "must hold a JSON object, not list"),
        (b'{"a": NaN}', "NaN is not a JSON number"),
        (b"{nope", "cannot read"),
        (b'{"a": "\xff"}', "cannot read"),
        (b'{"a": "' + b"x" * INFO_FILE_MAX_BYTES + b'"}', f"is over {INFO_FILE_MAX_BYTES} bytes"),
    ],
)
def test_a_bad_file_is_refused_in_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "info.json"
    path.write_bytes(content)

    with pytest.raises(InputError) as refused:
        read_info_file(str(path))

    assert message in refused.value.message
    assert "\n" not in refused.value.message


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="setting info_file: cannot read"):
        read_info_file(str(tmp_path / "missing.json"))


def test_the_cap_must_be_positive() -> None:
    with pytest.raises(InputError, match="report_max_entries must be at least 1"):
        Settings.load({"report_max_entries": 0}, environ={})
