from tests.operator.kubernetes import cluster  # noqa: F401 (the operator tests' fixture)
