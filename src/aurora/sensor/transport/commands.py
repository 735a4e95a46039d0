"""Commands from the collector: run them off the stream thread, report progress and results.

Each command runs in a worker thread so a long triage never delays acks or heartbeats. A command
is refused when it arrives after its expiry. The collector re-sends commands it has no result for
at every reconnect, so a finished command's result is kept and simply sent again, and a command
still running is not started twice. Triage archives go up in chunks, one in flight at a time, each
acknowledged by a ChunkAck (the collector's flow control).
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import orjson

from aurora.v1 import stream_pb2
from aurora.wire.action_codec import for_executor, from_command
from aurora.wire.actions import HOST_ACTIONS

log = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024
CHUNK_ACK_TIMEOUT_S = 30.0
UPLOAD_ATTEMPTS = 5
_KEEP_RESULTS = 256

Send = Callable[[stream_pb2.SensorMessage], None]
Progress = Callable[[float, str], None]


class ActionOutcome(Protocol):
    # Read-only, as on the response package's frozen ActionResult.
    @property
    def ok(self) -> bool: ...
    @property
    def error_code(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def artifact_path(self) -> Path | None: ...


class Management(Protocol):
    """Management commands that are not host actions (today: Update); None = answer later."""

    def run(
        self, cmd: stream_pb2.Command, progress: Progress
    ) -> stream_pb2.CommandResult | None: ...

    def on_package_chunk(self, chunk: stream_pb2.PackageChunk) -> None: ...


class Executor(Protocol):
    def execute(
        self, action: str, params: dict[str, Any], progress: Progress | None = None
    ) -> ActionOutcome: ...


def command_params(cmd: stream_pb2.Command) -> tuple[str | None, dict[str, Any]]:
    """The executor's action name and parameters for a Command (None: not a host action)."""
    action, params = from_command(cmd)
    if action is None or action not in HOST_ACTIONS:
        return None, {}
    return action, for_executor(action, params)


def _result(
    command_id: str, status: int, code: str = "", message: str = "", data: Any = None
) -> stream_pb2.SensorMessage:
    return stream_pb2.SensorMessage(
        result=stream_pb2.CommandResult(
            command_id=command_id,
            status=status,  # type: ignore[arg-type]
            error_code=code,
            message=message,
            result_json=orjson.dumps(data if data is not None else {}),
        )
    )


class UploadFailed(Exception):
    pass


