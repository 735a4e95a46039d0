"""The refusal back-off with a fake clock: the budget, the doubling pause, the fresh start after a
quiet window, and one sensor's pause never touching another's."""

from __future__ import annotations

from aurora.collector.refusals import RefusalLimiter


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_pauses_double_while_refusals_go_on_and_reset_after_a_quiet_window() -> None:
    clock = _Clock()
    limiter = RefusalLimiter(budget=3, window_s=10, first_pause_s=0.5, max_pause_s=2, clock=clock)
    assert [limiter.refused("evil") for _ in range(3)] == [0.0] * 3
    assert limiter.refused("evil") == 0.5
    assert limiter.pause_left("evil") == 0.5 and limiter.pause_left("honest") == 0.0
    clock.now += 0.5
    pauses = []
    for _ in range(3):
        for _ in range(4):
            pause = limiter.refused("evil")
        pauses.append(pause)
        clock.now += pause
    assert pauses == [1.0, 2.0, 2.0]  # doubling, up to max_pause_s
    clock.now += 11  # a quiet window
    assert [limiter.refused("evil") for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]
    assert limiter.pauses == 5


def test_refusals_spread_over_more_than_a_window_never_pause() -> None:
    clock = _Clock()
    limiter = RefusalLimiter(budget=3, window_s=10, clock=clock)
    for _ in range(100):
        assert limiter.refused("slow") == 0.0
        clock.now += 4
