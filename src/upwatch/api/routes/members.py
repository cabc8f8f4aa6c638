"""`/api/v1/members` and `/api/v1/invitations`: who belongs to the organization."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from upwatch.accounts import members, repository
from upwatch.api.auth import public, require
from upwatch.api.crud import CREATED
from upwatch.api.deps import Session, State, actor_for, where_from
from upwatch.api.pagination import CursorParam, Limit, Pagination, decode_cursor, pagination
from upwatch.api.quotas import enforce_quota
from upwatch.api.schemas import EmailAddress, Strict, Timestamp
from upwatch.audit.service import Actor, Source
from upwatch.core.principal import Principal
from upwatch.core.scopes import Role
from upwatch.logs import get_logger
from upwatch.models import Invitation
from upwatch.net.smtp import Email, email_configured, send_email

router = APIRouter(prefix="/api/v1", tags=["members"])
log = get_logger("upwatch.members")

Reader = Annotated[Principal, require("members:read")]
Writer = Annotated[Principal, require("members:write")]


class MemberRead(BaseModel):
    user_id: UUID
    email: str
    name: str
    role: Role
    joined_at: Timestamp


class MemberList(BaseModel):
    data: list[MemberRead]
    pagination: Pagination


class MemberUpdate(Strict):
    role: Role


class InvitationCreate(Strict):
    email: EmailAddress
    role: Role = Role.MEMBER


class InvitationRead(BaseModel):
    id: UUID
    email: str
    role: Role
    created_at: Timestamp
    expires_at: Timestamp

    @classmethod
    def of(cls, invitation: Invitation) -> InvitationRead:
        return cls(
            id=invitation.public_id,
            email=invitation.email,
            role=Role(invitation.role),
            created_at=invitation.created_at,
            expires_at=invitation.expires_at,
        )


class InvitationCreated(InvitationRead):
    code: str = Field(description="The one-time code to accept with. Shown this once.")
    emailed: bool = Field(description="Whether an email with the code was sent.")


class InvitationList(BaseModel):
    data: list[InvitationRead]
    pagination: Pagination


class InvitationAccept(Strict):
    code: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)
    name: str = Field("", max_length=200)


class Membership(BaseModel):
    user_id: UUID
    email: str
    organization_id: UUID
    role: Role


@router.get("/members", summary="Members of the organization")
async def list_members(
    principal: Reader, session: Session, limit: Limit = 25, cursor: CursorParam = None
) -> MemberList:
    rows, next_key = await repository.members(
        session, principal.organization_id, limit=limit, after=decode_cursor(cursor)
    )
    return MemberList(
        data=[
            MemberRead(
                user_id=user.public_id,
                email=user.email,
                name=user.name,
                role=Role(membership.role),
                joined_at=membership.created_at,
            )
            for user, membership in rows
        ],
        pagination=pagination(limit, next_key),
    )


@router.patch("/members/{user_id}", summary="Change a member's role")
async def update_member(
    user_id: UUID,
    body: MemberUpdate,
    principal: Writer,
    session: Session,
    state: State,
    request: Request,
) -> MemberRead:
    membership, user = await members.change_role(
        session, actor_for(request, principal), principal, user_id, body.role, state.clock.now()
    )
    return MemberRead(
        user_id=user.public_id,
        email=user.email,
        name=user.name,
        role=Role(membership.role),
        joined_at=membership.created_at,
    )


@router.delete("/members/{user_id}", status_code=204, summary="Remove a member")
async def remove_member(
    user_id: UUID, principal: Writer, session: Session, state: State, request: Request
) -> None:
    await members.remove_member(
        session, actor_for(request, principal), principal, user_id, state.clock.now()
    )


@router.get("/invitations", summary="Pending invitations")
async def list_invitations(
    principal: Reader, session: Session, limit: Limit = 25, cursor: CursorParam = None
) -> InvitationList:
    found, next_key = await repository.pending_invitations(
        session, principal.organization_id, limit=limit, after=decode_cursor(cursor)
    )
    return InvitationList(
        data=[InvitationRead.of(item) for item in found], pagination=pagination(limit, next_key)
    )


@router.post("/invitations", status_code=201, responses=CREATED, summary="Invite someone by email")
async def create_invitation(
    body: InvitationCreate,
    principal: Writer,
    session: Session,
    state: State,
    request: Request,
    response: Response,
) -> InvitationCreated:
    await enforce_quota(
        request,
        "members",
        used=await repository.count_members(session, principal.organization_id),
        limit=state.settings.quota_max_members,
    )
    invitation, code = await members.invite(
        session, actor_for(request, principal), principal, body.email, body.role, state.clock.now()
    )
    emailed = False
    if email_configured(state.settings):
        emailed = await _email_invitation(state, invitation, code, principal.email)
    # Withdrawn with DELETE at this URL; the list is where it is read.
    response.headers["Location"] = f"/api/v1/invitations/{invitation.public_id}"
    return InvitationCreated(
        **InvitationRead.of(invitation).model_dump(), code=code, emailed=emailed
    )


async def _email_invitation(state: State, invitation: Invitation, code: str, inviter: str) -> bool:
    url = f"{state.settings.effective_public_url}/api/v1/invitations/accept"
    text = (
        f"{inviter} invited you to join their organization on Upwatch as {invitation.role}.\n\n"
        f"To accept, send your code with the password you want (or your existing one):\n\n"
        f"  curl -X POST {url} -H 'Content-Type: application/json' \\\n"
        f'    -d \'{{"code": "{code}", "password": "<your password>"}}\'\n\n'
        f"The invitation expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC."
    )
    try:
        await send_email(state.settings, Email(invitation.email, "Your Upwatch invitation", text))
    except Exception as exc:  # the invitation stands; the inviter can pass the code on
        log.warning("invitation.email_failed", error=repr(exc))
        return False
    return True


@router.delete("/invitations/{invitation_id}", status_code=204, summary="Withdraw an invitation")
async def revoke_invitation(
    invitation_id: UUID, principal: Writer, session: Session, state: State, request: Request
) -> None:
    await members.revoke_invitation(
        session, actor_for(request, principal), principal, invitation_id, state.clock.now()
    )


@router.post(
    "/invitations/accept",
    summary="Accept an invitation with its code (no sign-in needed)",
    dependencies=[public],
    responses={401: {"description": "Wrong password"}, 404: {"description": "Unknown code"}},
)
async def accept_invitation(
    body: InvitationAccept, session: Session, state: State, request: Request
) -> Membership:
    actor = Actor(source=Source.API, **where_from(request))  # type: ignore[arg-type]
    user, membership = await members.accept_invitation(
        session, actor, body.code, body.password, body.name, state.clock.now()
    )
    organization = await repository.organization_by_id(session, membership.organization_id)
    return Membership(
        user_id=user.public_id,
        email=user.email,
        organization_id=organization.public_id,
        role=Role(membership.role),
    )
