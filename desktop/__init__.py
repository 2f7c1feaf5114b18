"""The Roomrack desktop: PySide6 + qasync."""
