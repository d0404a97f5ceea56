"""The execution model: states, records, events, commands, queries. Standard library only."""

from mistral_core.model.approvals import ApprovalResponse, ServerSecret
from mistral_core.model.commands import CancelAction, Command, Notify, RunAction
from mistral_core.model.dynamic import CodeSource, DynamicActionDefinition
from mistral_core.model.events import ActionCompleted, ActionHandedOff, CancelNoticed, Event, NotificationSent
from mistral_core.model.flags import EMPTY as EMPTY_FLAGS
from mistral_core.model.flags import ItemCounters, TaskFlags, Trigger, WaitAfter, WaitingItem
from mistral_core.model.history import HistoryEntry, PushOrigin
from mistral_core.model.keys import ApiKey
from mistral_core.model.projects import DEFAULT_PROJECT, EVERY_PROJECT, Viewer
from mistral_core.model.query import Filter, Query
from mistral_core.model.records import (
    DISPATCH_HANDED_OFF,
    DISPATCH_QUEUED,
    DISPATCH_STARTED,
    ActionDefinition,
    ActionExecution,
    CronTrigger,
    Environment,
    TaskExecution,
    Timer,
    Workbook,
    WorkflowDefinition,
    WorkflowExecution,
)
from mistral_core.model.states import State

__all__ = [
    "DEFAULT_PROJECT",
    "DISPATCH_HANDED_OFF",
    "DISPATCH_QUEUED",
    "DISPATCH_STARTED",
    "EMPTY_FLAGS",
    "EVERY_PROJECT",
    "ActionCompleted",
    "ActionDefinition",
    "ActionExecution",
    "ActionHandedOff",
    "ApiKey",
    "ApprovalResponse",
    "CancelAction",
    "CancelNoticed",
    "CodeSource",
    "Command",
    "CronTrigger",
    "DynamicActionDefinition",
    "Environment",
    "Event",
    "Filter",
    "HistoryEntry",
    "ItemCounters",
    "NotificationSent",
    "Notify",
    "PushOrigin",
    "Query",
    "RunAction",
    "ServerSecret",
    "State",
    "TaskExecution",
    "TaskFlags",
    "Timer",
    "Trigger",
    "Viewer",
    "WaitAfter",
    "WaitingItem",
    "Workbook",
    "WorkflowDefinition",
    "WorkflowExecution",
]
