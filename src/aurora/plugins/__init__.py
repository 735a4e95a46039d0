"""Third-party event sources: the plugin protocol (a local Unix socket carrying length-prefixed
JSON), manifests pinned by SHA-256, the sensor-side host, the SDK and the reference plugins.

Sensor side: :mod:`.host` (with :mod:`.session`, :mod:`.peer_linux`) joins the agent through
:mod:`.attach`; plugin side: :mod:`.sdk`. See docs/plugins.md.
"""
