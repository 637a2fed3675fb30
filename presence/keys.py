"""Every Redis key presence and locks write, one function per kind (STYLE.md section 2).
All keys share the `sb:` prefix of the bus's channel so one Redis can serve several installs."""

from __future__ import annotations

PREFIX = "sb:"


def lock_key(conversation_id: int) -> str:
    """Hash: holder, name, kind, team, inbox, token, since, active, deadline, prompt (ms)."""
    return f"{PREFIX}lock:{conversation_id}"


def fence_key(conversation_id: int) -> str:
    """The newest fencing token handed out for the conversation (tokens only grow)."""
    return f"{PREFIX}lock-fence:{conversation_id}"


def locks_due_key() -> str:
    """Sorted set of "team:conversation" scored by when the sweeper must next look at it."""
    return f"{PREFIX}locks-due"


def held_key(user_id: int) -> str:
    """Set of conversation ids the user holds (to release them when their last tab closes)."""
    return f"{held_key_prefix()}{user_id}"


def held_key_prefix() -> str:
    return f"{PREFIX}locks-held:"


def connections_key(user_id: int) -> str:
    """Hash of the user's live connections: id -> "alive_ms input_ms viewing"."""
    return f"{PREFIX}conns:{user_id}"


def presence_key(user_id: int) -> str:
    """Hash of the user's last published presence: team, name, kind, status, viewing."""
    return f"{PREFIX}presence:{user_id}"


def team_users_key(team_id: int) -> str:
    """Set of user ids of the team with a presence record (the supervisor board lists them)."""
    return f"{PREFIX}presence-team:{team_id}"


def presence_due_key() -> str:
    """Sorted set of user ids scored by when their status may next change on its own."""
    return f"{PREFIX}presence-due"


def seen_key(user_id: int, conversation_id: int) -> str:
    """Newest message id the user had been shown in the conversation (the traffic cop)."""
    return f"{PREFIX}seen:{user_id}:{conversation_id}"
