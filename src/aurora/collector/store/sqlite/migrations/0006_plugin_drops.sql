-- Plugin events lost on the sensor (refused, invalid, dropped under pressure, lost inside the
-- plugin), as carried by each batch's DropCounters.plugin: a total per host beside the others.

ALTER TABLE hosts ADD COLUMN drops_plugin INTEGER NOT NULL DEFAULT 0;
