"""The tickets domain, pure Python: customers and their identities, tickets and their
lifecycle, which ticket an interaction joins, SLA targets and who sees what.

Nothing here imports gRPC, MongoDB, NATS, protobuf or generated code; the use-case layer
(`omni.tickets.usecases`) brings these rules together with storage and events.
"""
