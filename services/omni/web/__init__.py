"""The web gateway: the agent desktop and the customer chat widget, relaying to the gRPC services."""
