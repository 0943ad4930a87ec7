"""The database gateway: the one way a process reaches its control database.

CoreService opens it once, after prepare_home; Scout and Parser Bench use it, each through the
functions of the module that owns a table (scout/, engine/parser_tests.py). It holds:
- one writer connection, used by one caller at a time: every short write (a source, a rule, a
  tagging, a test record) goes through it, so writes of this process never wait on each other
  inside SQLite;
- reader connections, pooled: WAL lets them read while a write goes on, and they refuse to
  write (query_only);
- on demand, a connection of its own for work that commits in batches for minutes (a scan,
  the path index's fill): short writes then go between its batches instead of after it.
Async callers use `read` and `write`, which run the work in a thread, so the event loop never
blocks on SQLite; code already in a worker thread uses `reading` and `writing`.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from casparian_core.db.connection import connect, translated_errors

T = TypeVar("T")
P = ParamSpec("P")


class Gateway:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: sqlite3.Connection | None = None
        self._write_lock = threading.Lock()
        self._idle_readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._watcher: sqlite3.Connection | None = None  # data_version is per connection
        self._watch_lock = threading.Lock()
        self._open_lock = threading.Lock()

    def open(self) -> None:
        """Open the writer, bringing the schema up to date (a no-op after prepare_home)."""
        with self._open_lock, translated_errors(self.path):
            if self._writer is None:
                self._writer = connect(self.path)

    @property
    def is_open(self) -> bool:
        return self._writer is not None

    def close(self) -> None:
        with self._open_lock:
            with self._readers_lock:
                readers, self._idle_readers = self._idle_readers, []
            for conn in readers:
                conn.close()
            with self._watch_lock:
                if self._watcher is not None:
                    self._watcher.close()
                    self._watcher = None
            with self._write_lock:
                if self._writer is not None:
                    self._writer.close()
                    self._writer = None

    # From async code.

    async def read(
        self,
        work: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """`work(conn, ...)` on a reader connection, in a thread."""
        return await asyncio.to_thread(self._read, partial(work, **kwargs), *args)

    async def write(
        self,
        work: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """`work(conn, ...)` on the writer connection, in a thread, one caller at a time."""
        return await asyncio.to_thread(self._write, partial(work, **kwargs), *args)

    async def data_version(self) -> int:
        """Changes whenever another connection commits: how we notice the CLI or a daemon."""
        return await asyncio.to_thread(self._data_version)

    # From worker threads.

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        conn = self._take_reader()
        try:
            with translated_errors(self.path):
                yield conn
        finally:
            with self._readers_lock:
                self._idle_readers.append(conn)

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock, translated_errors(self.path):
            yield self._opened_writer()

    @contextmanager
    def own_connection(self) -> Iterator[sqlite3.Connection]:
        """A connection for long batched work (a scan), closed at the end of the block."""
        self._opened_writer()  # the schema is checked and migrated once, by the writer
        with translated_errors(self.path):
            conn = connect(self.path, migrating=False)
        try:
            with translated_errors(self.path):
                yield conn
        finally:
            conn.close()

    def _read(self, work: Callable[..., T], *args: object) -> T:
        with self.reading() as conn:
            return work(conn, *args)

    def _write(self, work: Callable[..., T], *args: object) -> T:
        with self.writing() as conn:
            return work(conn, *args)

    def _data_version(self) -> int:
        with self._watch_lock, translated_errors(self.path):
            if self._watcher is None:
                self._watcher = self._new_reader()
            return self._watcher.execute("PRAGMA data_version").fetchone()[0]

    def _opened_writer(self) -> sqlite3.Connection:
        if self._writer is None:
            raise RuntimeError("the database gateway is not open (CoreService.start())")
        return self._writer

    def _take_reader(self) -> sqlite3.Connection:
        with self._readers_lock:
            if self._idle_readers:
                return self._idle_readers.pop()
        with translated_errors(self.path):
            return self._new_reader()

    def _new_reader(self) -> sqlite3.Connection:
        self._opened_writer()
        conn = connect(self.path, migrating=False)
        conn.execute("PRAGMA query_only = ON")
        return conn
