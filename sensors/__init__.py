"""What starts runs: the updates sensor (new batches, landing folders, review files, config and code
changes) and the nightly safety-net schedule, both driven by one update plan."""
