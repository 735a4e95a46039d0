"""How the sensor agent takes plugins on: the plugin host beside the platform's event source
(one :class:`EventSource` to the agent), and the ``plugin`` command that enables or removes a
manifest, beside the response executor."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aurora.errors import AuroraError
from aurora.plugins.host import PluginHost
from aurora.plugins.manifest import ManifestDir, ManifestError, from_json
from aurora.plugins.peer_windows import PIPE_NAME
from aurora.sensor.response.result import ActionResult
from aurora.sensor.source import Capability, EventSource
from aurora.sensor.transport.commands import ActionOutcome, Executor, Progress

log = logging.getLogger(__name__)

SOCKET_NAME = "plugins.sock"
MANIFEST_DIR = "plugins"


def plugin_socket(state_dir: Path) -> Path:
    return state_dir / SOCKET_NAME


def manifest_dir(state_dir: Path) -> ManifestDir:
    return ManifestDir(state_dir / MANIFEST_DIR)


class WithPlugins:
    """The platform source and the plugin host as one source. The host failing to start (its
    socket path taken) is a capability that did not load, never a sensor that does not run."""

    def __init__(self, primary: EventSource, host: PluginHost) -> None:
        self.primary = primary
        self.host = host
        self._host_problem = ""

    def start(self) -> None:
        self.primary.start()
        try:
            self.host.start()
        except AuroraError as exc:
            self._host_problem = exc.message
            log.error("plugins unavailable: %s", exc.message)

    def poll(self, timeout_ms: int) -> list[dict[str, Any]]:
        from_plugins = self.host.poll(0) if not self._host_problem else []
        # Plugin events waiting: take what the platform has now, without waiting for more.
        return self.primary.poll(0 if from_plugins else timeout_ms) + from_plugins

    def capabilities(self) -> list[Capability]:
        own = Capability("plugins", not self._host_problem, self._host_problem)
        return [*self.primary.capabilities(), own, *self.host.capabilities()]

    def drop_counts(self) -> dict[str, int]:
        return self.primary.drop_counts()

    def plugin_losses(self) -> dict[str, int]:
        return self.host.plugin_losses()

    def plugin_counters(self) -> dict[str, int]:
        return self.host.stats.counters()

    def stop(self) -> None:
        self.host.stop()
        self.primary.stop()


def with_plugins(source: EventSource, state_dir: Path, pipe_name: str = PIPE_NAME) -> WithPlugins:
    """The plugin host beside ``source``: on ``<state_dir>/plugins.sock``, on Windows on the
    named pipe ``pipe_name``."""
    host = PluginHost(plugin_socket(state_dir), manifest_dir(state_dir), pipe_name=pipe_name)
    return WithPlugins(source, host)


class PluginAdmin:
    """Runs the ``plugin`` command (enable or remove a manifest) and hands every other action to
    the response executor (built on first use, as before)."""

    def __init__(self, manifests: ManifestDir, inner: Callable[[], Executor | None]) -> None:
        self.manifests = manifests
        self._inner_factory = inner
        self._inner: Executor | None = None
        self._inner_loaded = False

    def inner(self) -> Executor | None:
        if not self._inner_loaded:
            self._inner_loaded = True
            self._inner = self._inner_factory()
        return self._inner

    def __getattr__(self, name: str) -> Any:
        # isolation_state, reapply_persisted_state...: the agent asks the executor for them.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.inner(), name)

    def execute(
        self, action: str, params: dict[str, Any], progress: Progress | None = None
    ) -> ActionOutcome:
        if action != "plugin":
            inner = self.inner()
            if inner is None:
                return ActionResult.failure(
                    "unsupported", "response actions are not available in this sensor build"
                )
            return inner.execute(action, params, progress)
        return self._plugin(params)

    def _plugin(self, params: dict[str, Any]) -> ActionResult:
        op, name = params.get("op"), str(params.get("name", ""))
        try:
            if op == "add":
                manifest = from_json(str(params.get("manifest", "")), f"plugin {name} manifest")
                if manifest.name != name:
                    raise ManifestError(f"manifest names {manifest.name!r}, not {name!r}")
                self.manifests.enable(manifest)
                log.info("plugin %s %s enabled", manifest.name, manifest.version)
                return ActionResult.success(
                    f"plugin {name} {manifest.version} enabled", {"name": name}
                )
            if op == "remove":
                existed = self.manifests.remove(name)
                log.info("plugin %s removed (was enabled: %s)", name, existed)
                return ActionResult.success(
                    f"plugin {name} removed" if existed else f"plugin {name} was not enabled",
                    {"name": name, "was_enabled": existed},
                )
        except ManifestError as exc:
            return ActionResult.failure("bad_manifest", exc.message)
        except OSError as exc:
            return ActionResult.failure("io_error", f"plugin {name}: {exc.strerror or exc}")
        return ActionResult.failure("bad_params", f"plugin: op must be add or remove, not {op!r}")


def with_plugin_admin(
    factory: Callable[[], Executor | None], state_dir: Path
) -> Callable[[], Executor | None]:
    def make() -> Executor | None:
        return PluginAdmin(manifest_dir(state_dir), factory)

    return make
