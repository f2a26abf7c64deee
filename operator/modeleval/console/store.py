"""The results store: ingest from runners, the mirror of the cluster's EvalTasks, queries for
the pages, and retention. Every method opens its own transaction (safe from any thread).

Ingest is idempotent: a task is keyed by its EvalTask uid and an item by ``(task, item id)``,
so a retried runner pod that sends everything again replaces rows instead of adding them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Engine,
    Float,
    Select,
    String,
    and_,
    cast,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from modeleval.clock import utc_now
from modeleval.console.db.models import Annotation, Item, Task
from modeleval.console.records import (
    histograms,
    item_rows,
    max_judge_score,
    model_item_score,
    task_fields,
)

PAGE_SIZE = 50
TASK_SORTS = {
    "created": Task.created_at,
    "name": Task.name,
    "namespace": Task.namespace,
    "state": Task.state,
    "score": Task.total_score,
    "ended": Task.ended_at,
}
LIGHT_TASK_COLUMNS = (
    Task.id,
    Task.uid,
    Task.namespace,
    Task.name,
    Task.display_name,
    Task.task_type,
    Task.eval_type,
    Task.state,
    Task.percentage,
    Task.total_score,
    Task.dataset,
    Task.models,
    Task.items_total,
    Task.created_at,
    Task.started_at,
    Task.ended_at,
    Task.deleted_at,
    Task.manual_completed_at,
)


class NotFound(LookupError):
    """No such task (or item)."""


@dataclass(frozen=True)
class TaskFilter:
    """What the task list shows; empty fields match everything."""

    q: str = ""
    namespace: str = ""
    state: str = ""
    dataset: str = ""
    model: str = ""
    eval_type: str = ""
    presence: str = ""
    """``present`` (EvalTask exists), ``deleted`` or empty (both)."""
    namespaces: frozenset[str] | None = None
    """Only these namespaces (what the user may list); None: no restriction."""


@dataclass(frozen=True)
class ItemFilter:
    """What the item browser shows."""

    q: str = ""
    model: str = ""
    metric: str = ""
    low: float | None = None
    high: float | None = None
    """Metric range on 0-100 (``metric`` of ``model``)."""
    failed: bool = False
    order: str = "seq"
    """``seq`` (the order the runner sent: by item id) or ``worst`` (lowest score first)."""


@dataclass
class Page:
    rows: list[Any]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _insert(session: Session) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


class Store:
    """Results in the database behind ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        """Reading sessions."""
        self.writes = sessionmaker(engine.execution_options(immediate=True), expire_on_commit=False)
        """Writing sessions: on SQLite they take the write lock at BEGIN (``BEGIN IMMEDIATE``),
        so two writers queue on the busy timeout instead of one failing to upgrade its lock."""

    # -- tasks -------------------------------------------------------------------------------

    def _task_by_uid(self, session: Session, uid: str) -> Task | None:
        return session.scalars(select(Task).where(Task.uid == uid)).first()

    def upsert_task(
        self,
        obj: Mapping[str, Any],
        *,
        now: datetime | None = None,
        summary: Mapping[str, Any] | None = None,
        phase: str | None = None,
    ) -> int:
        """Create or update the row of an EvalTask object (by uid); returns its id."""
        fields = task_fields(obj)
        if not fields["uid"]:
            raise ValueError("the EvalTask has no metadata.uid")
        now = now or utc_now()
        with self.writes.begin() as session:
            task = self._task_by_uid(session, fields["uid"])
            if task is None:
                task = Task(uid=fields["uid"], models=[], items_total=0, items_failed=0)
                session.add(task)
            for key, value in fields.items():
                if value is not None or key in ("display_name",):
                    setattr(task, key, value)
            task.seen_at = now
            task.deleted_at = None
            task.updated_at = now
            if summary is not None:
                task.summary = dict(summary)
                if summary.get("totalScore") is not None and task.total_score is None:
                    task.total_score = summary["totalScore"]
            if phase is not None:  # a runner starts sending: chunk charts start afresh
                task.ingest_phase = phase
                task.charts = {**(task.charts or {}), "parts": {}}
            session.flush()
            return task.id

    def mirror(self, objects: Sequence[Mapping[str, Any]], *, now: datetime | None = None) -> None:
        """The EvalTasks now in the cluster: update changed rows; mark the missing deleted.

        Rows whose ``resourceVersion`` did not change are not touched, so a resync of
        thousands of unchanged tasks reads one narrow column set and writes nothing.
        """
        now = now or utc_now()
        with self.writes.begin() as session:
            known = {
                uid: (task_id, rv, deleted)
                for task_id, uid, rv, deleted in session.execute(
                    select(Task.id, Task.uid, Task.resource_version, Task.deleted_at)
                )
            }
            present: set[str] = set()
            for obj in objects:
                fields = task_fields(obj)
                uid = fields["uid"]
                if not uid:
                    continue
                present.add(uid)
                row = known.get(uid)
                if row is not None and row[2] is None and row[1] == fields["resource_version"]:
                    continue
                task = session.get(Task, row[0]) if row is not None else None
                if task is None:
                    task = Task(uid=uid, models=[], items_total=0, items_failed=0)
                    session.add(task)
                for key, value in fields.items():
                    if value is not None:
                        setattr(task, key, value)
                task.seen_at = now
                task.deleted_at = None
                task.updated_at = now
            gone = [row[0] for uid, row in known.items() if uid not in present and row[2] is None]
            for start in range(0, len(gone), 500):
                session.execute(
                    update(Task)
                    .where(Task.id.in_(gone[start : start + 500]))
                    .values(deleted_at=now, updated_at=now)
                )

    def apply_retention(self, days: float, *, now: datetime | None = None) -> int:
        """Remove the results of deleted EvalTasks that ended more than ``days`` ago."""
        if days <= 0:
            return 0
        cutoff = (now or utc_now()) - timedelta(days=days)
        with self.writes.begin() as session:
            due = session.scalars(
                select(Task.id).where(
                    Task.deleted_at.is_not(None),
                    func.coalesce(Task.ended_at, Task.deleted_at) < cutoff,
                )
            ).all()
            if due:
                # Explicit deletes: SQLite cascades only with foreign keys on.
                session.execute(delete(Annotation).where(Annotation.task_id.in_(due)))
                session.execute(delete(Item).where(Item.task_id.in_(due)))
                session.execute(delete(Task).where(Task.id.in_(due)))
            return len(due)

    def get_task(self, task_id: int) -> Task:
        with self.sessions() as session:
            task = session.get(Task, task_id)
            if task is None:
                raise NotFound(f"task {task_id}")
            return task

    def find_task(self, namespace: str, name: str, uid: str | None = None) -> Task:
        """The task ``namespace/name`` (the newest one with that name unless ``uid``)."""
        with self.sessions() as session:
            query = select(Task).where(Task.namespace == namespace, Task.name == name)
            if uid:
                query = query.where(Task.uid == uid)
            task = session.scalars(
                query.order_by(Task.deleted_at.is_not(None), Task.created_at.desc(), Task.id.desc())
            ).first()
            if task is None:
                raise NotFound(f"task {namespace}/{name}")
            return task

    def namespaces(self) -> list[str]:
        with self.sessions() as session:
            return list(session.scalars(select(Task.namespace).distinct().order_by(Task.namespace)))

    def list_tasks(
        self,
        flt: TaskFilter,
        *,
        sort: str = "created",
        descending: bool = True,
        page: int = 1,
        page_size: int = PAGE_SIZE,
    ) -> Page:
        query: Select[Any] = select(*LIGHT_TASK_COLUMNS)
        counter = select(func.count(Task.id))
        conditions = _task_conditions(flt)
        if conditions:
            query = query.where(*conditions)
            counter = counter.where(*conditions)
        column = TASK_SORTS.get(sort, Task.created_at)
        ordering = column.desc() if descending else column.asc()
        nulls = column.is_(None)
        query = query.order_by(nulls, ordering, Task.id.desc())
        page = max(1, page)
        query = query.limit(page_size).offset((page - 1) * page_size)
        with self.sessions() as session:
            total = int(session.scalar(counter) or 0)
            rows = list(session.execute(query).mappings())
        return Page(rows=rows, total=total, page=page, page_size=page_size)

    def datasets(self, namespaces: frozenset[str] | None = None) -> list[tuple[str, int]]:
        """Datasets with how many tasks evaluated on each."""
        query = select(Task.dataset, func.count(Task.id)).where(Task.dataset.is_not(None))
        if namespaces is not None:
            query = query.where(Task.namespace.in_(namespaces))
        query = query.group_by(Task.dataset).order_by(Task.dataset)
        with self.sessions() as session:
            return [(str(d), int(n)) for d, n in session.execute(query)]

    def tasks_on_dataset(
        self, dataset: str, namespaces: frozenset[str] | None = None
    ) -> list[Task]:
        query = select(Task).where(Task.dataset == dataset)
        if namespaces is not None:
            query = query.where(Task.namespace.in_(namespaces))
        with self.sessions() as session:
            return list(session.scalars(query.order_by(Task.created_at.desc())))

    # -- ingest ------------------------------------------------------------------------------

    def ingest_items(self, task_id: int, start: int, records: Sequence[Mapping[str, Any]]) -> int:
        """Upsert records ``start…start+len-1`` (in the order sent) of a task; returns the count."""
        if not records:
            return 0
        with self.writes.begin() as session:
            task = session.get(Task, task_id, with_for_update=True)  # chunks may come in parallel
            if task is None:
                raise NotFound(f"task {task_id}")
            rows, counts = item_rows(records, start, max_judge_score(task.spec or {}))
            for row in rows:
                row["task_id"] = task_id
            # The chunk's share of the distribution charts, summed up at complete_ingest.
            charts = dict(task.charts or {})
            parts = dict(charts.get("parts") or {})
            parts[str(start)] = {"n": len(rows), "h": counts}
            task.charts = {**charts, "parts": parts}
            upsert_item_rows(session, rows)
        return len(rows)

    def complete_ingest(self, task_id: int, total: int) -> dict[str, Any]:
        """The last chunk is in: drop items beyond ``total``, count, compute the charts."""
        with self.writes.begin() as session:
            task = session.get(Task, task_id)
            if task is None:
                raise NotFound(f"task {task_id}")
            session.execute(delete(Item).where(Item.task_id == task_id, Item.seq >= total))
            count = int(
                session.scalar(select(func.count(Item.id)).where(Item.task_id == task_id)) or 0
            )
            failed = int(
                session.scalar(
                    select(func.count(Item.id)).where(Item.task_id == task_id, Item.failed)
                )
                or 0
            )
            merged = merged_parts((task.charts or {}).get("parts") or {}, total)
            if merged is None:  # chunks from different sends: count again from the rows
                max_score = max_judge_score(task.spec or {})
                datas = session.scalars(
                    select(Item.data)
                    .where(Item.task_id == task_id)
                    .execution_options(yield_per=5000)
                )
                merged = histograms(datas, max_score)
            task.charts = {"histograms": merged}
            task.items_total = count
            task.items_failed = failed
            task.ingested_at = utc_now()
            task.updated_at = task.ingested_at
        return {"items": count, "failed": failed}

    # -- items -------------------------------------------------------------------------------

    def items_page(
        self, task_id: int, flt: ItemFilter, *, page: int = 1, page_size: int = PAGE_SIZE
    ) -> Page:
        page = max(1, page)
        conditions = [Item.task_id == task_id, *_item_conditions(flt, self._max_score(task_id))]
        query = select(Item).where(*conditions)
        unfiltered = len(conditions) == 1
        if flt.order == "worst":  # scored items only, along the (task, score, seq) index
            conditions.append(Item.score.is_not(None))
            query = query.where(Item.score.is_not(None)).order_by(Item.score, Item.seq)
            query = query.offset((page - 1) * page_size)
        elif unfiltered:  # seq runs 0…n-1: a page is a range, however deep (no OFFSET scan)
            query = query.where(Item.seq >= (page - 1) * page_size).order_by(Item.seq)
        else:
            query = query.order_by(Item.seq).offset((page - 1) * page_size)
        query = query.limit(page_size)
        with self.sessions() as session:
            if unfiltered and flt.order != "worst":
                task = session.get(Task, task_id)
                total = task.items_total if task is not None else 0
            else:
                total = int(session.scalar(select(func.count(Item.id)).where(*conditions)) or 0)
            rows = list(session.scalars(query))
        return Page(rows=rows, total=total, page=page, page_size=page_size)

    def _max_score(self, task_id: int) -> float:
        with self.sessions() as session:
            spec = session.scalar(select(Task.spec).where(Task.id == task_id))
        return max_judge_score(spec or {})

    def get_item(self, task_id: int, seq: int) -> Item:
        with self.sessions() as session:
            item = session.scalars(
                select(Item).where(Item.task_id == task_id, Item.seq == seq)
            ).first()
            if item is None:
                raise NotFound(f"item {seq} of task {task_id}")
            return item

    def iter_items(self, task_id: int, flt: ItemFilter | None = None) -> Iterator[Item]:
        """Every (matching) item in ``seq`` order, read in batches."""
        max_score = self._max_score(task_id)
        conditions = [Item.task_id == task_id, *_item_conditions(flt or ItemFilter(), max_score)]
        last = -1
        while True:
            with self.sessions() as session:
                batch = list(
                    session.scalars(
                        select(Item)
                        .where(*conditions, Item.seq > last)
                        .order_by(Item.seq)
                        .limit(2000)
                    )
                )
            if not batch:
                return
            yield from batch
            last = batch[-1].seq

    def items_by_keys(self, task_id: int, keys: Iterable[str]) -> dict[str, Item]:
        wanted = list(keys)
        if not wanted:
            return {}
        with self.sessions() as session:
            rows = session.scalars(
                select(Item).where(Item.task_id == task_id, Item.key.in_(wanted))
            )
            return {item.key: item for item in rows}

    # -- comparison --------------------------------------------------------------------------

    def item_differences(
        self,
        first: tuple[int, str],
        second: tuple[int, str],
        *,
        page: int = 1,
        page_size: int = PAGE_SIZE,
    ) -> Page:
        """Items two runs (task id, model) share, largest score difference first.

        Each row: key, input, target, the two answers and scores, and the difference
        (second − first) of the per-model item score.
        """
        (task_a, model_a), (task_b, model_b) = first, second
        with self.sessions() as session:
            spec_a = (session.get(Task, task_a) or Task()).spec or {}
            spec_b = (session.get(Task, task_b) or Task()).spec or {}
        max_a, max_b = max_judge_score(spec_a), max_judge_score(spec_b)
        rows: list[dict[str, Any]] = []
        b_items = {item.key: item for item in self.iter_items(task_b)}
        for item in self.iter_items(task_a):
            other = b_items.get(item.key)
            if other is None:
                continue
            result_a = (item.data.get("models") or {}).get(model_a) or {}
            result_b = (other.data.get("models") or {}).get(model_b) or {}
            score_a = model_item_score(result_a, max_a)
            score_b = model_item_score(result_b, max_b)
            delta = None if score_a is None or score_b is None else score_b - score_a
            rows.append(
                {
                    "key": item.key,
                    "seq": item.seq,
                    "input": item.input,
                    "target": item.target,
                    "a": result_a,
                    "b": result_b,
                    "score_a": score_a,
                    "score_b": score_b,
                    "delta": delta,
                }
            )
        rows.sort(key=lambda r: (r["delta"] is None, -abs(float(r["delta"] or 0.0)), r["seq"]))
        page = max(1, page)
        chunk = rows[(page - 1) * page_size : page * page_size]
        return Page(rows=chunk, total=len(rows), page=page, page_size=page_size)


