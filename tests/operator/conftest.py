from tests.operator.kubernetes import cluster  # noqa: F401 (the fixture, shared with tests/security)
