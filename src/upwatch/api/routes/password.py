"""`POST /api/v1/me/password`: a signed-in user changes their own password.

Only from a dashboard session, with the current password: a token (even a `*` one) cannot,
because a leaked token must not turn into a password and a sign-in. Operators reset a
password with `upwatch user set-password`. Attempts are limited per user (guessing the
current password), the change is audited, and the user's other sessions end.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import Field

from upwatch.accounts import users
from upwatch.api.auth import SESSION_COOKIE, require
from upwatch.api.deps import Session, State, actor_for
from upwatch.api.schemas import Strict
from upwatch.core.errors import AppError, ErrorCode
from upwatch.core.principal import Principal, Via

router = APIRouter(prefix="/api/v1/me", tags=["me"])
ATTEMPTS = 5
ATTEMPTS_WINDOW_SECONDS = 15 * 60


class PasswordChange(Strict):
    current_password: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=1, max_length=1000)


@router.post(
    "/password",
    status_code=204,
    summary="Change my password (dashboard session only; other sessions end)",
    responses={403: {"description": "Asked with a token: use a session or the CLI."}},
)
async def change_password(
    body: PasswordChange,
    principal: Annotated[Principal, require("organization:read")],
    session: Session,
    state: State,
    request: Request,
) -> Response:
    if principal.via is not Via.SESSION:
        raise AppError(
            ErrorCode.FORBIDDEN,
            "A password is changed from a signed-in session (POST /api/v1/auth/login), "
            "not with a token; operators can use `upwatch user set-password`.",
        )
    await _limit_attempts(state, principal)
    await users.change_password(
        session, actor_for(request, principal), principal,
        current=body.current_password, new=body.new_password,
        session_secret=request.cookies.get(SESSION_COOKIE), now=state.clock.now(),
    )  # fmt: skip
    return Response(status_code=204)


async def _limit_attempts(state: State, principal: Principal) -> None:
    key = f"password:{principal.user_public_id}"
    result = await state.limiter.hit(key, ATTEMPTS, ATTEMPTS_WINDOW_SECONDS)
    if not result.allowed:
        raise AppError(ErrorCode.RATE_LIMITED, headers=result.headers())
