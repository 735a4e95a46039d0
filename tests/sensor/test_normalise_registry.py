"""The Linux normaliser's dispatch: every record kind has exactly one family handler."""

from __future__ import annotations

import pytest

from aurora.sensor.linux import records as R
from aurora.sensor.linux.normalise import Normaliser, registered_kinds
from aurora.sensor.linux.normalise.registry import register
from aurora.sensor.linux.proctable import ProcessTable


def test_every_record_kind_has_a_handler() -> None:
    kinds = {
        getattr(R, n) for n in dir(R) if n.startswith("EV_") and isinstance(getattr(R, n), int)
    }
    assert registered_kinds() == kinds


def test_a_kind_cannot_get_two_handlers() -> None:
    with pytest.raises(ValueError, match="already has a handler"):
        register(R.EV_EXEC)(lambda ctx, data: None)


def test_short_and_unknown_records_are_dropped() -> None:
    normaliser = Normaliser(ProcessTable())
    try:
        assert normaliser.normalise(b"\0" * 8) is None
        hdr = R.EvHdr(kind=999, pid=1)
        assert normaliser.normalise(bytes(hdr)) is None
    finally:
        normaliser.hashes.close()
