"""Hotels, staff and the demo hotel: set-up that happens outside the realtime stream."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server import db as m
from server.passwords import hash_password
from shared import daybook, rollover
from shared.protocol import SLUG_RE
from shared.rules import Priority, Role, RoomStatus

log = logging.getLogger("roomrack.setup")

DEMO_SLUG = "hotel-killarney"
DEMO_PASSWORD = "demo"
DEMO_STAFF = [
    ("housekeeping", "Aoife Murphy", Role.HOUSEKEEPING),
    ("attendant2", "Tomasz Nowak", Role.HOUSEKEEPING),
    ("supervisor", "Sean Byrne", Role.SUPERVISOR),
    ("maintenance", "Liam Walsh", Role.MAINTENANCE),
    ("frontdesk", "Niamh Kelly", Role.FRONT_DESK),
    ("manager", "Ciara O'Brien", Role.MANAGER),
]
ROOM_TYPES = [("Standard Double", 2), ("Twin Room", 2), ("Family Room", 4), ("Suite", 3)]
GUESTS = [
    "Byrne",
    "Ryan",
    "O'Connor",
    "Kennedy",
    "Schmidt",
    "Rossi",
    "Dubois",
    "Garcia",
    "Smith",
    "Jones",
    "Novak",
    "Larsen",
    "Tanaka",
    "Silva",
    "Murphy",
    "Walsh",
    "Fischer",
    "Moreau",
    "Kowalski",
    "Andersen",
    "Costa",
    "Hughes",
    "Keane",
    "Doyle",
    "Brennan",
    "Quinn",
]


class SetupError(Exception):
    pass


def check_new_hotel(slug: str, name: str, timezone: str) -> None:
    """The values of a new hotel, before any store is opened (a refused create-hotel leaves
    no new store behind)."""
    if not SLUG_RE.fullmatch(slug):
        raise SetupError("A hotel slug is lower-case letters, digits and dashes, e.g. 'hotel-x'.")
    if not name.strip():
        raise SetupError("The hotel needs a name, as staff will see it (e.g. 'Hotel Killarney').")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SetupError(f"Unknown time zone '{timezone}' (use e.g. Europe/Dublin).") from None


def create_hotel(slug: str, name: str, timezone: str, now: datetime) -> m.Hotel:
    check_new_hotel(slug, name, timezone)
    if m.Hotel.get_or_none(m.Hotel.slug == slug) is not None:
        raise SetupError(f"Hotel '{slug}' already exists.")
    hotel = m.Hotel.create(slug=slug, name=name, timezone=timezone, created_at=now)
    log.info("created hotel %s (%s, %s)", slug, name, timezone)
    return hotel


def create_staff(
    hotel_slug: str,
    login: str,
    name: str,
    role: str,
    password: str,
    now: datetime,
    password_hash: str | None = None,
) -> m.Staff:
    hotel = m.Hotel.get_or_none(m.Hotel.slug == hotel_slug)
    if hotel is None:
        raise SetupError(f"There is no hotel '{hotel_slug}'.")
    try:
        Role(role)
    except ValueError:
        raise SetupError(f"Role must be one of: {', '.join(r.value for r in Role)}.") from None
    if not login or len(login) > 64:
        raise SetupError("A login is 1 to 64 characters.")
    if m.Staff.get_or_none(m.Staff.login == login) is not None:
        raise SetupError(f"Login '{login}' is taken.")
    if password_hash is None and len(password) < 4:
        raise SetupError("A password needs at least 4 characters.")
    staff = m.Staff.create(
        hotel=hotel,
        login=login,
        name=name,
        role=role,
        password_hash=password_hash or hash_password(password),
        created_at=now,
    )
    log.info("created %s account '%s' for %s", role, login, hotel_slug)
    return staff


@dataclass
class DemoSpec:
    slug: str = DEMO_SLUG
    name: str = "Hotel Killarney (demo)"
    timezone: str = "Europe/Dublin"
    floors: int = 4
    rooms_per_floor: int = 16
    meeting_rooms: int = 4
    with_staff: bool = True
    seed: int = 7


def load_demo(now: datetime, spec: DemoSpec | None = None) -> m.Hotel:
    """A living hotel relative to `now`: every status, in-house guests, arrivals and
    departures today, meeting rooms whose bookings end within 15 minutes."""
    spec = spec or DemoSpec()
    rnd = random.Random(spec.seed)
    tz = ZoneInfo(spec.timezone)
    with m.db.atomic():
        hotel = create_hotel(spec.slug, spec.name, spec.timezone, now)
        types = {n: m.RoomType.create(hotel=hotel, name=n, max_occupancy=c) for n, c in ROOM_TYPES}
        meeting = m.RoomType.create(hotel=hotel, name="Meeting Room", max_occupancy=20)
        if spec.with_staff:
            # the demo's own password, outside the password rule (shared.accounts), which
            # create-staff and the staff commands apply to every real account
            shared_hash = hash_password(DEMO_PASSWORD)
            for login, name, role in DEMO_STAFF:
                suffix = "" if spec.slug == DEMO_SLUG else f"@{spec.slug}"
                create_staff(
                    spec.slug,
                    login + suffix,
                    name,
                    role.value,
                    DEMO_PASSWORD,
                    now,
                    password_hash=shared_hash,
                )
        local = now.astimezone(tz)

        def at(days: int, hour: int, minute: int = 0) -> datetime:
            d = (local + timedelta(days=days)).date()
            return datetime(d.year, d.month, d.day, hour, minute, tzinfo=tz)

        vacant_cycle = [
            RoomStatus.CHECKOUT_DIRTY,
            RoomStatus.READY_FOR_GUEST,
            RoomStatus.CLEANING_IN_PROGRESS,
            RoomStatus.CHECKOUT_DIRTY,
            RoomStatus.CLEANED_UNINSPECTED,
            RoomStatus.READY_FOR_GUEST,
            RoomStatus.READY_FOR_GUEST,
            RoomStatus.MAINTENANCE_REQUIRED,
        ]
        rows: list[dict[str, object]] = []
        stays: list[tuple[int, datetime, datetime, int, str, str]] = []
        sections = "ABCD"
        n = 0
        for floor in range(1, spec.floors + 1):
            for i in range(1, spec.rooms_per_floor + 1):
                n += 1
                number = f"{floor}{i:02d}" if spec.rooms_per_floor < 100 else f"{floor}{i:03d}"
                rt = ROOM_TYPES[(i + floor) % len(ROOM_TYPES) if i % 5 else 2]
                row: dict[str, object] = dict(
                    hotel=hotel,
                    number=number,
                    room_type=types[rt[0]],
                    floor=floor,
                    section=f"{floor}{sections[(i - 1) * len(sections) // spec.rooms_per_floor]}",
                    capacity=rt[1],
                    room_status=RoomStatus.READY_FOR_GUEST.value,
                    updated_at=now,
                )
                occupied = rnd.random() < 0.55
                if occupied:
                    row.update(is_occupied=True, guests_in_room=rnd.randint(1, rt[1]))
                    row["room_status"] = rnd.choice(
                        [
                            RoomStatus.OCCUPIED_DIRTY,
                            RoomStatus.READY_FOR_GUEST,
                            RoomStatus.READY_FOR_GUEST,
                            RoomStatus.OCCUPIED_DIRTY,
                            RoomStatus.CLEANING_IN_PROGRESS,
                        ]
                    ).value
                    if rnd.random() < 0.08:
                        # one of them held long enough to be worth a knock on the door
                        hours = 14 if n % 2 else rnd.randint(1, 5)
                        row.update(do_not_disturb=True, dnd_since=now - timedelta(hours=hours))
                    if n % 17 == 0:  # housekeeping found it empty: a possible skip
                        row.update(hk_occupancy="vacant", hk_observed_at=now)
                else:
                    row["room_status"] = vacant_cycle[n % len(vacant_cycle)].value
                if n % 23 == 0 and not occupied:
                    row.update(
                        room_status=RoomStatus.OUT_OF_ORDER.value,
                        is_out_of_order=True,
                        out_of_order_reason="Water damage to ceiling",
                    )
                if row["room_status"] == RoomStatus.MAINTENANCE_REQUIRED.value or n % 11 == 0:
                    row.update(
                        maintenance_required=True,
                        maintenance_priority=rnd.choice(list(Priority)).value,
                        maintenance_notes=rnd.choice(
                            [
                                "AC not working",
                                "Leaking tap",
                                "TV remote missing",
                                "Light bulb out in bathroom",
                                "Door lock sticks",
                            ]
                        ),
                    )
                if row["room_status"] in ("CLEANED_UNINSPECTED", "READY_FOR_GUEST"):
                    row.update(
                        last_cleaned_at=now - timedelta(minutes=rnd.randint(20, 300)),
                        cleaned_by_staff="Aoife Murphy",
                    )
                if row["room_status"] == "READY_FOR_GUEST":
                    row.update(
                        last_inspected_at=now - timedelta(minutes=rnd.randint(5, 200)),
                        inspected_by_staff="Sean Byrne",
                    )
                rows.append(row)
        for j in range(1, spec.meeting_rooms + 1):
            rows.append(
                dict(
                    hotel=hotel,
                    number=f"M{j:02d}",
                    room_type=meeting,
                    floor=0,
                    building="Conference",
                    section="0M",
                    capacity=20,
                    room_status=RoomStatus.READY_FOR_GUEST.value,
                    updated_at=now,
                )
            )
        rooms = [m.Room.create(**row) for row in rows]
        for idx, room in enumerate(rooms):
            guest = f"{rnd.choice('ABCDEFGHJKLMNPRST')}. {rnd.choice(GUESTS)}"
            if room.floor == 0:
                # meeting rooms: hourly bookings; some end within 15 minutes
                ends = now + timedelta(minutes=[7, 12, 45, 95][idx % 4])
                if idx % 4 != 3:
                    stays.append(
                        (
                            room.id,
                            now - timedelta(minutes=50),
                            ends,
                            12,
                            "checked_in",
                            f"{rnd.choice(GUESTS)} workshop",
                        )
                    )
                    m.Room.update(is_occupied=True, guests_in_room=12).where(
                        m.Room.id == room.id
                    ).execute()
                stays.append(
                    (
                        room.id,
                        ends + timedelta(minutes=30 if idx % 2 else 0),
                        ends + timedelta(minutes=150),
                        8,
                        "confirmed",
                        f"{rnd.choice(GUESTS)} board meeting",
                    )
                )
                continue
            if room.is_occupied:
                kind = idx % 5
                if kind == 0:  # due out today
                    end = at(0, 11) if at(0, 11) > now else now + timedelta(minutes=20 + idx % 240)
                elif kind == 1 and idx % 3 == 0:  # day use ending soon
                    end = now + timedelta(minutes=4 + idx % 10)
                else:
                    end = at(1 + idx % 4, 11)
                stays.append(
                    (room.id, at(-1 - idx % 3, 15), end, room.guests_in_room, "checked_in", guest)
                )
            elif idx % 3 == 0 and not room.is_out_of_order:
                start = max(at(0, 15), now + timedelta(minutes=30))
                stays.append(
                    (
                        room.id,
                        start,
                        at(2 + idx % 3, 11),
                        2,
                        "confirmed" if idx % 4 else "pending",
                        guest,
                    )
                )
            elif idx % 7 == 1:
                stays.append((room.id, at(0, 16), at(1, 11), 1, "cancelled", guest))
        m.Reservation.insert_many(
            [
                dict(
                    hotel=hotel,
                    room=r,
                    guest_name=g,
                    start=s,
                    end=e,
                    guests=gs,
                    state=st,
                    created_at=now - timedelta(days=3),
                    updated_at=now,
                    checked_in_at=s if st == "checked_in" else None,
                )
                for r, s, e, gs, st, g in stays
            ]
        ).execute()
        _demo_operations(hotel, rooms, now, at, spec)
        _demo_day(hotel, now, tz)
    log.info("loaded demo hotel %s: %d rooms, %d reservations", spec.slug, len(rooms), len(stays))
    return hotel


def _demo_day(hotel: m.Hotel, now: datetime, tz: ZoneInfo) -> None:
    """The business day so far, with the work the demo's rooms show done since its start."""
    day = rollover.business_date(now, tz, hotel.rollover_hour)
    start = rollover.rollover_at(day, tz, hotel.rollover_hour)
    counts = daybook.empty()
    for room in m.Room.select().where(m.Room.hotel == hotel):
        if room.last_cleaned_at is not None and room.last_cleaned_at >= start:
            counts["cleaned"] += 1
        if room.last_inspected_at is not None and room.last_inspected_at >= start:
            counts["inspected"] += 1
    counts["checked_in"] = (
        m.Reservation.select()
        .where(
            (m.Reservation.hotel == hotel)
            & (m.Reservation.state == "checked_in")
            & (m.Reservation.checked_in_at >= start)
        )
        .count()
    )
    m.Hotel.update(business_date=day.isoformat(), day_counts=json.dumps(counts)).where(
        m.Hotel.id == hotel.id
    ).execute()


