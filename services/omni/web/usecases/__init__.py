"""The gateway's use cases: what a browser user can do, each relayed to the services with their own token."""
