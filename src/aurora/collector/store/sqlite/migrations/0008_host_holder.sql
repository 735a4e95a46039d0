-- Which collector node holds each sensor's stream, and until when each node is known alive, so
-- that on a shared store a node marks only its own hosts disconnected at start and the hosts of
-- a node that died (SIGKILL, power loss) are shown disconnected on every console.
ALTER TABLE hosts ADD COLUMN holder TEXT NOT NULL DEFAULT '';
CREATE TABLE collector_nodes (
    node TEXT PRIMARY KEY,
    alive_until_ms INTEGER NOT NULL
) WITHOUT ROWID;
