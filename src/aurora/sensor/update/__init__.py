"""The sensor's signed self-update: download a package over the stream, verify it against the
pinned release key, install it beside the running version (:mod:`.updater`, :mod:`.install`),
and the launcher that switches to it and rolls back when it does not come up healthy
(:mod:`.launcher`)."""

from aurora.sensor.update.updater import LAUNCHER_ENV, RESTART_FOR_UPDATE, Updater

__all__ = ["LAUNCHER_ENV", "RESTART_FOR_UPDATE", "Updater"]
