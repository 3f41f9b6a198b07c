"""The rules of stowage, free of boto3: keys, categories, part math, upload life cycle."""
