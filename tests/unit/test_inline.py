"""The one-line syntax, read as Mistral 23 reads it (where it keeps what is written, docs/api.md says so)."""

from __future__ import annotations

from typing import Any

import pytest

from mistral_core.errors import LanguageError
from mistral_core.lang.inline import split_inline


@pytest.mark.parametrize(
    ("text", "name", "params"),
    [
        ("std.noop", "std.noop", {}),
        ('std.echo output="a b  c"', "std.echo", {"output": "a b  c"}),
        ("std.echo output='say \"hi\" now'", "std.echo", {"output": 'say "hi" now'}),
        ('std.echo output="it\'s"', "std.echo", {"output": "it's"}),
        ('std.echo output="3"', "std.echo", {"output": "3"}),  # quoted: never JSON
        ("std.echo output='[1, 2]'", "std.echo", {"output": "[1, 2]"}),
        ('std.echo output="a\\nb"', "std.echo", {"output": "a\\nb"}),  # no escapes in quotes
        ("std.echo output=42", "std.echo", {"output": 42}),
        ("std.echo output=1.5", "std.echo", {"output": 1.5}),
        ("std.echo output=-1", "std.echo", {"output": -1}),
        ("std.echo output=true", "std.echo", {"output": True}),
        ("std.echo output=null", "std.echo", {"output": None}),
        ('std.echo output=[1, "two", null]', "std.echo", {"output": [1, "two", None]}),
        ("std.echo output=[a, b]", "std.echo", {"output": "[a, b]"}),  # not JSON: the text
        ('std.echo output={"a": [1]}', "std.echo", {"output": {"a": [1]}}),
        ("std.echo output={a: 1}", "std.echo", {"output": "{a: 1}"}),
        ("std.echo output=hello", "std.echo", {"output": "hello"}),
        ("std.echo output=yes", "std.echo", {"output": "yes"}),  # JSON, not YAML
        ("std.echo output=NaN", "std.echo", {"output": "NaN"}),
        ("std.echo output=1e999", "std.echo", {"output": "1e999"}),
        ('std.echo output=["\\ud800"]', "std.echo", {"output": '["\\ud800"]'}),  # not storable: text
        ("std.echo output=<% $.a + ' x' %> delay=0", "std.echo", {"output": "<% $.a + ' x' %>", "delay": 0}),
        ("std.echo output={{ 1 + 2 }}", "std.echo", {"output": "{{ 1 + 2 }}"}),
        ("fail(msg='my_var value is 1')", "fail", {"msg": "my_var value is 1"}),
        ("fail(msg=<% task() %>)", "fail", {"msg": "<% task() %>"}),
        ('fail(msg="a", code=2)', "fail", {"msg": "a", "code": 2}),
        ('fail msg="failed with <% $.x %>"', "fail", {"msg": "failed with <% $.x %>"}),
        ("<% $.action %> output=<% $.p %>", "<% $.action %>", {"output": "<% $.p %>"}),
        ("{{ _.action }}", "{{ _.action }}", {}),
        ("my-task", "my-task", {}),
    ],
)
def test_values(text: str, name: str, params: dict[str, Any]) -> None:
    assert split_inline(text) == (name, params)


@pytest.mark.parametrize(
    "text",
    ['std.echo output="open', "std.echo output=<% $.x", "std.echo output=[1, 2", "std.echo 42", "a b=1 c"],
)
def test_unreadable_parameters_are_refused(text: str) -> None:
    with pytest.raises(LanguageError):
        split_inline(text)