class CommandRunner:
    def __init__(
        self,
        send: Send,
        executor_factory: Callable[[], Executor | None],
        management: Management | None = None,
    ) -> None:
        self._send = send
        self.management = management
        self._factory = executor_factory
        self._executor: Executor | None = None
        self._executor_loaded = False
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._done: OrderedDict[str, stream_pb2.SensorMessage] = OrderedDict()
        self._acks: dict[str, queue.Queue[stream_pb2.ChunkAck]] = {}
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="aurora-command")
        self.completed = 0

    def executor(self) -> Executor | None:
        with self._lock:
            if not self._executor_loaded:
                self._executor_loaded = True
                self._executor = self._factory()
            return self._executor

    def handle(self, cmd: stream_pb2.Command) -> None:
        """Called on the stream's receiving thread: never blocks."""
        cid = cmd.command_id
        with self._lock:
            if cid in self._running:
                return
            if cid in self._done:
                log.info("command %s already ran; sending its result again", cid)
                self._send(self._done[cid])
                return
            self._running.add(cid)
        now_ms = int(time.time() * 1000)
        if cmd.expires_at_unix_ms and now_ms > cmd.expires_at_unix_ms:
            late = (now_ms - cmd.expires_at_unix_ms) // 1000
            self._finish(
                cid,
                _result(cid, stream_pb2.COMMAND_STATUS_EXPIRED, "expired", f"expired {late}s ago"),
            )
            return
        self._pool.submit(self._run, cmd)

    def _run(self, cmd: stream_pb2.Command) -> None:
        cid = cmd.command_id
        try:
            msg = self._execute(cmd)
        except Exception as exc:  # a worker must always answer
            log.exception("command %s crashed", cid)
            msg = _result(cid, stream_pb2.COMMAND_STATUS_FAILED, "internal_error", str(exc))
        if msg is None:
            # Answered after a restart (an update): sent again, the command is handled again.
            with self._lock:
                self._running.discard(cid)
            return
        self._finish(cid, msg)

    def _execute(self, cmd: stream_pb2.Command) -> stream_pb2.SensorMessage | None:
        cid = cmd.command_id
        if cmd.WhichOneof("action") == "update" and self.management is not None:
            answer = self.management.run(cmd, self._progress(cid))
            return None if answer is None else stream_pb2.SensorMessage(result=answer)
        action, params = command_params(cmd)
        if action is None:
            what = cmd.WhichOneof("action") or "empty"
            return _result(
                cid,
                stream_pb2.COMMAND_STATUS_UNSUPPORTED,
                "unsupported",
                f"{what} is not supported",
            )
        executor = self.executor()
        if executor is None:
            return _result(
                cid,
                stream_pb2.COMMAND_STATUS_UNSUPPORTED,
                "unsupported",
                "response actions are not available in this sensor build",
            )
        log.info("command %s: %s requested by %s", cid, action, cmd.requested_by or "?")
        outcome = executor.execute(action, params, self._progress(cid))
        data = dict(outcome.data)
        if outcome.ok and outcome.artifact_path is not None:
            try:
                data["upload"] = self._upload(cid, outcome.artifact_path)
            except (UploadFailed, OSError) as exc:
                return _result(
                    cid, stream_pb2.COMMAND_STATUS_FAILED, "upload_failed", str(exc), data
                )
        status = (
            stream_pb2.COMMAND_STATUS_SUCCEEDED if outcome.ok else stream_pb2.COMMAND_STATUS_FAILED
        )
        return _result(cid, status, outcome.error_code, outcome.message, data)

    def _progress(self, cid: str) -> Progress:
        def report(fraction: float, stage: str) -> None:
            self._send(
                stream_pb2.SensorMessage(
                    progress=stream_pb2.CommandProgress(
                        command_id=cid, fraction=max(0.0, min(1.0, fraction)), stage=stage
                    )
                )
            )

        return report

    def _finish(self, cid: str, msg: stream_pb2.SensorMessage) -> None:
        with self._lock:
            self._running.discard(cid)
            self._done[cid] = msg
            while len(self._done) > _KEEP_RESULTS:
                self._done.popitem(last=False)
            self.completed += 1
        log.info(
            "command %s finished: %s %s",
            cid,
            stream_pb2.CommandStatus.Name(msg.result.status),
            msg.result.message,
        )
        self._send(msg)

    def on_package_chunk(self, chunk: stream_pb2.PackageChunk) -> None:
        if self.management is not None:
            self.management.on_package_chunk(chunk)

    # ------------------------------------------------------------------- uploads
    def on_chunk_ack(self, ack: stream_pb2.ChunkAck) -> None:
        q = self._acks.get(ack.command_id)
        if q is not None:
            q.put(ack)

    def _upload(self, cid: str, path: Path) -> dict[str, Any]:
        data = path.read_bytes()
        digest = hashlib.sha256(data).digest()
        acks: queue.Queue[stream_pb2.ChunkAck] = queue.Queue()
        self._acks[cid] = acks
        try:
            for attempt in range(1, UPLOAD_ATTEMPTS + 1):
                try:
                    self._send_chunks(cid, data, digest, acks)
                    return {"size": len(data), "sha256": digest.hex(), "name": path.name}
                except UploadFailed as exc:
                    if attempt == UPLOAD_ATTEMPTS:
                        raise
                    log.warning("upload of %s interrupted (%s), retrying", cid, exc)
            raise UploadFailed("unreachable")
        finally:
            self._acks.pop(cid, None)

    def _send_chunks(
        self, cid: str, data: bytes, digest: bytes, acks: queue.Queue[stream_pb2.ChunkAck]
    ) -> None:
        offset = 0
        while True:
            piece = data[offset : offset + CHUNK_BYTES]
            last = offset + len(piece) >= len(data)
            self._send(
                stream_pb2.SensorMessage(
                    chunk=stream_pb2.UploadChunk(
                        command_id=cid,
                        offset=offset,
                        data=piece,
                        last=last,
                        total_size=len(data),
                        sha256=digest if last else b"",
                    )
                )
            )
            try:
                ack = acks.get(timeout=CHUNK_ACK_TIMEOUT_S)
            except queue.Empty:
                raise UploadFailed(f"no acknowledgement for the chunk at {offset}") from None
            if not ack.accepted:
                if ack.next_offset != offset and ack.next_offset <= len(data):
                    offset = ack.next_offset  # the collector holds a different prefix: resume there
                    continue
                raise UploadFailed(f"collector rejected the upload: {ack.reason}")
            if last:
                return
            offset = ack.next_offset or offset + len(piece)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