def _demo_operations(
    hotel: m.Hotel,
    rooms: list[m.Room],
    now: datetime,
    at: Callable[[int, int], datetime],
    spec: DemoSpec,
) -> None:
    """What a morning looks like: blocks in force and to come, rooms given to the two
    attendants floor by floor, and one room the front desk is waiting for."""
    guest_rooms = [r for r in rooms if r.floor > 0]
    engineer = "Liam Walsh"

    def block(room: m.Room, kind: str, reason: str, start: datetime, end: datetime) -> None:
        b = m.Block.create(
            hotel=hotel,
            room=room.id,
            kind=kind,
            reason=reason,
            start=start,
            end=end,
            return_status=RoomStatus.CHECKOUT_DIRTY.value,
            state="active" if start <= now else "scheduled",
            created_by=engineer,
            created_at=now - timedelta(days=1),
        )
        if start <= now:
            m.Room.update(
                block_id=b.id,
                block_kind=kind,
                block_reason=reason,
                block_start=start,
                block_end=end,
                block_return_status=b.return_status,
                is_out_of_service=kind == "out_of_service",
            ).where(m.Room.id == room.id).execute()

    for i, room in enumerate(r for r in guest_rooms if r.is_out_of_order):
        block(
            room,
            "out_of_order",
            room.out_of_order_reason or "Repairs",
            now - timedelta(days=1),
            at(1 + i, 17),
        )
    spare = [
        r
        for r in guest_rooms
        if not r.is_occupied
        and not r.is_out_of_order
        and not r.maintenance_required
        and not m.Reservation.select().where(m.Reservation.room == r.id).exists()
    ]
    if len(spare) >= 2:
        block(
            spare[0],
            "out_of_service",
            "Carpet shampoo",
            now - timedelta(hours=1),
            now + timedelta(hours=5),
        )
        block(spare[-1], "out_of_order", "Bathroom retiling", at(3, 8), at(5, 17))
    if not spec.with_staff:
        return
    suffix = "" if spec.slug == DEMO_SLUG else f"@{spec.slug}"
    attendants = [
        m.Staff.get(m.Staff.login == login + suffix) for login in ("housekeeping", "attendant2")
    ]
    floors = sorted({r.floor for r in guest_rooms})
    for room in guest_rooms:
        who = attendants[floors.index(room.floor) * len(attendants) // len(floors)]
        m.Room.update(assigned_to_id=who.id, assigned_to_name=who.name).where(
            m.Room.id == room.id
        ).execute()
    desk = m.Staff.get(m.Staff.login == "frontdesk" + suffix)
    waiting = [
        r
        for r in guest_rooms
        if r.room_status == RoomStatus.CHECKOUT_DIRTY.value
        and not r.is_occupied
        and not r.is_out_of_order
        and m.Reservation.select()
        .where((m.Reservation.room == r.id) & (m.Reservation.state.in_(["pending", "confirmed"])))
        .exists()
    ]
    if waiting:
        m.Room.update(
            rush_requested_at=now - timedelta(minutes=12),
            rush_requested_by_id=desk.id,
            rush_requested_by=desk.name,
            rush_workstation="Reception",
            rush_note="Guests waiting in the lobby",
        ).where(m.Room.id == waiting[0].id).execute()
