"""`python -m agentpool_operator --namespace=NS` (or `--all-namespaces`): the operator, one instance (no peering).

The scope has no default: the chart passes its release namespace, which a namespaced Role covers,
unless `operator.clusterWide` asks for every namespace and grants a ClusterRole to match.
"""

import sys

from kopf.cli import main

args = sys.argv[1:]
if not any(arg in ("-A", "--all-namespaces") or arg.startswith(("-n", "--namespace")) for arg in args):
    sys.exit("name the namespace(s) to watch with --namespace=NS, or pass --all-namespaces")
sys.exit(main(["run", "--standalone", "--liveness=http://0.0.0.0:8080/healthz", "-m", "agentpool_operator.main",
               *args]))
