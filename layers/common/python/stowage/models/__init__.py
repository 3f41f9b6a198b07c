"""Pydantic requests and responses of the HTTP contract, shared by handlers and clients."""
