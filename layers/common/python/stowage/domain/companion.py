"""The Companion protocol @uppy/aws-s3 6.x speaks, on top of ordinary stowage uploads.

Every route takes the upload token from its path (the plugin sends no headers), checks
it and its client, and then does what the API does for that client's user:
multipart uploads are `UploadService` uploads of unknown size (Uppy sends none), and a
single-request upload is a presigned POST into the drafts bucket that registers itself:
S3's event reaches `PostRegistrar`, which records the draft and confirms it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import quote

from pydantic import ValidationError

from stowage.domain.categories import content_type_for
from stowage.domain.clock import utc_now
from stowage.domain.drafts import DRAFTS_PREFIX, DraftService, new_draft_id
from stowage.domain.keys import check_file_name
from stowage.domain.ports import ObjectInfo, PostForm
from stowage.domain.session import UploadSession
from stowage.domain.tokens import TokenService, TokenSigner, token_caller
from stowage.domain.uploads import UploadService
from stowage.errors import (
    InvalidFieldError,
    InvalidTokenError,
    UploadNotFoundError,
)
from stowage.models.browser import (
    AbortMultipartResponse,
    CompanionPart,
    CompleteMultipartRequest,
    CompleteMultipartResponse,
    CreateMultipartRequest,
    CreateMultipartResponse,
    PostParamsResponse,
    SignPartResponse,
    TokenClaims,
)
from stowage.models.drafts import CreateDraftRequest
from stowage.models.uploads import CompleteUploadRequest, InitUploadRequest, SignPartsRequest

POST_KEY = re.compile(rf"^{DRAFTS_PREFIX}(dr_[A-Za-z0-9_-]{{16,64}})$")


class ClientCheck(Protocol):
    def enabled(self, client_id: str) -> bool:
        """Whether the client exists and is not disabled (its tokens die with it)."""
        ...


class OpenPosts(Protocol):
    """The drafts bucket, as browser POSTs need it."""

    def presign_open_post(
        self, key: str, content_type: str, max_size: int, expires_in: int, claim: str
    ) -> PostForm: ...

    def head(self, key: str) -> ObjectInfo | None: ...

    def delete(self, key: str) -> None: ...


@dataclass(frozen=True)
class CompanionRules:
    post_ttl: int
    """Seconds a presigned POST stays valid."""
    part_url_ttl: int


class CompanionService:
    """One method per Companion route; each starts from the token in the path."""

    def __init__(
        self,
        tokens: TokenService,
        clients: ClientCheck,
        uploads: UploadService,
        posts: OpenPosts,
        rules: CompanionRules,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.tokens = tokens
        self.clients = clients
        self.uploads = uploads
        self.posts = posts
        self.rules = rules
        self.clock = clock

    def claims(self, token: str) -> TokenClaims:
        """A genuine, unexpired token of a client that is still enabled; else 403."""
        claims = self.tokens.verify(token)
        if not self.clients.enabled(claims.client_id):
            raise InvalidTokenError("the upload token is not valid")
        return claims

    # --- single-request uploads -------------------------------------------------------
    def post_params(self, token: str, filename: str, content_type: str) -> PostParamsResponse:
        """GET /s3/params: a POST of up to the token's size limit, type pinned, into the
        drafts bucket; the object carries a signed claim that S3's event brings back."""
        claims = self.claims(token)
        name = _file_name(filename)
        kind = _content_type(name, content_type)
        self.tokens.start_file(claims, kind)
        draft_id = new_draft_id()
        ttl = self.rules.post_ttl
        post_claim = claims.model_copy(
            update={
                "purpose": "post",
                "jti": draft_id,
                "exp": int((self.clock() + timedelta(seconds=ttl)).timestamp()),
                "file_name": name,
                "content_type": kind,
                "max_files": None,
                "content_types": None,
            }
        )
        form = self.posts.presign_open_post(
            f"{DRAFTS_PREFIX}{draft_id}",
            kind,
            claims.max_file_size,
            ttl,
            self.tokens.signer.sign(post_claim),
        )
        return PostParamsResponse(url=form.url, fields=form.fields, expires=ttl)

    # --- multipart --------------------------------------------------------------------
    def create(self, token: str, request: CreateMultipartRequest) -> CreateMultipartResponse:
        """POST /s3/multipart: an upload of unknown size, counted against max_files."""
        claims = self.claims(token)
        name = _file_name(request.filename)
        kind = _content_type(name, request.type)
        init = InitUploadRequest(
            file_name=name, size=0, content_type=kind, user_id=claims.user_id, role=claims.role
        )
        self.tokens.start_file(claims, kind)
        answer = self.uploads.init_open_upload(token_caller(claims), init, claims.max_file_size)
        return CreateMultipartResponse(key=answer.key, uploadId=answer.upload_id)

    def sign_part(self, token: str, upload_id: str, part: str, key: str) -> SignPartResponse:
        claims = self.claims(token)
        self._own(claims, upload_id, key)
        if not (part.isascii() and part.isdigit()):
            raise InvalidFieldError("the part number must be a number", field="partNumber")
        request = SignPartsRequest(part_numbers=[int(part)])
        signed = self.uploads.sign_parts(token_caller(claims), upload_id, request).parts[0]
        return SignPartResponse(url=signed.url, expires=self.rules.part_url_ttl)

    def list_parts(self, token: str, upload_id: str, key: str) -> list[CompanionPart]:
        claims = self.claims(token)
        self._own(claims, upload_id, key)
        status = self.uploads.get_status(token_caller(claims), upload_id)
        return [
            CompanionPart(PartNumber=p.part_number, Size=p.size, ETag=p.etag) for p in status.parts
        ]

    def complete(
        self,
        token: str,
        upload_id: str,
        key: str,
        request: CompleteMultipartRequest,
        api_base: str,
    ) -> CompleteMultipartResponse:
        """Complete with the parts Uppy lists; over the token's size limit the upload is
        aborted and the answer is 413 FILE_TOO_LARGE."""
        claims = self.claims(token)
        self._own(claims, upload_id, key)
        parts = [{"part_number": p.PartNumber, "etag": p.ETag} for p in request.parts]
        done = self.uploads.complete_upload(
            token_caller(claims), upload_id, CompleteUploadRequest.model_validate({"parts": parts})
        )
        location = f"{api_base}/v1/files/{quote(done.key)}"
        return CompleteMultipartResponse(location=location, key=done.key)

    def abort(self, token: str, upload_id: str, key: str) -> AbortMultipartResponse:
        claims = self.claims(token)
        self._own(claims, upload_id, key)
        self.uploads.cancel_upload(token_caller(claims), upload_id)
        return AbortMultipartResponse()

    def _own(self, claims: TokenClaims, upload_id: str, key: str) -> UploadSession:
        """The upload, if it is the token's user's and `key` names it; else 404."""
        session = self.uploads.find_own(token_caller(claims), upload_id)
        mine = (session.key_prefix, session.role, session.user_id) == (
            claims.key_prefix,
            claims.role,
            claims.user_id,
        )
        if not mine or session.key != key or session.size_limit is None:
            raise UploadNotFoundError(f"no upload {upload_id!r}")
        return session


