"""Draft records in the uploads table (`kind` = "draft"), in the same ways as sessions.

IAM actions on the uploads table: dynamodb:PutItem (create, claim_key),
dynamodb:GetItem (get), dynamodb:UpdateItem (claims and marks),
dynamodb:DeleteItem (release_key), dynamodb:Query on `by_expiry` (expired).
"""

from __future__ import annotations

from datetime import datetime

from stowage.adapters.dynamodb import NO_LEASE, DynamoRecords, epoch, stored_fields, timestamp
from stowage.domain.draft import Draft

_PENDING_AND_FREE = f"#s = :pending AND expires_at > :now AND {NO_LEASE}"


class DynamoDraftStore(DynamoRecords):
    kind = "draft"

    def create(self, draft: Draft) -> None:
        self._put_new(stored_fields(draft), draft.draft_id, draft.expires_at)

    def get(self, draft_id: str) -> Draft | None:
        item = self._get(draft_id)
        return Draft.model_validate(item) if item else None

    def claim_confirmation(self, draft: Draft, now: datetime, until: datetime) -> bool:
        return self._claim(draft.draft_id, _PENDING_AND_FREE, now, until)

    def release_confirmation(self, draft: Draft) -> None:
        self._release(draft.draft_id)

    def mark_confirmed(
        self, draft: Draft, now: datetime, key: str, etag: str, deduplicated: bool = False
    ) -> Draft:
        # Unconditional on state: the file exists under `key`, so this is the truth now.
        item = self._finish(
            draft.draft_id,
            "#s = :confirmed, #key = :key, etag = :etag, updated_at = :now, #ttl = :ttl,"
            " deduplicated = :dedup",
            {
                ":confirmed": "confirmed",
                ":key": key,
                ":etag": etag,
                ":now": timestamp(now),
                ":ttl": epoch(now + self.retention),
                ":dedup": deduplicated,
            },
        )
        return Draft.model_validate(item)

    def mark_discarded(self, draft: Draft, now: datetime) -> bool:
        return self._mark_ended(draft, "discarded", now, "expires_at > :now")

    def mark_expired(self, draft: Draft, now: datetime) -> bool:
        return self._mark_ended(draft, "expired", now, "expires_at <= :now")

    def expired(self, now: datetime, limit: int) -> list[Draft]:
        return [Draft.model_validate(i) for i in self._expired_items(now, limit)]

    def _mark_ended(self, draft: Draft, status: str, now: datetime, when: str) -> bool:
        """Pending, no confirm under way, and `when` → `status`."""
        return self._update(
            draft.draft_id,
            "SET #s = :end, updated_at = :now, #ttl = :ttl REMOVE sweep",
            f"#s = :pending AND {NO_LEASE} AND {when}",
            {":end": status, ":now": timestamp(now), ":ttl": epoch(now + self.retention)},
        )
