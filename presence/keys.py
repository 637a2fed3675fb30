"""Every Redis key presence and locks write, one method per kind (STYLE.md section 2). Each
carries the deployment's name (`sb:<deployment>:`, the prefix of the bus's channel too), so
deployments sharing one Redis server never touch each other's keys: a Redis database number is
not enough, since pub/sub ignores it (docs/deploy.md)."""

from __future__ import annotations

from dataclasses import dataclass


def deployment_prefix(deployment: str) -> str:
    """What every key and channel of the deployment starts with."""
    return f"sb:{deployment}:"


@dataclass(frozen=True)
class Keys:
    deployment: str

    @property
    def prefix(self) -> str:
        return deployment_prefix(self.deployment)

    def epoch_key(self) -> str:
        """The deployment's epoch: made by the first process to find it missing, so its
        disappearance says Redis lost its data (presence/epoch.py)."""
        return f"{self.prefix}epoch"

    def lock_key(self, conversation_id: int) -> str:
        """Hash: holder, name, kind, team, inbox, token, since, active, deadline, prompt (ms)."""
        return f"{self.prefix}lock:{conversation_id}"

    def fence_key(self, conversation_id: int) -> str:
        """The newest fencing token handed out for the conversation (tokens only grow)."""
        return f"{self.prefix}lock-fence:{conversation_id}"

    def locks_due_key(self) -> str:
        """Sorted set of "team:conversation" scored by when the sweeper must next look at it."""
        return f"{self.prefix}locks-due"

    def held_key(self, user_id: int) -> str:
        """Set of conversation ids the user holds (to release them when their last tab closes)."""
        return f"{self.held_key_prefix()}{user_id}"

    def held_key_prefix(self) -> str:
        return f"{self.prefix}locks-held:"

    def connections_key(self, user_id: int) -> str:
        """Hash of the user's live connections: id -> "alive_ms input_ms viewing"."""
        return f"{self.prefix}conns:{user_id}"

    def presence_key(self, user_id: int) -> str:
        """Hash of the user's last published presence: team, name, kind, status, viewing."""
        return f"{self.prefix}presence:{user_id}"

    def team_users_key(self, team_id: int) -> str:
        """Set of user ids of the team with a presence record (the supervisor board lists them)."""
        return f"{self.prefix}presence-team:{team_id}"

    def presence_due_key(self) -> str:
        """Sorted set of user ids scored by when their status may next change on its own."""
        return f"{self.prefix}presence-due"

    def seen_key(self, user_id: int, conversation_id: int) -> str:
        """Newest message id the user had been shown in the conversation (the traffic cop)."""
        return f"{self.prefix}seen:{user_id}:{conversation_id}"
