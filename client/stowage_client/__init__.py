"""stowage's command line client: uploads, downloads and a folder watcher over the HTTP API."""

__version__ = "0.1.0"
