"""Home of third-party event sources: the plugin protocol (a local socket / named pipe carrying
length-prefixed JSON), plugin manifests pinned by SHA-256, an SDK and reference plugins.

Empty on purpose: issue 15 (plugin protocol and SDK; DESIGN.md "plugin protocol") builds
it. A plugin will feed events the way a platform sensor does, through
:class:`aurora.sensor.source.EventSource`, so the agent needs no new path for them.
"""
