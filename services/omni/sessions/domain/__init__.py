"""The sessions domain: conversations, their state machine and rules, pure Python.

Nothing here imports gRPC, MongoDB, NATS, protobuf or generated code; the use-case layer
(`omni.sessions.usecases`) brings them together with storage and events.
"""
