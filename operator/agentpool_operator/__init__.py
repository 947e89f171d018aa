"""Kopf operator that scales AgentPool bot workers from live queue statistics."""
