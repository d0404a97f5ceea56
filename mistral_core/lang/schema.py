"""JSON schemas of Mistral's workflow language v2 (the structure; semantics are in spec.py)."""

from __future__ import annotations

from typing import Any

_STR = {"type": "string", "minLength": 1}
_ANY = {"type": ["string", "number", "integer", "boolean", "object", "array", "null"]}
_EXPR_OR_INT = {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "minLength": 1}]}
_EXPR_OR_NUM = {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "minLength": 1}]}
_EXPR_OR_BOOL = {"anyOf": [{"type": "boolean"}, {"type": "string", "minLength": 1}]}
_DICT = {"type": "object"}
_NAMES = {"anyOf": [_STR, {"type": "array", "items": _STR}]}

_CLAUSE_ITEM = {"anyOf": [_STR, {"type": "object", "minProperties": 1, "maxProperties": 1}]}
_SIMPLE_CLAUSE = {"anyOf": [_STR, {"type": "array", "items": _CLAUSE_ITEM}]}
_ADVANCED_CLAUSE = {
    "type": "object",
    "properties": {"publish": _DICT, "next": _SIMPLE_CLAUSE},
    "additionalProperties": False,
}
CLAUSE: dict[str, Any] = {"anyOf": [_SIMPLE_CLAUSE, _ADVANCED_CLAUSE, {"type": "null"}]}

RETRY: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "object",
            "properties": {
                "count": _EXPR_OR_INT,
                "delay": _EXPR_OR_NUM,
                "break-on": _ANY,
                "continue-on": _ANY,
            },
            "required": ["count"],
            "additionalProperties": False,
        },
    ]
}

POLICIES: dict[str, Any] = {
    "pause-before": _EXPR_OR_BOOL,
    "wait-before": _EXPR_OR_NUM,
    "wait-after": _EXPR_OR_NUM,
    "timeout": _EXPR_OR_NUM,
    "heartbeat-timeout": _EXPR_OR_NUM,
    "retry": RETRY,
    "concurrency": _EXPR_OR_INT,
    "fail-on": _ANY,
    "safe-rerun": _EXPR_OR_BOOL,
}

TRANSITIONS = ("on-success", "on-error", "on-complete", "on-skip", "on-timeout")

TASK: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": _STR,
        "type": {"enum": ["direct", "reverse"]},
        "description": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "action": _STR,
        "workflow": _STR,
        "input": {"anyOf": [_DICT, _STR]},
        "publish": {"anyOf": [_DICT, _STR]},
        "publish-on-error": {"anyOf": [_DICT, _STR]},
        "publish-on-skip": {"anyOf": [_DICT, _STR]},
        "with-items": {"anyOf": [_STR, {"type": "array", "items": _STR, "minItems": 1}]},
        "keep-result": _EXPR_OR_BOOL,
        "target": _STR,
        "join": {"anyOf": [{"enum": ["all", "one"]}, {"type": "integer", "minimum": 1}]},
        "requires": _NAMES,
        "output-schema": _DICT,
        **{name: CLAUSE for name in TRANSITIONS},
        **POLICIES,
    },
    "additionalProperties": False,
}

TASK_DEFAULTS: dict[str, Any] = {
    "type": "object",
    "properties": {**{name: CLAUSE for name in TRANSITIONS}, "requires": _NAMES, **POLICIES},
    "additionalProperties": False,
}

_INPUT_ITEM = {"anyOf": [_STR, {"type": "object", "minProperties": 1, "maxProperties": 1}]}

WORKFLOW: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"enum": ["direct", "reverse"]},
        "version": {"anyOf": [{"type": "string"}, {"type": "number"}]},
        "description": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "input": {"type": "array", "items": _INPUT_ITEM},
        "output": _ANY,
        "output-on-error": _ANY,
        "vars": _DICT,
        "task-defaults": TASK_DEFAULTS,
        "tasks": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": TASK,
        },
    },
    "required": ["tasks"],
    "additionalProperties": False,
}
