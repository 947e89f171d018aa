"""omnichannel: hand-written code. Generated protobuf code lives in the `omnichannel` package."""
