"""The execution model: states, records, events, commands, queries. Standard library only."""

from mistral_core.model.commands import CancelAction, Command, RunAction
from mistral_core.model.events import ActionCompleted, ActionHandedOff, Event
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
    "DISPATCH_HANDED_OFF",
    "DISPATCH_QUEUED",
    "DISPATCH_STARTED",
    "ActionCompleted",
    "ActionDefinition",
    "ActionExecution",
    "ActionHandedOff",
    "CancelAction",
    "Command",
    "CronTrigger",
    "Environment",
    "Event",
    "Filter",
    "Query",
    "RunAction",
    "State",
    "TaskExecution",
    "Timer",
    "Workbook",
    "WorkflowDefinition",
    "WorkflowExecution",
]
