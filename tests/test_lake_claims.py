"""Key claims: processes claiming overlapping keys at once agree on one id per key."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pipeline.errors import LakeConfigError
from pipeline.lake import WarehouseLocation, parse_warehouse_url
from pipeline.lakeclaims import Claim, open_key_claims
from tests.pg import drop_lake_tables

if TYPE_CHECKING:
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Barrier

PROCESSES = 4
ROUNDS = 10


def test_a_claim_is_new_once_then_returns_the_same_id(lake_location: WarehouseLocation) -> None:
    with open_key_claims(lake_location) as claims:
        first = claims.claim("articles", ["a", "b", "a"])
        assert set(first) == {"a", "b"} and all(c.new for c in first.values())
        assert first["a"].id != first["b"].id
        again = claims.claim("articles", ["b", "c"])
        assert again["b"] == Claim(first["b"].id, False)
        assert again["c"].new and again["c"].id not in {first["a"].id, first["b"].id}
        # Namespaces are apart: the same key elsewhere is new there.
        assert claims.claim("feeds", ["a"])["a"].new
        assert claims.claim("articles", []) == {}
        ids = claims.allocate("runs", 3)
        assert len(set(ids)) == 3 and claims.allocate("runs", 1)[0] > max(ids)


def test_namespaces_are_identifiers(lake_location: WarehouseLocation) -> None:
    with open_key_claims(lake_location) as claims, pytest.raises(ValueError, match="namespace"):
        claims.claim("articles; DROP TABLE x", ["a"])


def _claimer(
    location: WarehouseLocation,
    worker: int,
    start: Barrier,
    results: Queue[Any],
) -> None:
    """One process: ROUNDS claims of 30 keys, each overlapping the other processes' keys."""
    with open_key_claims(location) as claims:
        claims.claim("warmup", [f"w{worker}"])
        start.wait()
        got: list[tuple[str, int, bool]] = []
        latencies: list[float] = []
        for round_ in range(ROUNDS):
            # 30 keys: 10 claimed by all four, 10 by a pair, 10 by this worker alone.
            keys = [f"all-{round_}-{i}" for i in range(10)]
            keys += [f"pair-{worker // 2}-{round_}-{i}" for i in range(10)]
            keys += [f"own-{worker}-{round_}-{i}" for i in range(10)]
            began = time.perf_counter()
            claimed = claims.claim("articles", keys[::-1] if worker % 2 else keys)
            latencies.append(time.perf_counter() - began)
            got.extend((k, c.id, c.new) for k, c in claimed.items())
        results.put((worker, got, latencies))


def _run_processes(target: Callable[..., None], location: WarehouseLocation) -> list[Any]:
    """PROCESSES spawned workers (a fork after a connection opens is unsafe) that set up, meet at
    a barrier so their work overlaps, and put one result each."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [
        context.Process(target=target, args=(location, w, start, results)) for w in range(PROCESSES)
    ]
    for process in workers:
        process.start()
    outcomes = [results.get(timeout=180) for _ in workers]
    for process in workers:
        process.join(timeout=30)
        assert process.exitcode == 0
    return outcomes


def test_concurrent_processes_agree_on_one_id_per_key(lake_location: WarehouseLocation) -> None:
    outcomes = _run_processes(_claimer, lake_location)
    ids: dict[str, set[int]] = {}
    new_claims: dict[str, int] = {}
    latencies: list[float] = []
    for _, got, spent in outcomes:
        latencies.extend(spent)
        for key, id_, new in got:
            ids.setdefault(key, set()).add(id_)
            new_claims[key] = new_claims.get(key, 0) + new
    assert all(len(seen) == 1 for seen in ids.values()), "a key got two ids"
    assert all(count == 1 for count in new_claims.values()), "a key was newly claimed twice"
    every_id = [next(iter(seen)) for seen in ids.values()]
    assert len(set(every_id)) == len(every_id), "two keys share an id"
    assert len(ids) == ROUNDS * (10 + 2 * 10 + PROCESSES * 10)
    latencies.sort()
    print(
        f"{lake_location.catalog}: {len(latencies)} claims of 30 keys, median"
        f" {latencies[len(latencies) // 2] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
    )


def test_claims_for_a_plain_warehouse_are_refused(tmp_path: Path) -> None:
    with pytest.raises(LakeConfigError, match="plain DuckDB warehouse"):
        open_key_claims(parse_warehouse_url(tmp_path / "w.duckdb", env={}))


def _writer(
    location: WarehouseLocation,
    worker: int,
    start: Barrier,
    results: Queue[Any],
) -> None:
    """One process: claim overlapping article keys, insert a row only for those it claimed."""
    from pipeline.lake import connect_lake

    con = connect_lake(location)
    with open_key_claims(location) as claims:
        start.wait()
        commits: list[float] = []
        for round_ in range(ROUNDS):
            keys = [f"all-{round_}-{i}" for i in range(10)] + [f"own-{worker}-{round_}"]
            mine = [(k, c.id) for k, c in claims.claim("articles", keys).items() if c.new]
            began = time.perf_counter()
            con.execute("BEGIN")
            con.executemany(
                "INSERT INTO articles VALUES (?, ?, ?)", [[i, k, worker] for k, i in mine]
            )
            con.execute("COMMIT")
            commits.append(time.perf_counter() - began)
        results.put((worker, commits))
    con.close()


def test_writers_claiming_first_store_each_key_once(postgres_conninfo: str, tmp_path: Path) -> None:
    """The exactly-once design on a PostgreSQL-catalog lake: without claims, concurrent MERGEs of
    one new key all commit (duplicates); with them each key's row is written once."""
    from pipeline.lake import connect_lake

    location = parse_warehouse_url(
        f"ducklake:postgres:{postgres_conninfo}", str(tmp_path / "data"), env={}
    )
    try:
        con = connect_lake(location)
        con.execute(
            "CREATE TABLE articles (article_id BIGINT NOT NULL, url_key VARCHAR NOT NULL,"
            " writer INTEGER NOT NULL)"
        )
        outcomes = _run_processes(_writer, location)
        rows = con.execute(
            "SELECT count(*), count(DISTINCT url_key), count(DISTINCT article_id) FROM articles"
        ).fetchone()
        assert rows == (ROUNDS * (10 + PROCESSES),) * 3
        commits = sorted(t for _, spent in outcomes for t in spent)
        print(f"lake commit after a claim: median {commits[len(commits) // 2] * 1000:.1f} ms")
        con.close()
    finally:
        drop_lake_tables(postgres_conninfo)
