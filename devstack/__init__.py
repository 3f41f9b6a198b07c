"""A local stand-in for the deployed stack (HTTP API, Lambda, S3, DynamoDB), no Docker.

Everything it serves is read from `template.yaml`, so the local routes, settings and
resources cannot drift from what SAM deploys.
"""
