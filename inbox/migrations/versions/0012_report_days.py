"""report days: what the reports count, per inbox or agent per UTC day, and a histogram of the
waits per day (inbox/report_days.py keeps them with each write from now on), filled from the
stored rows

Revision ID: 0012_report_days
Revises: 0011_matters
Create Date: 2026-12-01
"""
import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, timedelta
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0012_report_days'
down_revision: str | None = '0011_matters'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIGURES = ('texts_in', 'texts_out', 'segments', 'opened', 'archived', 'opt_outs', 'first_late')
INBOX_FIGURES = 0
_WHEN = sqlmodel.sql.sqltypes.UTCDateTime
_MESSAGE = sa.table(
    'message', sa.column('inbox_id', sa.Integer), sa.column('sender_id', sa.Integer),
    sa.column('direction', sa.String), sa.column('segments', sa.Integer),
    sa.column('created_at', _WHEN()),
)
_CONVERSATION = sa.table(
    'conversation', sa.column('inbox_id', sa.Integer), sa.column('created_at', _WHEN()),
    sa.column('archived_at', _WHEN()),
)
_OPT_OUT = sa.table('optout', sa.column('inbox_id', sa.Integer), sa.column('created_at', _WHEN()))
_WAIT = sa.table(
    'response_time', sa.column('inbox_id', sa.Integer), sa.column('user_id', sa.Integer),
    sa.column('started_at', _WHEN()), sa.column('answered_at', _WHEN()),
    sa.column('first', sa.Boolean),
)
_INBOX = sa.table('inbox', sa.column('id', sa.Integer), sa.column('sla_minutes', sa.Float))


WAIT_BINS = 250
BIN_NAMES = [f'n{i}' for i in range(WAIT_BINS)] + [f's{i}' for i in range(WAIT_BINS)]


def wait_bin(secs: float) -> int:
    """inbox/report_days.py's bins as of this revision: seconds under a minute, then 5 %."""
    if secs < 60:
        return max(0, int(secs))
    return min(WAIT_BINS - 1, 60 + int(math.log(secs / 60) / math.log(1.05)))


def period_starts(day: date) -> dict[str, date]:
    return {'day': day, 'week': day - timedelta(days=day.weekday()), 'month': day.replace(day=1)}


def _day(bind: Any, column: Any) -> Any:
    if bind.dialect.name == 'postgresql':
        return sa.func.to_char(sa.func.timezone('UTC', column), 'YYYY-MM-DD')
    return sa.func.date(column)


