"""Routing's pure domain: agents, queues, work, the routing policy and the engine that applies it.

Nothing here knows gRPC, MongoDB, NATS or protobuf: the service wraps the engine with storage,
events and desktops (`omni.routing.usecases`), and the simulator drives the same engine on a
virtual clock.
"""
