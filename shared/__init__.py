"""Pure core shared by the Roomrack server and desktop: protocol, rules, occupancy.

No I/O: importing it loads none of websockets, PySide6 or peewee.
"""
