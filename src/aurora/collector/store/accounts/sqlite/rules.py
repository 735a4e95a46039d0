"""The rules area over SQLite: the ``api_disabled_rules`` table."""

from __future__ import annotations

from aurora.collector.store.sqlite.database import SQLiteDatabase


class SQLiteDisabledRules(SQLiteDatabase):
    """:class:`~..base.DisabledRules` over the shared connection."""

    def set_rule_disabled(self, rule_id: str, disabled: bool, by: str, now_ms: int) -> None:
        with self._tx() as conn:
            if disabled:
                conn.execute(
                    "INSERT OR REPLACE INTO api_disabled_rules VALUES (?, ?, ?)",
                    (rule_id, by, now_ms),
                )
            else:
                conn.execute("DELETE FROM api_disabled_rules WHERE rule_id = ?", (rule_id,))

    def disabled_rules(self) -> set[str]:
        return {r[0] for r in self._query("SELECT rule_id FROM api_disabled_rules")}
