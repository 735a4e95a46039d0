"""The plugin SDK: subclass :class:`Plugin`, emit OCSF events into the :class:`EventSink` it is
given, and let :class:`Runner` connect to the sensor, handshake, heartbeat and reconnect.

See docs/plugins.md for a complete minimal plugin.
"""

from aurora.plugins.sdk.plugin import Plugin
from aurora.plugins.sdk.runner import PluginRefused, Runner
from aurora.plugins.sdk.sink import EventSink

__all__ = ["EventSink", "Plugin", "PluginRefused", "Runner"]
