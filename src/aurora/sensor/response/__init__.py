"""Response actions on the host: isolate, kill, quarantine, restore and live triage.

The transport hands each command to :class:`ResponseExecutor` and sends the
:class:`ActionResult` back to the collector.
"""

from aurora.sensor.response.dispatcher import ACTIONS, ResponseExecutor
from aurora.sensor.response.errors import ResponseError
from aurora.sensor.response.result import ActionResult

__all__ = ["ACTIONS", "ActionResult", "ResponseError", "ResponseExecutor"]
