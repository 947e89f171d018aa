"""`python -m agentpool_operator`: the operator over every namespace, one instance (no peering)."""

import sys

from kopf.cli import main

sys.exit(main(["run", "--all-namespaces", "--standalone", "--liveness=http://0.0.0.0:8080/healthz",
               "-m", "agentpool_operator.main", *sys.argv[1:]]))