class PostRegistrar:
    """What S3's ObjectCreated event for a browser POST runs: record the draft the POST
    filled and confirm it into the user's files. Idempotent; a POST without a genuine
    claim, or outside it, is deleted and never becomes anybody's file."""

    def __init__(self, signer: TokenSigner, drafts: DraftService, posts: OpenPosts) -> None:
        self.signer = signer
        self.drafts = drafts
        self.posts = posts

    def register(self, key: str) -> str:
        """Answers what happened: `confirmed`, `gone` (nothing there: a repeated event),
        `ignored` (not a browser POST) or `refused` (deleted)."""
        match = POST_KEY.match(key)
        if match is None:
            return "ignored"
        info = self.posts.head(key)
        if info is None:
            return "gone"
        claim = info.metadata.get("claim")
        if claim is None:
            return "ignored"  # an ordinary draft: its client confirms it
        claims = self._claims(claim, match.group(1), info)
        if claims is None:
            self.posts.delete(key)
            return "refused"
        request = CreateDraftRequest(
            file_name=claims.file_name,
            size=info.size,
            content_type=claims.content_type,
            user_id=claims.user_id,
            role=claims.role,
        )
        caller = token_caller(claims)
        self.drafts.adopt_draft(caller, request, claims.jti)
        self.drafts.confirm(caller, claims.jti)
        return "confirmed"

    def _claims(self, claim: str, draft_id: str, info: ObjectInfo) -> TokenClaims | None:
        """The claim, if genuine, for this very key, and the bytes within it. Expiry is
        not checked: S3 took the POST before the policy expired, and events come late."""
        try:
            claims = self.signer.verify(claim, "post", at=datetime.fromtimestamp(0, UTC))
        except InvalidTokenError:
            return None
        fits = info.size <= claims.max_file_size and info.content_type == claims.content_type
        return claims if claims.jti == draft_id and fits else None


def _file_name(filename: str) -> str:
    """Uppy's `filename` is the file's own name: a base name, as everywhere in stowage."""
    return check_file_name(filename, field="filename")


def _content_type(name: str, given: str) -> str:
    """The type Uppy gives (the browser's guess), checked like any content type."""
    try:
        request = CreateDraftRequest(file_name=name, size=0, content_type=given or None)
    except ValidationError as exc:
        raise InvalidFieldError("type is not a valid content type", field="type") from exc
    return content_type_for(name, request.content_type)
