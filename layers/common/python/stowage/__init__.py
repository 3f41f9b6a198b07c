"""stowage: serverless file uploads and storage on AWS."""

__version__ = "0.1.0"