def _backfill() -> None:
    bind = op.get_bind()
    days: defaultdict[tuple[int, int, date], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(FIGURES, 0)
    )

    def add(inbox_id: int, agent_id: int | None, day: Any, name: str, n: int) -> None:
        on = day if isinstance(day, date) else date.fromisoformat(str(day))
        for who in (INBOX_FIGURES,) if agent_id is None else (INBOX_FIGURES, agent_id):
            days[(inbox_id, who, on)][name] += int(n or 0)

    m = _MESSAGE.c
    day = _day(bind, m.created_at)
    outbound = m.direction == 'outbound'
    for inbox_id, sender, d, texts_in, texts_out, segments in bind.execute(
        sa.select(
            m.inbox_id, m.sender_id, day,
            sa.func.sum(sa.case((m.direction == 'inbound', 1), else_=0)),
            sa.func.sum(sa.case((outbound, 1), else_=0)),
            sa.func.sum(sa.case((outbound, m.segments), else_=0)),
        ).where(m.direction != 'note').group_by(m.inbox_id, m.sender_id, day)
    ):
        add(inbox_id, None, d, 'texts_in', texts_in)
        add(inbox_id, sender, d, 'texts_out', texts_out)
        add(inbox_id, sender, d, 'segments', segments)
    c = _CONVERSATION.c
    for column, name in ((c.created_at, 'opened'), (c.archived_at, 'archived')):
        d = _day(bind, column)
        for inbox_id, d_, n in bind.execute(
            sa.select(c.inbox_id, d, sa.func.count()).where(column.is_not(None))
            .group_by(c.inbox_id, d)
        ):
            add(inbox_id, None, d_, name, n)
    o = _OPT_OUT.c
    d = _day(bind, o.created_at)
    for inbox_id, d_, n in bind.execute(
        sa.select(o.inbox_id, d, sa.func.count()).group_by(o.inbox_id, d)
    ):
        add(inbox_id, None, d_, 'opt_outs', n)
    waits: defaultdict[tuple[int, int, str, date, bool], list[list[float]]] = defaultdict(
        lambda: [[0] * WAIT_BINS, [0.0] * WAIT_BINS]
    )
    w, i = _WAIT.c, _INBOX.c
    for inbox_id, user_id, started, answered, first, sla in bind.execute(
        sa.select(w.inbox_id, w.user_id, w.started_at, w.answered_at, w['first'], i.sla_minutes)
        .join(_INBOX, i.id == w.inbox_id)
    ):
        secs = max(0.0, (answered - started).total_seconds())
        on = started.astimezone(UTC).date()
        for who in (INBOX_FIGURES, user_id):
            for period, start in period_starts(on).items():
                for first_only in (False, True) if first else (False,):
                    counts, sums = waits[(inbox_id, who, period, start, first_only)]
                    counts[wait_bin(secs)] += 1
                    sums[wait_bin(secs)] += secs
        if first and sla is not None and secs > sla * 60:
            add(inbox_id, user_id, on, 'first_late', 1)
    if days:
        op.bulk_insert(
            sa.table('report_day', *(sa.column(n) for n in ('inbox_id', 'agent_id', 'day', *FIGURES))),
            [{'inbox_id': k[0], 'agent_id': k[1], 'day': k[2], **v} for k, v in days.items()],
        )
    rows = []
    for (inbox_id, who, period, start, first_only), (counts, sums) in waits.items():
        row = {'inbox_id': inbox_id, 'agent_id': who, 'period': period, 'start': start,
               'first_only': first_only}
        n, total = 0, 0.0
        for b in range(WAIT_BINS):  # each bin's column counts the lower bins too
            n, total = n + int(counts[b]), total + sums[b]
            row[f'n{b}'], row[f's{b}'] = n, total
        rows.append(row)
    if rows:
        names = ('inbox_id', 'agent_id', 'period', 'start', 'first_only', *BIN_NAMES)
        op.bulk_insert(sa.table('report_wait', *(sa.column(n) for n in names)), rows)
        op.execute(f'UPDATE report_wait SET p50 = {percentile_sql(0.5)}, p90 = {percentile_sql(0.9)}')


def percentile_sql(p: float) -> str:
    """inbox/report_days.py's as of this revision: the mean of the first bin at the rank."""
    last = f'n{WAIT_BINS - 1}'
    whens = [f'WHEN n0 >= {last} * {p} THEN s0 * 1.0 / n0'] + [
        f'WHEN n{i} >= {last} * {p} THEN (s{i} - s{i - 1}) * 1.0 / (n{i} - n{i - 1})'
        for i in range(1, WAIT_BINS)
    ]
    return f"CASE {' '.join(whens)} END"


def upgrade() -> None:
    op.create_table('report_day',
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    *(sa.Column(name, sa.Integer(), nullable=False) for name in FIGURES),
    sa.ForeignKeyConstraint(['inbox_id'], ['inbox.id'], ),
    sa.PrimaryKeyConstraint('inbox_id', 'agent_id', 'day')
    )
    op.create_table('report_wait',
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('first_only', sa.Boolean(), nullable=False),
    *(sa.Column(f'n{b}', sa.Integer(), nullable=False) for b in range(WAIT_BINS)),
    *(sa.Column(f's{b}', sa.Float(), nullable=False) for b in range(WAIT_BINS)),
    sa.Column('p50', sa.Float(), nullable=True),
    sa.Column('p90', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['inbox_id'], ['inbox.id'], ),
    sa.PrimaryKeyConstraint('inbox_id', 'agent_id', 'period', 'start', 'first_only')
    )
    _backfill()


def downgrade() -> None:
    op.drop_table('report_wait')
    op.drop_table('report_day')
