"""``Select.tags_in``: a tag condition rendered for the server, checked against the schema."""

from __future__ import annotations

import pytest

from seamline.storage.query import FieldEquals, Select, SeriesIs, TagIn
from seamline.storage.schema import KPI_LINE, MACHINE_STATE, Field, SchemaError, Tag, TagName


def test_tag_conditions_are_or_ed_per_tag_and_and_ed_between_tags() -> None:
    s = Select(measurement=KPI_LINE, fields=(Field.COVERAGE,), rp="kpi", enterprises=("e",), group_by=(Tag.LINE,),
               start_ms=0, end_ms=10,
               tags_in=(TagIn(tag=Tag.WINDOW, values=("1d", "1h")), TagIn(tag=Tag.SHIFT, values=("o'clock",))))
    assert s.render() == (
        'SELECT "coverage" FROM "kpi"."kpi_line" WHERE "enterprise" = \'e\' AND time >= 0ms AND time < 10ms AND '
        """("window" = '1d' OR "window" = '1h') AND ("shift" = 'o\\'clock') GROUP BY "line\"""")


def test_a_tag_the_measurement_lacks_is_refused_when_built() -> None:
    with pytest.raises(SchemaError, match="window"):
        Select(measurement=MACHINE_STATE, fields=(Field.STATE,), rp="raw", enterprises=("e",), group_by=(),
               start_ms=0, end_ms=1, tags_in=(TagIn(tag=Tag.WINDOW, values=("1d",)),))
    with pytest.raises(ValueError, match="at least one value"):
        TagIn(tag=TagName("window"), values=())


def test_field_conditions_filter_a_subquery_that_holds_the_tag_conditions() -> None:
    s = Select(measurement=MACHINE_STATE, fields=(Field.STATE,), rp="raw", enterprises=("e",),
               group_by=(Tag.ASSET,), start_ms=0, end_ms=10, latest=True,
               any_of=(FieldEquals(field=Field.STATE, value="down"), FieldEquals(field=Field.PREVIOUS, value="down")),
               series=(SeriesIs(((Tag.ASSET, "m1"),)),))
    assert s.render() == (
        'SELECT "state" FROM (SELECT "state", "previous" FROM "raw"."machine_state" WHERE "enterprise" = \'e\' '
        'AND time >= 0ms AND time < 10ms AND (("asset" = \'m1\'))) WHERE time >= 0ms AND time < 10ms AND '
        '("state" = \'down\' OR "previous" = \'down\') GROUP BY "asset" ORDER BY time DESC LIMIT 1')
    # every field when all are read; a field read and named by the condition once
    star = Select(measurement=MACHINE_STATE, fields=(), rp="raw", enterprises=("e",), group_by=(), start_ms=None,
                  end_ms=10, any_of=(FieldEquals(field=Field.STATE, value="down"),))
    assert star.render().startswith('SELECT * FROM (SELECT * FROM "raw"."machine_state" WHERE "enterprise" = \'e\' '
                                    'AND time < 10ms) WHERE time < 10ms AND ("state" = \'down\')')
    once = Select(measurement=MACHINE_STATE, fields=(Field.STATE,), rp="raw", enterprises=("e",), group_by=(),
                  start_ms=0, end_ms=10, any_of=(FieldEquals(field=Field.STATE, value="down"),))
    assert once.render().startswith('SELECT "state" FROM (SELECT "state" FROM')
