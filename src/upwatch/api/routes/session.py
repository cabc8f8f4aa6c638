"""`/api/v1/auth/login|logout`: dashboard sessions in a secure, HttpOnly cookie, with a
CSRF token the dashboard echoes in `X-CSRF-Token` on every write."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from upwatch.accounts import users
from upwatch.api.auth import CSRF_HEADER, SESSION_COOKIE, public
from upwatch.api.deps import Session, State, where_from
from upwatch.api.schemas import EmailAddress, Strict, Timestamp
from upwatch.audit.service import Actor, Source

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Login(Strict):
    email: EmailAddress
    password: str = Field(min_length=1, max_length=1000)


class LoginResult(BaseModel):
    user_id: UUID
    email: str
    organization_id: UUID
    role: str
    csrf_token: str = Field(description=f"Send it back in {CSRF_HEADER} on every write.")
    expires_at: Timestamp


@router.post(
    "/login",
    summary="Sign in; sets the session cookie",
    dependencies=[public],
    responses={401: {"description": "Wrong email or password"}},
)
async def login(
    body: Login, session: Session, state: State, request: Request, response: Response
) -> LoginResult:
    actor = Actor(source=Source.DASHBOARD, **where_from(request))  # type: ignore[arg-type]
    new = await users.login(session, actor, body.email, body.password, state.clock.now())
    response.set_cookie(
        SESSION_COOKIE,
        new.secret,
        expires=new.expires_at,
        httponly=True,
        secure=state.settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    return LoginResult(
        user_id=new.principal.user_public_id,
        email=new.principal.email,
        organization_id=new.principal.organization_public_id,
        role=str(new.principal.role),
        csrf_token=new.csrf_token,
        expires_at=new.expires_at,
    )


@router.post(
    "/logout", status_code=204, summary="Sign out; ends the session", dependencies=[public]
)
async def logout(session: Session, request: Request, response: Response) -> None:
    if cookie := request.cookies.get(SESSION_COOKIE):
        await users.logout(session, cookie)
    response.delete_cookie(SESSION_COOKIE, path="/")
