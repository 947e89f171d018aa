"""The use cases of the sessions service, one module per concept: the only callers of the
repository, the event publishers and the live updates, and where the access rule is applied."""
