"""End to end: a real server on a free port, real websocket clients, a real SQLite file."""
