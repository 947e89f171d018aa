from tests.operator.kubernetes import cluster  # noqa: F401 (the operator tests' fixture)
from tests.routing.conftest import routing  # noqa: F401 (the routing tests' fixture)
from tests.sessions.conftest import published, sink, stack  # noqa: F401 (the sessions tests' fixtures)
from tests.tickets.conftest import harness  # noqa: F401 (the tickets tests' fixture)
