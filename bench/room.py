"""Room: N learners (browser contexts) in one workshop room train small runs while the instructor's board watches.

What an instructor sees: every learner's run should reach the board soon after it finished. The
room is created in the run store (core.rooms.create, as the sidebar's Create room does); each
learner opens the learners' link, picks a display name, goes to Train and trains the room's setup
(moons, a few epochs); one more context holds the instructor's board open and reads its summary
line ("N learners · M runs on the board · ...") every 0.2 s. For the k-th run to finish (its
`finished` time in the store) the delay is when the board first showed k runs. Then the instructor
changes the board's order a few times: click -> the page settled. Server memory (RSS) before the
room, at its peak, and `--settle` seconds after every tab has closed.

    .venv/bin/python bench/room.py                 # 30 learners; last line: JSON
    .venv/bin/python bench/load.py --room          # the same

Writes the "## Workshop room (bench/room.py)" section of docs/benchmarks.md. Goals: p95 run -> board
<= 2 s, a sort click settles in <= 1 s, server memory back near where it started once the room left.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._app import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    AppServer,
    load_avg,
    machine_line,
    median,
    percentile,
    rss_mb,
)
from bench._docs import write_section  # noqa: E402

DOCS = ROOT / "docs" / "benchmarks.md"
HEADING = "## Workshop room (bench/room.py)"
SUMMARY = re.compile(r"^(\d+) learners · (\d+) runs on the board")
VIEWPORT = {"width": 1200, "height": 900}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--learners", type=int, default=30)
    p.add_argument("--dataset", default="moons", help="the room's starting setup: this dataset's default model")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--max-trainings", type=int, default=2, help="the server's PLAYGROUND_MAX_TRAININGS")
    p.add_argument("--stagger", type=float, default=1.0, help="seconds between two learners opening the link")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds a learner waits for its run")
    p.add_argument("--sorts", type=int, default=6, help="sort clicks timed on the board")
    p.add_argument("--settle", type=float, default=30.0, help="seconds after the room left before the memory is read")
    p.add_argument("--no-write-docs", dest="write_docs", action="store_false")
    p.add_argument("--docs", type=Path, default=DOCS)
    return p.parse_args(argv)


class RssSampler(threading.Thread):
    """The web server's RSS every 0.5 s, in the background."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.samples, self.running = pid, [], True

    def run(self):
        while self.running:
            try:
                self.samples.append(rss_mb(self.pid))
            except OSError:
                return
            time.sleep(0.5)


# --------------------------------------------------------------------------- the browsers


async def learner(browser, link: str, n: int, a) -> dict:
    """Open the room link, join as 'learner N', train the room's setup, wait for Finished."""
    from playwright.async_api import Error as PlaywrightError

    await asyncio.sleep(n * a.stagger)
    context = await browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(a.timeout * 1000)
    page = await context.new_page()
    out = {"learner": n, "finished": False, "error": ""}
    try:
        await page.goto(link)
        field = page.get_by_role("textbox", name="Your display name")
        await field.fill(f"learner {n:02d}")
        await field.press("Enter")
        await page.get_by_role("button", name="Join the room").click()
        await page.get_by_test_id("stMain").get_by_role("link", name="Go and train").click()
        button = page.get_by_test_id("stMain").get_by_role("button", name="Train", exact=True)
        await button.wait_for()
        while not await button.is_enabled():
            await asyncio.sleep(0.2)
        await button.click()
        await page.get_by_text(re.compile(r"^Finished · ")).first.wait_for()
        out["finished"] = True
    except PlaywrightError as exc:
        out["error"] = str(exc).splitlines()[0][:300]
    finally:
        await context.close()
    return out


async def watch_board(page, seen: list[tuple[float, int]], stop: asyncio.Event) -> None:
    """Read the board's summary line every 0.2 s: (wall time, runs on the board) whenever the count grows."""
    shown = -1
    while not stop.is_set():
        for text in await page.get_by_test_id("stCaptionContainer").all_inner_texts():
            match = SUMMARY.match(text.strip())
            if match and int(match.group(2)) > shown:
                shown = int(match.group(2))
                seen.append((time.time(), shown))
        await asyncio.sleep(0.2)


# Time of the last change anywhere in the page, kept by a MutationObserver (the board's live line ticks
# every 2 s: a quiet window shorter than that is needed).
WATCH_JS = """() => { window.__lastChange = performance.now();
  new MutationObserver(() => { window.__lastChange = performance.now(); })
    .observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true}); }"""
QUIET_MS = 250


async def settled(page, since: float, timeout: float = 30.0) -> float:
    """Seconds from `since` (performance.now() ms) to the last change before the page stayed quiet QUIET_MS."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now, last = await page.evaluate("() => [performance.now(), window.__lastChange]")
        if now - last >= QUIET_MS and last > since:
            return (last - since) / 1000
        await asyncio.sleep(0.05)
    return timeout


async def time_sorts(page, count: int) -> list[float]:
    """Change the board's order (name -> most runs -> best ...): click -> the last change the choice caused."""
    await page.evaluate(WATCH_JS)
    times = []
    for i in range(count):
        option = ("name", "most runs", "best first")[i % 3]
        await page.get_by_test_id("stSelectbox").filter(has_text="Sort by").click()
        item = page.get_by_role("option", name=option, exact=True)
        await item.wait_for()
        since = await page.evaluate("() => performance.now()")
        await item.click()
        times.append(await settled(page, since))
        await asyncio.sleep(0.5)
    return times


