"""Thin adapters from Kopf's handler arguments to the domain and the Kubernetes calls."""
