"""The updates area contract: packages kept once by SHA-256, rollouts with their targets."""

from __future__ import annotations

import pytest

from aurora.collector.store.base import PackageRecord, RolloutRecord, RolloutTarget, UpdateStore


def package(sha: str = "ab" * 32, version: str = "0.2.0") -> PackageRecord:
    return PackageRecord(sha, version, "linux-x86_64", 5_000_000, f"/p/{sha}.pkg", "k1", 10)


def rollout(rid: str, created: int, *targets: tuple[str, str]) -> RolloutRecord:
    return RolloutRecord(
        rid,
        "ab" * 32,
        "0.2.0",
        created,
        "alice",
        50,
        120,
        tuple(RolloutTarget(s, c) for s, c in targets),
    )


class UpdatesSuite:
    def test_packages_are_kept_once(self, store: UpdateStore) -> None:
        store.put_package(package())
        store.put_package(package(version="9.9.9"))  # same bytes: the first record stays
        got = store.get_package("ab" * 32)
        assert got == package()
        assert store.get_package("cd" * 32) is None

    def test_rollouts_keep_their_targets_and_list_newest_first(self, store: UpdateStore) -> None:
        store.put_package(package())
        store.add_rollout(rollout("r1", 100, ("s2", "c2"), ("s1", "c1")))
        store.add_rollout(rollout("r2", 200, ("s3", "c3")))
        r1 = store.get_rollout("r1")
        assert r1 is not None and r1.targets == (
            RolloutTarget("s1", "c1"),
            RolloutTarget("s2", "c2"),
        )
        assert (r1.percent, r1.confirm_within_s, r1.requested_by) == (50, 120, "alice")
        assert [r.rollout_id for r in store.list_rollouts()] == ["r2", "r1"]
        assert [r.rollout_id for r in store.list_rollouts(limit=1)] == ["r2"]
        assert store.get_rollout("nope") is None

    def test_package_for_command(self, store: UpdateStore) -> None:
        store.put_package(package())
        store.add_rollout(rollout("r1", 100, ("s1", "c1")))
        assert store.package_for_command("c1") == package()
        assert store.package_for_command("other") is None

    def test_a_rollout_id_is_used_once(self, store: UpdateStore) -> None:
        store.put_package(package())
        store.add_rollout(rollout("r1", 100, ("s1", "c1")))
        with pytest.raises(Exception):  # noqa: B017 - each backend raises its own error
            store.add_rollout(rollout("r1", 200, ("s2", "c2")))
        got = store.get_rollout("r1")
        assert got is not None and got.targets == (RolloutTarget("s1", "c1"),)
