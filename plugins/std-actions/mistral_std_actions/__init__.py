"""mistral-core's standard actions, published in the entry-point group ``mistral.actions``.

========================  ========================================  ======
name                      parameters                                sync?
========================  ========================================  ======
``std.noop``              —                                         yes
``std.async_noop``        —                                         no
``std.echo``              ``output``, ``delay=0``                   yes
``std.fail``              ``error_data=None``                       yes
``std.sleep``             ``seconds=1``                             yes
``std.test_dict``         ``size=0``, ``key_prefix=""``, ``val=""``   yes
``std.approval``          ``title``, ``description=""``, ``form``,    no
                          ``options``, ``assignees``,
                          ``required_approvals=1``
========================  ========================================  ======
"""

from mistral_std_actions.actions import (
    ApprovalAction,
    AsyncNoopAction,
    EchoAction,
    FailAction,
    NoopAction,
    SleepAction,
    TestDictAction,
)

__version__ = "0.1.0"

__all__ = [
    "ApprovalAction",
    "AsyncNoopAction",
    "EchoAction",
    "FailAction",
    "NoopAction",
    "SleepAction",
    "TestDictAction",
    "__version__",
]
