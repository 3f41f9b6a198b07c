"""The pepper of API-key hashes, from Secrets Manager (cached), or a local value.

IAM: secretsmanager:GetSecretValue on the pepper secret.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters

from stowage.config import auth_settings

PEPPER_MAX_AGE = 300


def api_key_pepper() -> bytes:
    """The pepper: `API_KEY_PEPPER` when set (local stack, tests), else the secret."""
    settings = auth_settings()
    if settings.api_key_pepper is not None:
        return settings.api_key_pepper.get_secret_value().encode("utf-8")
    if not settings.api_key_pepper_secret:
        raise RuntimeError("set API_KEY_PEPPER_SECRET (or API_KEY_PEPPER locally)")
    secret = parameters.get_secret(settings.api_key_pepper_secret, max_age=PEPPER_MAX_AGE)
    return str(secret).encode("utf-8")
