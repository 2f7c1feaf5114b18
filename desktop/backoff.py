"""Reconnect delays: exponential backoff with full jitter, capped, never giving up."""

from __future__ import annotations

import random


class Backoff:
    """Delays of 0.5 s, 1 s, 2 s ... up to `cap`, each drawn at random between half and all
    of that step (so a room full of workstations does not reconnect in lockstep)."""

    def __init__(
        self,
        base: float = 0.5,
        factor: float = 2.0,
        cap: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        self.base, self.factor, self.cap = base, factor, cap
        self.rng = rng or random.Random()
        self.attempt = 0

    def next(self) -> float:
        step = min(self.cap, self.base * self.factor**self.attempt)
        self.attempt += 1
        return step / 2 + self.rng.random() * step / 2

    def reset(self) -> None:
        self.attempt = 0
