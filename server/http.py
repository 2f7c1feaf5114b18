"""The two plain HTTP paths on the WebSocket port: /healthz and /api/rooms/status."""

from __future__ import annotations

import http
import json
import logging
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from server.parts import ServerParts
from shared import protocol
from shared.errors import ErrorCode
from shared.timeutil import to_iso

log = logging.getLogger("roomrack.server")


class HttpPaths(ServerParts):
    """Part of RoomrackServer (server/app.py)."""

    async def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        path = request.path.split("?", 1)[0]
        if path == "/healthz":
            head = {
                "status": "ok",
                "server": "roomrack",
                "protocol": protocol.PROTOCOL_VERSION,
                "epoch": self.store.epoch,
                "time": to_iso(self.clock.now()),
                "connections": len(self.hub.clients),
                "backup": self.backup_health(),
            }
            return json_response(http.HTTPStatus.OK, head)
        if path == "/api/rooms/status":
            auth = request.headers.get("Authorization", "")
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
            staff = (
                await self.store.call(self.store.services.staff_for_token, token, None)
                if token
                else None
            )
            if staff is None:
                return json_response(
                    http.HTTPStatus.UNAUTHORIZED, protocol.error(None, ErrorCode.NOT_AUTHENTICATED)
                )
            rooms = await self.store.call(self.store.services.status_list, staff.hotel_id)
            return json_response(http.HTTPStatus.OK, rooms)
        return json_response(
            http.HTTPStatus.NOT_FOUND,
            {
                "error": "not found",
                "paths": ["/healthz", "/api/rooms/status"],
                "websocket": "connect with a WebSocket client on this port",
            },
        )


def json_response(status: http.HTTPStatus, body: Any) -> Response:
    data = json.dumps(body).encode()
    headers = Headers(
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
            ("Connection", "close"),
        ]
    )
    return Response(status.value, status.phrase, headers, data)
