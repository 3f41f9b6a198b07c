"""Who is calling: the client the authorizer found, as it hands it to every route."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Caller(BaseModel):
    """The `requestContext.authorizer.lambda` context of an authorized request."""

    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    client_id: str = Field(min_length=1, max_length=128)
    role: str = Field(min_length=1, max_length=128)
    key_prefix: str = ""
    max_file_size: int = Field(ge=0)
    act_as: bool = False
    act_as_roles: str = ""
    """Comma-separated roles an `act_as` client may name; empty means any role."""

    @property
    def allowed_roles(self) -> frozenset[str]:
        return frozenset(r for r in self.act_as_roles.split(",") if r)


class Owner(BaseModel):
    """The user a stored object belongs to, inside a client's corner of the bucket."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    client_id: str
    key_prefix: str
    role: str
    user_id: str
