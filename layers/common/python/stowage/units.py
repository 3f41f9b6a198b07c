"""Byte sizes and S3's object limit, named once for models, domain and config."""

MIB = 1024 * 1024
GIB = 1024 * MIB
TIB = 1024 * GIB
MAX_OBJECT_SIZE = 5 * TIB
"""S3's largest object, and so stowage's largest file."""
MAX_SINGLE_REQUEST_SIZE = 5 * GIB
"""S3's largest POST upload and single-request CopyObject, and so the largest draft."""
