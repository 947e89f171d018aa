"""The knowledge base's pure domain: articles and their versions, categories, tokenising and
ranking, the live search index, usage attribution and who may read what. Nothing here touches
gRPC, MongoDB, NATS or generated code."""
