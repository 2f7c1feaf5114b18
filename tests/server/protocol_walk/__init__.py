"""docs/protocol.md, walked: every command and flag it names, sent from every role to a real
server, gets the reply the document names.

Three things are checked against each other:
- the document: every table with a `request` and a `who` column, the room actions' table,
  the `### \\`command\\`` headings;
- `shared.protocol.COMMANDS` and `shared.access.COMMAND_ROLES` (who may send what);
- the server, through `WALK` (walks.py): one entry per command. A command without an entry fails
  `test_every_command_has_a_walk_entry`, so a new command comes with its entry.

A `Walk` entry says how to build a request that the document promises an ack for (`build`,
given the world and the sending login: it may prepare rooms, reservations... with the
manager's connection first) and its `flags`: variants with the code the document names for
them. Every role of the command's *who* sends a freshly built request and must get an ack;
every other role sends the same request and must get `forbidden` (the role is checked
before anything else is looked at, so any request does).

document.py reads the document, world.py holds the store and the connections the requests
are built in, builders.py the `Walk` and `Flag` entries and what builds their requests,
walks.py the table; test_document.py checks the document against the server's tables,
test_walk.py sends everything.
"""
