"""A deterministic, real-looking shop dataset for the quickstart: no network, no service.

``advance(data_dir)`` moves the shop forward by one day and returns which day it now is:

* day 1 creates ``shop.db`` (SQLite: ``customers`` and ``orders``) and ``events/`` (one
  JSON-lines file of web events per day);
* every later day adds new orders, updates some customers (so a ``merge`` has work to do) and
  writes the day's events file.

The same day always produces the same rows (seeded by the day number), so runs are reproducible.
"""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2026, 1, 5, tzinfo=UTC)
CITIES = ["Lisbon", "Oslo", "Lyon", "Turin", "Leeds", "Graz", "Ghent", "Porto", "Malmo", "Brno"]
PRODUCTS = [
    ("espresso-beans", 14.5), ("pour-over-kit", 39.0), ("grinder", 129.0), ("kettle", 59.9),
    ("filter-papers", 4.2), ("mug", 12.0), ("scale", 34.5), ("decaf-beans", 13.9),
]  # fmt: skip
FIRST = ["Ana", "Bo", "Chloe", "Dario", "Eva", "Femi", "Greta", "Hugo", "Ines", "Jonas", "Kai"]
LAST = ["Silva", "Berg", "Martin", "Rossi", "Smith", "Huber", "Peeters", "Costa", "Nilsson"]
CUSTOMERS_DAY_ONE = 400
ORDERS_PER_DAY = 1500
EVENTS_PER_DAY = 3000


def advance(data_dir: Path) -> int:
    """Write the next day of shop data under ``data_dir``; return the day number (1, 2, ...)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "events").mkdir(exist_ok=True)
    with sqlite3.connect(data_dir / "shop.db") as db:
        _create_tables(db)
        day = (db.execute("SELECT COALESCE(MAX(day), 0) FROM days").fetchone()[0] or 0) + 1
        rng = random.Random(day)
        moment = START + timedelta(days=day - 1)
        if day == 1:
            _add_customers(db, rng, moment, range(1, CUSTOMERS_DAY_ONE + 1))
        else:
            _update_customers(db, rng, moment)
            first_new = db.execute("SELECT MAX(id) FROM customers").fetchone()[0] + 1
            _add_customers(db, rng, moment, range(first_new, first_new + 25))
        _add_orders(db, rng, moment)
        db.execute("INSERT INTO days (day, at) VALUES (?, ?)", (day, moment.isoformat()))
    _write_events(data_dir / "events" / f"events-{moment:%Y-%m-%d}.jsonl", rng, moment)
    return day


def _create_tables(db: sqlite3.Connection) -> None:
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS days (day INTEGER PRIMARY KEY, at TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS customers (
            id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, city TEXT NOT NULL,
            tier TEXT NOT NULL, updated_at TIMESTAMP NOT NULL);
        CREATE TABLE IF NOT EXISTS orders (
            id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
            product TEXT NOT NULL, quantity INTEGER NOT NULL, amount REAL NOT NULL,
            status TEXT NOT NULL, ordered_at TIMESTAMP NOT NULL);
        """
    )


def _add_customers(
    db: sqlite3.Connection, rng: random.Random, moment: datetime, ids: range
) -> None:
    rows = []
    for customer_id in ids:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        rows.append(
            (
                customer_id,
                f"{first} {last}",
                f"{first.lower()}.{last.lower()}{customer_id}@example.com",
                rng.choice(CITIES),
                "standard",
                _ts(moment + timedelta(seconds=rng.randrange(86_400))),
            )
        )
    db.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?)", rows)


def _update_customers(db: sqlite3.Connection, rng: random.Random, moment: datetime) -> None:
    count = db.execute("SELECT COUNT(*) FROM customers").fetchone()[0]
    for customer_id in rng.sample(range(1, count + 1), k=40):
        db.execute(
            "UPDATE customers SET tier = ?, city = ?, updated_at = ? WHERE id = ?",
            (
                rng.choice(["silver", "gold"]),
                rng.choice(CITIES),
                _ts(moment + timedelta(seconds=rng.randrange(86_400))),
                customer_id,
            ),
        )


def _add_orders(db: sqlite3.Connection, rng: random.Random, moment: datetime) -> None:
    customers = db.execute("SELECT MAX(id) FROM customers").fetchone()[0]
    first_id = (db.execute("SELECT MAX(id) FROM orders").fetchone()[0] or 0) + 1
    rows = []
    for offset in range(ORDERS_PER_DAY):
        product, price = rng.choice(PRODUCTS)
        quantity = rng.choice([1, 1, 1, 2, 2, 3])
        rows.append(
            (
                first_id + offset,
                rng.randrange(1, customers + 1),
                product,
                quantity,
                round(price * quantity, 2),
                rng.choice(["paid", "paid", "paid", "shipped", "refunded"]),
                _ts(moment + timedelta(seconds=offset * 86_400 // ORDERS_PER_DAY)),
            )
        )
    db.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def _write_events(path: Path, rng: random.Random, moment: datetime) -> None:
    kinds = ["page_view", "page_view", "page_view", "add_to_cart", "search", "checkout"]
    with path.open("w", encoding="utf-8") as out:
        for n in range(EVENTS_PER_DAY):
            event = {
                "event_id": f"{moment:%Y%m%d}-{n:06d}",
                "kind": rng.choice(kinds),
                "session": f"s{rng.randrange(10_000):05d}",
                "path": f"/products/{rng.choice(PRODUCTS)[0]}",
                "at": (moment + timedelta(seconds=n * 86_400 // EVENTS_PER_DAY)).isoformat(),
            }
            out.write(json.dumps(event) + "\n")


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")
