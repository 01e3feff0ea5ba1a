"""The landing and review sensors, and the nightly schedules: what starts runs, given the stage jobs."""
