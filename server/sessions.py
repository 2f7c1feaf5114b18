"""The commands of a connection itself: logging in and out, subscribing (a snapshot
consistent with a seq, or a replay of what a desk missed), presence, ping, pairing."""

from __future__ import annotations

import logging
from typing import Any

from websockets.exceptions import ConnectionClosedOK

from server.commands.staff import address_of
from server.hub import CLOSE_LOGGED_OUT, CLOSE_RESUME_AGAIN, Client, batch_frames
from server.journal import StaffInfo, StoredEvent
from server.parts import ServerParts
from shared import protocol
from shared.errors import ErrorCode, ProtocolError
from shared.pairing import pairing_proof
from shared.timeutil import to_iso

log = logging.getLogger("roomrack.server")
REPLAY_PAGE = 1000  # journal rows read per store call while resuming


class ConnectionCommands(ServerParts):
    """Part of RoomrackServer (server/app.py)."""

    def _session_result(self, staff: StaffInfo, token: str, expires: str | None) -> dict[str, Any]:
        slug = staff.hotel_slug
        return {
            "token": token,
            "expires_at": expires,
            "staff": staff.public(),
            "hotel": {"slug": slug, "name": staff.hotel_name, "timezone": staff.timezone},
            "epoch": self.store.epoch,
            "channels": [protocol.overview_channel(slug), protocol.reservations_channel(slug)],
        }

    async def _login(self, client: Client, cmd: protocol.Login) -> dict[str, Any]:
        address = address_of(client.peer)
        if not self.guard.allowed(cmd.login, address) or not client.logins.take():
            raise ProtocolError(
                ErrorCode.RATE_LIMITED, "Too many login attempts; wait a little and try again."
            )
        return await self.staff_commands.login(client, cmd, address)

    async def _token_login(self, client: Client, cmd: protocol.TokenLogin) -> dict[str, Any]:
        if not client.logins.take():
            raise ProtocolError(
                ErrorCode.RATE_LIMITED, "Too many login attempts; wait a little and try again."
            )
        # (in a group commit: when every desk comes back at once, one fsync serves them all)
        staff, session_id = await self.store.grouped(
            self.accounts.resume, cmd.token, cmd.workstation
        )
        self._bind(client, staff, cmd.token, session_id)
        log.info("%s resumed a session (%s)", client.label(), staff.role.value)
        return protocol.ack(cmd.request_id, self._session_result(staff, cmd.token, None))

    def _bind(self, client: Client, staff: StaffInfo, token: str, session_id: int) -> None:
        previous = client.staff
        self._end_stream(client)  # a new session starts a new stream (seqs are per hotel)
        client.staff, client.token, client.session_id = staff, token, session_id
        client.online_since = to_iso(self.clock.now())
        if previous is not None and previous.hotel_slug != staff.hotel_slug:
            self._announce(previous.hotel_slug)
        self._announce(staff.hotel_slug)

    def _end_stream(self, client: Client) -> None:
        """Forget everything of the connection's stream: its subscriptions, the last seq it
        was sent, what it is viewing. Sequence numbers are per hotel, so a stream cannot
        carry over from one session to the next (above all not into another hotel). Runs
        under the client's lock, so no subscribe of this connection is being answered."""
        self.hub.remove(client)
        client.pending, client.pending_bytes = None, 0
        client.last_seq = 0
        client.batch = False
        client.viewing = None
        client.online_since = None

    def _announce(self, slug: str) -> None:
        self.hub.announce(slug, lambda: to_iso(self.clock.now()))

    async def _logout(self, client: Client, cmd: protocol.Logout) -> dict[str, Any]:
        await self.store.call(self.accounts.logout, client.session_id)
        self._end_stream(client)
        log.info("%s logged out", client.label())
        for other in list(self.hub.clients):  # the token stops working everywhere
            if other is not client and other.token is not None and other.token == client.token:
                other.staff = other.token = other.session_id = None
                self.hub.remove(other)  # it is closed: its stream ends with it
                self._spawn(other.ws.close(CLOSE_LOGGED_OUT, "logged out elsewhere"))
        staff, client.staff, client.token = client.staff, None, None
        client.session_id = None
        if staff is not None:
            self._announce(staff.hotel_slug)
        return protocol.ack(cmd.request_id, {})

    async def _viewing(self, client: Client, cmd: protocol.PresenceViewing) -> dict[str, Any]:
        staff = client.staff
        assert staff is not None
        number = cmd.room_number
        if number is not None and not await self.store.call(
            self.store.services.room_exists, staff.hotel_id, number
        ):
            raise ProtocolError(ErrorCode.UNKNOWN_ROOM, f"There is no room {number[:16]}.")
        if client.viewing != number:
            client.viewing = number
            self._announce(staff.hotel_slug)
        return protocol.ack(cmd.request_id, {"viewing": number})

    async def _subscribe(self, client: Client, cmd: protocol.Subscribe) -> dict[str, Any] | None:
        staff = client.staff
        assert staff is not None
        if not cmd.channels:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "Name at least one channel.")
        services = self.store.services
        since_seq: int | None = None
        if cmd.since is not None:
            epoch, seq = cmd.since.get("epoch"), cmd.since.get("seq")
            if (
                not isinstance(epoch, str)
                or not isinstance(seq, int)
                or isinstance(seq, bool)
                or set(cmd.since) != {"epoch", "seq"}
            ):
                raise ProtocolError(
                    ErrorCode.BAD_REQUEST, '\'since\' is {"epoch": text, "seq": number}.'
                )
            if client.channels:
                raise ProtocolError(
                    ErrorCode.BAD_REQUEST,
                    "Resume with 'since' on the first subscribe of a connection.",
                )
            since_seq = seq
        wanted: list[tuple[str, str, str | None]] = []
        for name in dict.fromkeys(cmd.channels):
            slug, kind, room = protocol.parse_channel(name)
            if slug != staff.hotel_slug:
                raise ProtocolError(
                    ErrorCode.UNKNOWN_CHANNEL, f"There is no channel '{name}' for your hotel."
                )
            if name not in client.channels:
                wanted.append((name, kind, room))
        rooms = [r for _, _, r in wanted if r is not None]
        if rooms:
            missing = await self.store.call(services.missing_rooms, staff.hotel_id, rooms)
            if missing:
                raise ProtocolError(ErrorCode.UNKNOWN_ROOM, f"There is no room {missing[0]}.")
        if cmd.batch:
            client.batch = True  # from now on, for the rest of this connection's stream
        if not wanted:
            return protocol.ack(
                cmd.request_id, {"channels": sorted(client.channels), "mode": "none"}
            )
        names = [w[0] for w in wanted]
        kinds = [(k, r) for _, k, r in wanted]
        old_last = client.last_seq
        plan: tuple[int, int] | str | None = None
        if since_seq is not None:
            if cmd.since is not None and cmd.since.get("epoch") != self.store.epoch:
                plan = "the server's store was replaced or restored"
            else:
                plan = await self.store.call(
                    services.resume_plan,
                    staff.hotel_id,
                    since_seq,
                    self.config.replay_limit,
                    kinds,
                )
        # From here until the end, this client's events wait in `pending`, in order.
        client.pending, client.pending_bytes = [], 0
        self.hub.hotel_of[staff.hotel_slug] = staff.hotel_id
        self.hub.add(client, names)
        try:
            if isinstance(plan, tuple):
                base = await self._replay(client, cmd, staff, since_seq or 0, plan, kinds, names)
            else:
                base = await self._snapshot(client, cmd, staff, kinds, names, old_last, plan)
        except BaseException:
            # undo: the new channels go, and what came for the old ones is still delivered
            self.hub.remove(client, names)
            waiting, client.pending = client.pending or [], None
            self._flush(client, waiting, old_last, client.channels)
            raise
        waiting, client.pending = client.pending, None
        client.last_seq = max(old_last, base)
        self._flush(client, [e for e in waiting if e.seq > base], client.last_seq, client.channels)
        if protocol.overview_channel(staff.hotel_slug) in client.channels:
            now = to_iso(self.clock.now())
            self.hub.send(client, self.hub.presence_frame(staff.hotel_slug, now))
        return None

    async def _snapshot(
        self,
        client: Client,
        cmd: protocol.Subscribe,
        staff: StaffInfo,
        kinds: list[tuple[str, str | None]],
        names: list[str],
        old_last: int,
        refused: str | None,
    ) -> int:
        """Reply, then the events of channels held before up to the snapshot, then the
        snapshots (all at one seq). Returns that seq."""
        base, snaps = await self.store.call(
            self.store.services.snapshot_frames, staff.hotel_id, kinds
        )
        result: dict[str, Any] = {
            "channels": sorted(client.channels),
            "mode": "snapshot",
            "head_seq": base,
        }
        if refused is not None:
            result.update(resumed=False, reason=refused)
        await client.ws.send(protocol.dumps(protocol.ack(cmd.request_id, result)))
        held = client.channels - set(names)
        assert client.pending is not None
        earlier = [e for e in client.pending if e.seq <= base]
        client.pending = [e for e in client.pending if e.seq > base]
        client.pending_bytes = sum(len(e.frame) for e in client.pending)
        for ev in earlier:
            if ev.seq > old_last and ev.channels & held:
                await client.ws.send(ev.frame)
        for snap in snaps:
            await self.hub.send_now(client, snap)
        return base

    async def _replay(
        self,
        client: Client,
        cmd: protocol.Subscribe,
        staff: StaffInfo,
        since: int,
        plan: tuple[int, int],
        kinds: list[tuple[str, str | None]],
        names: list[str],
    ) -> int:
        """Reply, then every missed event, page by page, at the pace the client reads them
        (so a long absence is not mistaken for a slow client). Returns the last seq sent."""
        head, count = plan
        result = {
            "channels": sorted(client.channels),
            "mode": "resume",
            "resumed": True,
            "from_seq": since,
            "head_seq": head,
            "replayed": count,
        }
        await client.ws.send(protocol.dumps(protocol.ack(cmd.request_id, result)))
        after = since
        while after < head:
            page = await self.store.call(
                self.store.services.replay_page, staff.hotel_id, after, head, kinds, REPLAY_PAGE
            )
            if page is None:  # the journal was pruned under us: start again, told why
                await client.ws.close(CLOSE_RESUME_AGAIN, "journal moved on; resume again")
                raise ConnectionClosedOK(None, None)
            if not page:
                break
            if client.batch:
                for batch in batch_frames([ev.frame.encode() for ev in page]):
                    await self.hub.send_now(client, batch)
            else:
                for ev in page:
                    await client.ws.send(ev.frame)
            after = page[-1].seq
        return head

    def _flush(
        self, client: Client, events: list[StoredEvent], after: int, channels: set[str]
    ) -> None:
        datas = []
        for ev in events:
            if ev.seq > after and ev.channels & channels:
                client.last_seq = max(client.last_seq, ev.seq)
                datas.append(ev.frame.encode())
        self.hub.send_events(client, datas)

    async def _unsubscribe(self, client: Client, cmd: protocol.Unsubscribe) -> dict[str, Any]:
        self.hub.remove(client, cmd.channels)
        return protocol.ack(cmd.request_id, {"channels": sorted(client.channels)})

    async def _ping(self, client: Client, cmd: protocol.Ping) -> dict[str, Any]:
        return protocol.ack(cmd.request_id, {"server_time": to_iso(self.clock.now())})

    async def _pair_prove(self, client: Client, cmd: protocol.PairProve) -> dict[str, Any]:
        """Answer a desktop's nonce with the proof of the waiting pairing code over the
        certificate served now (shared/pairing.py); each answer uses the code up once."""
        if not client.logins.take():
            raise ProtocolError(
                ErrorCode.RATE_LIMITED, "Too many attempts; wait a little and try again."
            )
        if not 8 <= len(cmd.nonce) <= 128:  # the value first, then the server's state
            raise ProtocolError(ErrorCode.BAD_REQUEST, "'nonce' must be 8 to 128 characters.")
        cert = self.tls.current() if self.tls else None
        if cert is None:
            raise ProtocolError(
                ErrorCode.PAIRING_UNAVAILABLE,
                "This server runs without TLS (--insecure): there is nothing to pair.",
            )
        code = self.tls.take_pairing(self.clock.now()) if self.tls else None
        if code is None:
            raise ProtocolError(ErrorCode.PAIRING_UNAVAILABLE)
        log.info("pairing proof given to %s", client.label())
        proof = pairing_proof(code, cert.sha256, cmd.nonce)
        return protocol.ack(cmd.request_id, {"proof": proof, "fingerprint": cert.sha256})
