"""Types shared by locks and presence."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Holder:
    """Who holds a lock or has a connection: a user (or bot), by id and display name."""

    id: int
    name: str
    kind: str = "user"  # "user" | "bot"

    def view(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "kind": self.kind}
