from tests.desktop.conftest import act, login
def test_dbg(qtbot, window, server):
    login(qtbot, window, server)
    s = window.session
    print("start", s.last_seq, s.frames)
    rooms = [r for r in window.rooms.rooms() if r["room_status"] == "CHECKOUT_DIRTY"][:2]
    act(server, "housekeeping", "room.action", room_number=rooms[0]["room_number"], action="start_cleaning", expected_version=rooms[0]["version"])
    qtbot.wait(500)
    print("after1", s.last_seq, s.frames, s.state)
    orig = s._on_frame
    s._on_frame = lambda m: (print("FRAME", m.get("type"), (m.get("meta") or {}).get("seq"), s.last_seq), orig(m))
    s.last_seq = 0
    act(server, "housekeeping", "room.action", room_number=rooms[1]["room_number"], action="start_cleaning", expected_version=rooms[1]["version"])
    qtbot.wait(1500)
    print("after2", s.last_seq, s.frames, s.state, s.attempts, s._resync)
