"""The Roomrack server: websockets + peewee/SQLite."""
