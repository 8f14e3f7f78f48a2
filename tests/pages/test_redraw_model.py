"""The Model page's summary redraws cheaply after an edit (issue 14, item 3; bench/page.py part b).

An HTML table, not a canvas grid (`st.dataframe` repainted ~200 ms after the rest of the page on every edit), and
a diagram with square boxes (the browser's graphviz draws rounded ones as paths, ~100 ms slower per edit).
"""

from __future__ import annotations

from tests.pages.helpers import button, open_page


def test_the_summary_is_a_table_and_the_diagram_has_square_boxes():
    at = open_page("pages/model.py")
    assert not at.dataframe
    (table,) = at.table
    assert list(table.value.iloc[:, 0]) == ["input", "dense_1", "dense_2", "output"]  # moons default: 2-8-8-1
    (diagram,) = at.get("graphviz_chart")
    assert "rounded" not in diagram.proto.spec and "style=filled" in diagram.proto.spec
    assert '"dense_1" [label="dense_1 (Dense)' in diagram.proto.spec

    button(at, label="Add layer").click().run()  # the table and the diagram follow the stack
    assert len(at.table[0].value) == 5
    assert at.get("graphviz_chart")[0].proto.spec.count("(Dense)") == 4
