"""The bot's decisions, pure: what to answer, when a person takes over, how to read a reply.
Nothing here touches gRPC, protobuf or generated code; `omni.worker.bot` does the calls."""
