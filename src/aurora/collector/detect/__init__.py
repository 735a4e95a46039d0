"""Detection on ingest, one stage in two processes: :mod:`.batch_reader` reads each batch once in
a worker process and runs the Sigma matchers there; :mod:`.stage` turns the matches of new events
into alerts in the collector, where correlation and suppression keep their state."""

from aurora.collector.detect.batch_reader import BatchReader, Hit, RuleSource
from aurora.collector.detect.stage import DetectionStage

__all__ = ["BatchReader", "DetectionStage", "Hit", "RuleSource"]
