"""The rules area over PostgreSQL: the ``api_disabled_rules`` table."""

from __future__ import annotations

from aurora.collector.store.postgresql.database import PostgresDatabase


class PostgresDisabledRules(PostgresDatabase):
    """:class:`~..base.DisabledRules` over the shared pool."""

    def set_rule_disabled(self, rule_id: str, disabled: bool, by: str, now_ms: int) -> None:
        with self._tx() as conn:
            if disabled:
                conn.execute(
                    "INSERT INTO api_disabled_rules VALUES (%s, %s, %s) ON CONFLICT (rule_id)"
                    " DO UPDATE SET disabled_by = excluded.disabled_by, time_ms = excluded.time_ms",
                    (rule_id, by, now_ms),
                )
            else:
                conn.execute("DELETE FROM api_disabled_rules WHERE rule_id = %s", (rule_id,))

    def disabled_rules(self) -> set[str]:
        return {r[0] for r in self._query("SELECT rule_id FROM api_disabled_rules")}