async def the_room(instructor_link: str, learners_link: str, a, on_board_open=lambda: None) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        board = await (await browser.new_context(viewport={"width": 1400, "height": 1200})).new_page()
        await board.goto(instructor_link)
        await board.get_by_text("Learners' link").wait_for(timeout=120_000)
        on_board_open()  # the web server has drawn a page: its first-use imports are in "before"
        seen: list[tuple[float, int]] = []
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch_board(board, seen, stop))
        outcomes = await asyncio.gather(*(learner(browser, learners_link, n, a) for n in range(a.learners)))
        await asyncio.sleep(6)  # the last run's way to the board
        stop.set()
        await watcher
        sorts = await time_sorts(board, a.sorts)
        await browser.close()
    return {"outcomes": outcomes, "seen": seen, "sorts": sorts}


# --------------------------------------------------------------------------- the figures


def board_delays(finished: list[float], seen: list[tuple[float, int]]) -> list[float]:
    """For the k-th run to finish: when the board first showed k runs, less when it finished.

    >>> board_delays([10.0, 11.0], [(10.5, 1), (13.0, 2)])
    [0.5, 2.0]
    """
    delays = []
    for k, done in enumerate(sorted(finished), start=1):
        shown = next((at for at, count in seen if count >= k), None)
        if shown is not None:
            delays.append(round(shown - done, 2))
    return delays


def summary(a, result: dict, finished: list[float], rss: dict, loads: tuple) -> dict:
    delays = board_delays(finished, result["seen"])
    return {
        "benchmark": "room",
        "learners": a.learners,
        "finished": sum(o["finished"] for o in result["outcomes"]),
        "errors": [o["error"] for o in result["outcomes"] if o["error"]][:5],
        "runs_in_store": len(finished),
        "runs_seen_on_board": len(delays),
        "board_delay_p50_s": median(delays),
        "board_delay_p95_s": round(percentile(delays, 95), 2) if delays else None,
        "board_delay_max_s": max(delays) if delays else None,
        "sort_click_median_s": round(median(result["sorts"]), 3) if result["sorts"] else None,
        "sort_click_max_s": round(max(result["sorts"]), 3) if result["sorts"] else None,
        **rss,
        "load_before": loads[0],
        "load_after": loads[1],
    }


def docs_body(s: dict, a, argv: list[str]) -> str:
    goal = lambda ok: "yes" if ok else "**no**"  # noqa: E731
    p95, sort = s["board_delay_p95_s"], s["sort_click_median_s"]
    return "\n".join(
        [
            HEADING,
            "",
            f"`.venv/bin/python bench/room.py {' '.join(argv)}`".replace(" `", "`"),
            "",
            machine_line() + f" Load average before {s['load_before']}, after {s['load_after']}.",
            f"{a.learners} learners (chromium contexts, one every {a.stagger:g} s) join one room and train {a.dataset} for "
            f"{a.epochs} epochs ({a.max_trainings} trainings at a time); one more context holds the instructor's board.",
            "",
            "| measure | value | goal | met |",
            "|---|---|---|---|",
            f"| runs finished / in the store / seen on the board | {s['finished']} / {s['runs_in_store']} / "
            f"{s['runs_seen_on_board']} | all | {goal(s['runs_seen_on_board'] == a.learners)} |",
            f"| run finished -> on the board, p50 / p95 / max | {s['board_delay_p50_s']} / {p95} / {s['board_delay_max_s']} s "
            f"| p95 <= 2 s | {goal(p95 is not None and p95 <= 2)} |",
            f"| board sort click -> settled, median / max | {sort} / {s['sort_click_max_s']} s | <= 1 s | "
            f"{goal(sort is not None and sort <= 1)} |",
            f"| web server RSS with the board open (cold server: {s['rss_cold_mb']}) / peak / {a.settle:g} s after the room "
            f"left | {s['rss_before_mb']} / {s['rss_peak_mb']} / {s['rss_after_mb']} MB | back within 10 % of the peak's rise | "
            f"{goal(s['rss_after_mb'] - s['rss_before_mb'] <= 0.1 * max(s['rss_peak_mb'] - s['rss_before_mb'], 1) + 5)} |",
            "",
            "The board polls the store every 2 s (ui/polling.BOARD_POLL_SECONDS) and redraws when a run starts or "
            "ends, so a finished run reaches it within one poll plus the redraw.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    a = parse_args(argv)
    from core import rooms
    from core.spec import ExperimentSpec

    home = Path(tempfile.mkdtemp(prefix="playground-room-")) / "home"
    loads = [load_avg()]
    with AppServer(home, PLAYGROUND_MAX_TRAININGS=a.max_trainings, PLAYGROUND_MAX_QUEUE=a.learners + 10) as app:
        app.open_pool()
        app.wait_workers(a.max_trainings)
        spec = ExperimentSpec.default_for(a.dataset)
        spec.fit.epochs = a.epochs
        room, key = rooms.create(spec, "Bench room", "val_accuracy")
        learners_link = f"{app.url}/board?room={room.id}"
        sampler = RssSampler(app.pid)
        marks = {"cold": rss_mb(app.pid)}
        sampler.start()
        result = asyncio.run(
            the_room(f"{learners_link}&key={key}", learners_link, a, lambda: marks.setdefault("before", rss_mb(app.pid)))
        )
        before = marks.get("before", marks["cold"])
        time.sleep(a.settle)
        sampler.running = False
        rss = {
            "rss_before_mb": round(before),
            "rss_peak_mb": round(max(sampler.samples or [before])),
            "rss_after_mb": round(rss_mb(app.pid)),
        }
        finished = [r.finished for r in rooms.room_runs(room.id) if r.finished]
    loads.append(load_avg())
    s = summary(a, result, finished, rss, tuple(loads))
    if a.write_docs:
        write_section(a.docs, HEADING, docs_body(s, a, argv))
    print(json.dumps(s))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
