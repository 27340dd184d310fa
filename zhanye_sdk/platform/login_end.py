"""How a login ends, and what a person is told when it does.

Every way a login ends — logout, expiry, kick-out, disable, delete, a password change
or reset, a disabled organization — is announced as ``LoginsEnded`` so that whatever
the login holds open (signaling sockets, the pages' account sockets) closes at once,
saying why in words pages show as they are.
"""

from __future__ import annotations

import enum

import attrs

__all__ = ["EndReason", "LoginsEnded", "end_message", "ended_data"]


class EndReason(enum.StrEnum):
    """Why a login ended (the close reason of its sockets)."""

    LOGGED_OUT = "logged_out"
    EXPIRED = "expired"
    KICKED_OUT = "kicked_out"
    DISABLED = "disabled"
    DELETED = "deleted"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_RESET = "password_reset"
    ORG_DISABLED = "org_disabled"


_MESSAGES: dict[str, tuple[str, str]] = {
    EndReason.LOGGED_OUT: ("you have logged out", "已退出登录"),
    EndReason.EXPIRED: ("your login has expired; log in again", "登录已过期，请重新登录"),
    EndReason.KICKED_OUT: (
        "an administrator signed you out; log in again",
        "已被管理员踢出，请重新登录",
    ),
    EndReason.DISABLED: (
        "your account is disabled; ask an administrator",
        "账号已停用，请联系管理员",
    ),
    EndReason.DELETED: ("your account has been deleted", "账号已删除，请联系管理员"),
    EndReason.PASSWORD_CHANGED: (
        "your password was changed; log in again with the new one",
        "密码已修改，请使用新密码重新登录",
    ),
    EndReason.PASSWORD_RESET: (
        "an administrator reset your password; log in with the new one",
        "密码已被管理员重置，请使用新密码重新登录",
    ),
    EndReason.ORG_DISABLED: (
        "your organization is disabled; ask an administrator",
        "所属机构已停用，请联系管理员",
    ),
}


def end_message(reason: str) -> tuple[str, str]:
    """The English and Chinese sentences that tell a person why their login ended."""
    return _MESSAGES.get(reason, ("your login has ended; log in again", "登录已失效，请重新登录"))


@attrs.frozen
class LoginsEnded:
    """Some or all logins of one account have ended.

    ``login_ids`` ``None`` means every login of the account, except ``kept`` (the login
    that changed the password keeps working).
    """

    account_id: str
    reason: str
    login_ids: frozenset[str] | None = None
    kept: str | None = None

    def covers(self, account_id: str | None, login_id: str | None) -> bool:
        """Whether a connection of ``account_id`` under ``login_id`` must close."""
        if account_id is None or account_id != self.account_id:
            return False
        if self.login_ids is not None:
            return login_id in self.login_ids
        return login_id is None or login_id != self.kept


def ended_data(reason: str) -> dict[str, str]:
    """What a socket tells a page whose login ended: ``{reason, message, message_zh}``."""
    english, chinese = end_message(reason)
    return {"reason": reason, "message": english, "message_zh": chinese}
