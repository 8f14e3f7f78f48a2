"""In Japanese: switch the language in the sidebar, then train, all in 日本語."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# The status line starts with the bold status word ([status] in ja.toml).
STATUS_JA_JS = """() => {
  for (const p of document.querySelectorAll('[data-testid="stMarkdownContainer"] p')) {
    const first = p.firstElementChild;
    const words = ['待機中', '学習中', '完了', '停止', '発散', '失敗'];
    if (first && first.tagName === 'STRONG' && words.includes(first.textContent.trim()))
      return p.textContent.trim();
  }
  return null;
}"""


def test_switch_to_japanese_and_train(app):
    page = app.page
    app.open_train()
    page.locator('[data-testid="stSidebar"]').get_by_text("日本語", exact=True).click()
    page.get_by_role("heading", name="学習", exact=True, level=1).wait_for()
    assert "lang=ja" in page.url
    field = page.get_by_role("spinbutton", name="エポック数")
    field.fill("3")
    field.press("Enter")
    page.get_by_text(re.compile(r"· 3 エポック$")).wait_for()
    app.main.get_by_role("button", name="学習", exact=True).click()
    page.wait_for_function(
        f"() => {{ const s = ({STATUS_JA_JS})(); return s && s.startsWith('完了'); }}", timeout=app.FINISH_TIMEOUT_MS
    )
    status = page.evaluate(STATUS_JA_JS)
    assert status.startswith("完了 · 3 エポック中 3"), status
    # The charts and the results speak Japanese too.
    titles = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(el => {
        const t = el.layout && el.layout.title; return (typeof t === 'string' ? t : (t && t.text) || ''); })""")
    assert any("損失" in title for title in titles), titles
    # ... their axes too: the epoch and the metric, in Japanese.
    axes = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(el => {
        const l = el.layout || {}; const t = a => a && a.title && (typeof a.title === 'string' ? a.title : a.title.text);
        return [t(l.xaxis), t(l.yaxis)]; })""")
    assert ["エポック", "損失"] in axes, axes
    expect(page.get_by_role("heading", name="テストデータでの結果")).to_be_visible()
    page.reload()  # the language is kept in the URL
    page.get_by_role("heading", name="学習", exact=True, level=1).wait_for()
    # The model diagram counts parameters in Japanese (Graphviz draws it as SVG text).
    app.nav("モデル")
    diagram = page.get_by_test_id("stGraphVizChart")
    expect(diagram).to_contain_text("パラメータ", timeout=30_000)
    expect(diagram).not_to_contain_text("params")
