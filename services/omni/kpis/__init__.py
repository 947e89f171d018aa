"""Contact-center KPIs from contact records: shared by the simulator, `omni report` and the
scheduled reports service (pure code and the sessions → records conversion; no I/O)."""
