"""What the server does on its clock: heartbeats, the clock round (blocks that start
and end, discrepancies, the night roll-over, certificate rotation, the daily backup),
commits of other processes, and pruning the journal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import timedelta
from typing import Any

from server import wire
from server.backup import BackupError, DailyBackup
from server.parts import ServerParts
from shared import protocol
from shared.timeutil import to_iso

log = logging.getLogger("roomrack.server")


class ClockRounds(ServerParts):
    """Part of RoomrackServer (server/app.py)."""

    async def certificate_now(self) -> bool:
        """Serve the next certificate once a rotation's grace period is over (new connections
        get it; live ones keep theirs). True if it switched."""
        if self.tls is None or not self.tls.switch_if_due(self.clock.now()):
            return False
        log.info("now serving the next certificate, %s", self.fingerprint_code)
        if self.announcer is not None:
            with contextlib.suppress(Exception):
                await self.announcer.update(self.fingerprint_code)
        return True

    async def _heartbeat_loop(self, kind: str, interval: float) -> None:
        while True:
            await self.clock.sleep(interval)
            try:
                await self.heartbeat(kind)
            except Exception:
                log.exception("heartbeat failed")

    async def heartbeat(self, kind: str) -> int:
        """Send one round of `kind` heartbeats ("overview" or "room"); returns frames sent."""
        by_hotel: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
        for ch, subs in self.hub.subs.items():
            if not subs:
                continue
            slug, k, room = protocol.parse_channel(ch)
            if k == kind:
                by_hotel[slug].append((ch, room))
        sent = 0
        for slug, chans in by_hotel.items():
            try:  # one hotel's trouble must not silence the others
                sent += await self._heartbeat_hotel(self.hub.hotel_of[slug], chans)
            except Exception:
                log.exception("heartbeat for hotel %s failed", slug)
        return sent

    async def _heartbeat_hotel(self, hid: int, chans: list[tuple[str, str | None]]) -> int:
        services = self.store.services
        head = await self.store.call(services.head_seq, hid)
        now = to_iso(self.clock.now())
        sent = 0
        for ch, room in chans:
            frame: dict[str, Any] = {
                "type": "heartbeat",
                "channel": ch,
                "head_seq": head,
                "server_time": now,
                "timestamp": now,
            }
            if room is None:
                frame["rooms"] = await self.store.call(services.status_list, hid)
            else:
                frame["status"] = await self.store.call(services.room_status_entry, hid, room)
            data = wire.Shared(protocol.dumps(frame).encode())  # framed once for every desk
            for c in list(self.hub.subs.get(ch, ())):
                if c.pending is None and self.hub.send(c, data):
                    sent += 1
        return sent

    async def _clock_loop(self) -> None:
        """Live sessions are checked against the store every `session_check` seconds (an
        account disabled from the command line ends its desks at once); the clock's round
        runs every 60 s."""
        every = min(60.0, self.config.session_check) if self.config.session_check > 0 else 60.0
        last_round = self.clock.monotonic()
        while True:
            await self.clock.sleep(every)
            await self.staff_commands.check_sessions()
            if self.clock.monotonic() - last_round >= 60:
                last_round = self.clock.monotonic()
                await self.clock_round()

    async def clock_round(self) -> None:
        """What the server's clock drives, once a minute and once before serving: the night
        roll-over, blocks starting and ending, discrepancies raised and cleared."""
        for what, step in (
            ("publishing commits of other processes", self.external_now),
            ("night roll-over", self.rollover_now),
            ("starting or ending blocks", self.blocks_now),
            ("looking for discrepancies", self.discrepancies_now),
            ("starting the daily backup", self._start_backup_if_due),
            ("switching the certificate", self.certificate_now),
        ):
            try:
                await step()
            except Exception:
                log.exception("%s failed", what)

    async def external_now(self) -> int:
        """Publish what other processes (the command line) committed; returns how many."""
        return await self.store.notice_external()

    async def _external_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.external_poll)  # real time on purpose: see Config
            try:
                await self.external_now()
            except Exception:
                log.exception("looking for commits of other processes failed")

    async def blocks_now(self) -> int:
        """Start and end the blocks whose time has come; returns how many hotels had some."""
        services = self.store.services
        hotels = await self.store.call(services.blocks_due)
        for hotel_id in hotels:
            outcome = await self.store.write(services.block_tick, hotel_id)
            for ev in outcome.events:
                log.info("blocks: hotel %s event %s", hotel_id, ev.seq)
        return len(hotels)

    async def discrepancies_now(self) -> int:
        """Look for discrepancies in every hotel; returns how many were raised or cleared."""
        services = self.store.services
        changes = 0
        for hotel_id in await self.store.call(services.hotel_ids):
            outcome = await self.store.write(services.discrepancy_scan, hotel_id)
            changes += len(outcome.events)
        return changes

    async def rollover_now(self) -> int:
        """Roll over every hotel whose roll-over hour has come; returns how many did."""
        services = self.store.services
        due = await self.store.call(services.rollovers_due)
        for hotel_id, day in due:
            outcome = await self.store.write(services.rollover, hotel_id, day)
            rooms = len(outcome.events) - 1 if outcome.events else 0
            log.info(
                "night roll-over: hotel %s is now on %s (%d rooms need service)",
                hotel_id,
                day,
                rooms,
            )
        return len(due)

    async def backup_if_due(self) -> None:
        """Make the daily backup if its time has come, or wait for the one under way."""
        await self._start_backup_if_due()
        if self._backup_task is not None:
            await asyncio.shield(self._backup_task)

    async def _backup_finished(self) -> None:
        """Let a daily backup under way finish (or fail) before the store is let go of."""
        if self._backup_task is not None:
            with contextlib.suppress(Exception):
                await self._backup_task

    def backup_health(self) -> dict[str, Any] | None:
        """The daily backup as `/healthz` reports it (None: there is none)."""
        if self.backups is None:
            return None
        last, failed = self.backups.last_made, self.backups.failed_at
        return {
            "last_made": to_iso(last) if last else None,
            "last_failed": to_iso(failed) if failed else None,
        }

    async def _start_backup_if_due(self) -> int:
        """Start the daily backup in a thread of its own if it is due and none is running
        (the clock round does not wait for it); returns 1 if one was started."""
        running = self._backup_task is not None and not self._backup_task.done()
        if self.backups is None or running or not self.backups.due(self.clock.now()):
            return 0
        self._backup_task = asyncio.create_task(self._daily_backup(self.backups))
        return 1

    async def _daily_backup(self, backups: DailyBackup) -> None:
        try:
            made, removed = await asyncio.to_thread(backups.run, self.clock.now())
        except BackupError as exc:
            log.error("daily backup failed: %s Next try in an hour.", exc)
            return
        except Exception:
            log.exception("daily backup failed; next try in an hour")
            return
        log.info(
            "daily backup: wrote %s (%s, checked)%s",
            made.path,
            made.size_words,
            f"; removed {len(removed)} older: {', '.join(p.name for p in removed)}"
            if removed
            else "",
        )

    async def _prune_loop(self) -> None:
        while True:
            await self.clock.sleep(3600)
            try:
                n = await self.store.call(
                    self.store.services.prune, timedelta(days=self.config.retention_days)
                )
                if n:
                    log.info(
                        "journal: removed %d events older than %s days",
                        n,
                        self.config.retention_days,
                    )
            except Exception:
                log.exception("journal pruning failed")
