"""The only modules that talk to AWS: S3 storage and DynamoDB tables."""
