"""Offline hunting (`aurora scan`): the detection engine over EVTX and JSON logs."""
