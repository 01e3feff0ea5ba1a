"""What the stage modules share, so each rule is written once: partitions, stage tags, metadata,
automation, failure mapping, and the jobs and runner derived from the stages' tags. Not a stage."""