ITEM_COLUMNS = ("task_id", "seq", "key", "input", "target", "data", "score", "failed")
UPDATED_COLUMNS = ITEM_COLUMNS[1:]
_UPSERT_TAIL = "ON CONFLICT (task_id, key) DO UPDATE SET " + ", ".join(
    f"{name} = excluded.{name}" for name in UPDATED_COLUMNS if name != "key"
)


def upsert_item_rows(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert or replace item rows by (task, key): one ``executemany`` on the driver.

    SQLAlchemy's per-row parameter processing cost more than the database itself for 100,000
    items, so SQLite gets the statement directly and PostgreSQL a COPY into a scratch table
    and one ``INSERT … SELECT … ON CONFLICT``, with the JSON serialised once; any other
    database goes through SQLAlchemy Core.
    """
    from modeleval.console.db.engine import dump_json

    connection = session.connection()
    dialect = connection.dialect.name
    driver: Any = connection.connection.driver_connection
    params = [
        (r["task_id"], r["seq"], r["key"], r["input"], r["target"], dump_json(r["data"]),
         r["score"], bool(r["failed"]))
        for r in rows
    ]  # fmt: skip
    columns = ", ".join(ITEM_COLUMNS)
    if dialect == "sqlite":
        sql = f"INSERT INTO items ({columns}) VALUES ({', '.join('?' * len(ITEM_COLUMNS))}) "
        driver.executemany(sql + _UPSERT_TAIL, params)
        return
    if dialect == "postgresql":  # COPY into a scratch table, then one INSERT … SELECT
        with driver.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS items_incoming (task_id bigint, seq integer, "
                "key varchar(512), input text, target text, data jsonb, score double precision, "
                "failed boolean) ON COMMIT DELETE ROWS"
            )
            with cursor.copy(f"COPY items_incoming ({columns}) FROM STDIN") as copy:
                for row in params:
                    copy.write_row(row)
            cursor.execute(
                f"INSERT INTO items ({columns}) SELECT {columns} FROM items_incoming {_UPSERT_TAIL}"
            )
        return
    table = Item.__table__
    statement = _insert(session)(table)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.task_id, table.c.key],
        set_={name: statement.excluded[name] for name in UPDATED_COLUMNS if name != "key"},
    )
    connection.execute(statement, [dict(row) for row in rows])


def merged_parts(
    parts: Mapping[str, Mapping[str, Any]], total: int
) -> dict[str, dict[str, list[int]]] | None:
    """The histograms of chunks that exactly tile ``0…total``; None when they do not."""
    position = 0
    merged: dict[str, dict[str, list[int]]] = {}
    for start, part in sorted(((int(k), v) for k, v in parts.items()), key=lambda kv: kv[0]):
        if start >= total:
            break
        if start != position:
            return None
        position += int(part["n"])
        for metric, by_model in (part.get("h") or {}).items():
            for model, counts in by_model.items():
                into = merged.setdefault(metric, {}).setdefault(model, [0] * len(counts))
                for index, count in enumerate(counts):
                    into[index] += count
    return merged if position == total else None


def _task_conditions(flt: TaskFilter) -> list[Any]:
    conditions: list[Any] = []
    if flt.q:
        pattern = f"%{_escape_like(flt.q)}%"
        conditions.append(
            or_(
                Task.name.ilike(pattern, escape="\\"),
                Task.display_name.ilike(pattern, escape="\\"),
            )
        )
    if flt.namespace:
        conditions.append(Task.namespace == flt.namespace)
    if flt.state:
        conditions.append(Task.state == flt.state)
    if flt.dataset:
        conditions.append(Task.dataset == flt.dataset)
    if flt.model:
        conditions.append(
            cast(Task.models, String).like(f"%{_escape_like(json.dumps(flt.model))}%", escape="\\")
        )
    if flt.eval_type:
        conditions.append(Task.eval_type == flt.eval_type)
    if flt.presence == "present":
        conditions.append(Task.deleted_at.is_(None))
    elif flt.presence == "deleted":
        conditions.append(Task.deleted_at.is_not(None))
    if flt.namespaces is not None:
        conditions.append(Task.namespace.in_(sorted(flt.namespaces)))
    return conditions


def _item_conditions(flt: ItemFilter, max_score: float) -> list[Any]:
    conditions: list[Any] = []
    if flt.q:
        pattern = f"%{_escape_like(flt.q)}%"
        conditions.append(
            or_(
                Item.key.ilike(pattern, escape="\\"),
                Item.input.ilike(pattern, escape="\\"),
                Item.target.ilike(pattern, escape="\\"),
                cast(Item.data, String).ilike(pattern, escape="\\"),
            )
        )
    if flt.failed:
        conditions.append(Item.failed.is_(True))
    if flt.metric and flt.model and (flt.low is not None or flt.high is not None):
        result = Item.data["models"][flt.model]
        if flt.metric == "judge":  # raw judge scores are on 0..maxScore
            value = cast(result["judge"]["score"].as_float(), Float)
            scale = max_score / 100
        else:  # rule metrics are on 0..1
            value = cast(result["metrics"][flt.metric].as_float(), Float)
            scale = 1 / 100
        bounds = []
        if flt.low is not None:
            bounds.append(value >= flt.low * scale - 1e-9)
        if flt.high is not None:
            bounds.append(value <= flt.high * scale + 1e-9)
        conditions.append(and_(value.is_not(None), *bounds))
    return conditions


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def set_manual_completed(store: Store, task_id: int, by: str, when: datetime) -> None:
    with store.writes.begin() as session:
        session.execute(
            update(Task)
            .where(Task.id == task_id)
            .values(manual_completed_at=when, manual_completed_by=by, updated_at=when)
        )
