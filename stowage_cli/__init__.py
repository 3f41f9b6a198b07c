"""The stowage command line. For now: the admin commands that manage API clients."""
