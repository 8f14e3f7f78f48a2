"""Imports run downward only: pages -> engine -> domain -> leaves, never in a circle; core never imports streamlit."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = {
    "leaf": {
        "settings",
        "array_cache",
        "network",
        "model_rules",
        "dataset_catalogue",
        "shapes",
        "status",
        "eta",
        "spec",
        "i18n",
        "images",
        "charts",
        "compare",
        "callbacks",
        "augment",
        "demo_folders",
        "layer_wiring",
        "gradcam",
        "share",
        "network_views",
        "diagnosis",
        "snippet",
    },
    "domain": {
        "db",
        "datasets",
        "builder",
        "summary",
        "evaluation",
        "saved_specs",
        "recipes",
        "runs",
        "queue",
        "presence",
        "uploads",
        "pretrained",
        "transfer",
        "own_models",
        "preflight",
        "rooms",
        "search",
    },
    "engine": {"recorder", "pipeline", "worker", "workers", "ray_pool", "jobs", "export", "codegen", "__main__", "cli"},
}
RANK = {name: rank for rank, layer in enumerate(["leaf", "domain", "engine"]) for name in LAYERS[layer]}


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            if node.module == "core":
                found |= {f"core.{alias.name}" for alias in node.names}
    return found


def core_modules() -> dict[str, Path]:
    return {p.stem: p for p in (ROOT / "core").glob("*.py") if p.stem != "__init__"}


def test_every_core_module_has_a_layer():
    assert set(core_modules()) <= set(RANK), set(core_modules()) - set(RANK)


def test_core_never_imports_streamlit():
    for name, path in core_modules().items():
        assert not any(m == "streamlit" or m.startswith("streamlit.") for m in imports_of(path)), name


def test_core_imports_only_its_own_layer_or_below_and_has_no_cycles():
    graph = {}
    for name, path in core_modules().items():
        deps = {m.split(".")[1] for m in imports_of(path) if m.startswith("core.")}
        for dep in deps:
            assert RANK[dep] <= RANK[name], f"core.{name} ({RANK[name]}) imports core.{dep} ({RANK[dep]})"
        graph[name] = deps
    seen, stack = set(), set()

    def visit(node):
        assert node not in stack, f"import cycle through core.{node}"
        if node in seen:
            return
        stack.add(node)
        for dep in graph.get(node, ()):
            visit(dep)
        stack.discard(node)
        seen.add(node)

    for node in graph:
        visit(node)


def test_pages_do_not_import_each_other_and_ui_does_not_import_pages():
    for path in [*(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]:
        assert not any(m.startswith("pages") for m in imports_of(path)), path.name


def test_the_readme_layout_lists_every_core_module_in_its_layer():
    lines = (ROOT / "README.md").read_text().split("## Layout", 1)[1].splitlines()
    listed: dict[str, set[str]] = {}
    layer = None
    for line in lines:
        head = line.strip().split(":", 1)
        name = {"leaves": "leaf"}.get(head[0], head[0])
        if line.startswith("  ") and not line.startswith("   ") and name in LAYERS:
            layer = name
            listed[layer] = set()
            line = head[1]
        elif not line.startswith("           "):
            layer = None
        if layer:
            listed[layer] |= {name.strip() for name in line.split(",") if name.strip()}
    assert listed == {k: v - {"__main__"} for k, v in LAYERS.items()}
