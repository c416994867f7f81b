"""The REST edge's shared pieces: dependencies, problem responses, request ids."""
