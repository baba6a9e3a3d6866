"""The dependency direction and composition rules, checked on the source with ``ast``.

core <- activities <- workflows (through imports_passed_through); worker/ and starter/ each compose
their own process (worker/wiring.py, starter/wiring.py) and never import each other, except the CLI
entry points, which run both. No module imports itself back through others (no cycle), and the
incident core imports no Temporal. Clients are built only in composition roots, configuration
comes only from core/settings.py, and no endpoint is hard-coded outside the Settings defaults.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("core", "workflows", "activities", "starter", "worker")
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def _sources(*packages: str) -> list[Path]:
    files = [p for pkg in packages for p in sorted((ROOT / pkg).rglob("*.py"))]
    assert files, f"no sources found under {packages}"
    return files


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@dataclass(frozen=True)
class Import:
    module: str  # absolute dotted name
    line: int
    passed_through: bool  # inside `with workflow.unsafe.imports_passed_through():`

    @property
    def top(self) -> str:
        return self.module.split(".")[0]


def _package_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts if parts[-1] == "__init__" else parts[:-1]).removesuffix(".__init__")


def _is_passed_through(node: ast.With) -> bool:
    for item in node.items:
        call = item.context_expr
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
            if call.func.attr == "imports_passed_through":
                return True
    return False


def imports(path: Path) -> list[Import]:
    found: list[Import] = []
    package = _package_of(path)

    def visit(node: ast.AST, passed: bool) -> None:
        if isinstance(node, ast.With) and _is_passed_through(node):
            passed = True
        if isinstance(node, ast.Import):
            found.extend(Import(alias.name, node.lineno, passed) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.append(Import(module, node.lineno, passed))
            if node.module is None or node.level:
                # `from . import x` / `from package import module`: the names may be modules too.
                found.extend(Import(f"{module}.{a.name}", node.lineno, passed) for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child, passed)

    visit(_tree(path), False)
    return found


def _ours(imp: Import) -> bool:
    return imp.top in OURS


# ------------------------------------------------------------------------------- dependency direction


def test_core_imports_nothing_of_ours_but_core() -> None:
    bad = [f"{_rel(p)}:{i.line} imports {i.module}"
           for p in _sources("core") for i in imports(p) if _ours(i) and i.top != "core"]
    assert not bad, bad


def test_workflows_import_only_core_activities_temporalio_and_stdlib() -> None:
    bad: list[str] = []
    for path in _sources("workflows"):
        for imp in imports(path):
            where = f"{_rel(path)}:{imp.line} imports {imp.module}"
            if imp.top == "activities":
                if not imp.passed_through:
                    bad.append(where + " outside workflow.unsafe.imports_passed_through()")
            elif imp.top in ("core", "workflows", "temporalio") or imp.top in STDLIB:
                continue
            else:
                bad.append(where)
    assert not bad, bad


def test_workflows_reference_activities_through_the_sandbox_pass_through() -> None:
    """A sanity check that the rule above looks at something: the workflow does use activities."""
    passed = [i for p in _sources("workflows") for i in imports(p) if i.top == "activities"]
    assert passed and all(i.passed_through for i in passed)


def test_activities_never_import_starter_worker_or_workflows() -> None:
    bad = [f"{_rel(p)}:{i.line} imports {i.module}"
           for p in _sources("activities") for i in imports(p) if i.top in ("starter", "worker", "workflows")]
    assert not bad, bad


CLI_ENTRY_POINTS = {"starter/cli.py", "starter/dev.py"}


def test_starter_imports_worker_only_from_the_cli_entry_points() -> None:
    bad = [f"{_rel(p)}:{i.line} imports {i.module}"
           for p in _sources("starter") if _rel(p) not in CLI_ENTRY_POINTS
           for i in imports(p) if i.top == "worker"]
    assert not bad, bad


def test_worker_never_imports_starter() -> None:
    bad = [f"{_rel(p)}:{i.line} imports {i.module}"
           for p in _sources("worker") for i in imports(p) if i.top == "starter"]
    assert not bad, bad


def test_the_incident_core_imports_no_temporal() -> None:
    bad = [f"{_rel(p)}:{i.line} imports {i.module}"
           for p in _sources("core/incident") for i in imports(p) if i.top == "temporalio"]
    assert not bad, bad


def _module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (a ``from package import name`` counts as the package
    unless ``name`` is a module itself). Every import counts, TYPE_CHECKING ones included."""
    paths = _sources(*OURS)
    modules = {_module_of(p) for p in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        edges = set()
        for imp in imports(path):
            if not _ours(imp):
                continue
            target = imp.module if imp.module in modules else imp.module.rsplit(".", 1)[0]
            if target in modules and target != _module_of(path):
                edges.add(target)
        graph[_module_of(path)] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], dict.fromkeys(graph, 0)  # 0 new, 1 on the stack, 2 done

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif state.get(nxt) == 0:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if state[node] == 0:
            visit(node, [])
    return found


def test_the_import_graph_has_no_cycle() -> None:
    # Package __init__ modules that re-export their own submodules are the only edges left out.
    graph = {module: {t for t in targets if not t.startswith(module + ".")} for module, targets in _import_graph().items()}
    assert not _cycles(graph), _cycles(graph)


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]


def test_starter_never_imports_workflows() -> None:
    bad = [f"{_rel(p)}:{i.line} imports {i.module}"
           for p in _sources("starter") for i in imports(p) if i.top == "workflows"]
    assert not bad, bad


# --------------------------------------------------------------------------- composition and config

CLIENT_CLASSES = {"Redis", "StrictRedis", "AsyncClient", "Client", "ConnectionPool"}
CLIENT_FACTORIES = {"from_url", "connect"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def _import_time_nodes(tree: ast.Module):  # noqa: ANN202
    """Every node evaluated when the module is imported: not function bodies (decorators,
    default values and class bodies are evaluated at import time, so they are included)."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            stack.extend(node.decorator_list)
            stack.extend(node.args.defaults)
            stack.extend(d for d in node.args.kw_defaults if d is not None)
            continue
        if isinstance(node, ast.Lambda):
            stack.extend(node.args.defaults)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _client_construction(call: ast.Call) -> str | None:
    name = _dotted(call.func)
    last = name.rsplit(".", 1)[-1]
    if last in CLIENT_CLASSES:
        return name
    if last in CLIENT_FACTORIES and any(part in CLIENT_CLASSES or part in ("redis", "httpx")
                                        for part in name.split(".")[:-1]):
        return name
    return None


def test_no_client_is_constructed_at_import_time() -> None:
    bad: list[str] = []
    for path in _sources(*OURS):
        for node in _import_time_nodes(_tree(path)):
            if isinstance(node, ast.Call) and (what := _client_construction(node)):
                bad.append(f"{_rel(path)}:{node.lineno} calls {what}(...) at import time")
    assert not bad, bad


def test_the_import_time_check_catches_a_module_level_client() -> None:
    sample = ast.parse(
        "import httpx\nfrom redis.asyncio import Redis\nfrom temporalio.client import Client\n"
        "R = Redis.from_url('redis://x')\nH = httpx.AsyncClient()\nclass A:\n    r = Redis()\n"
        "def ok():\n    return httpx.AsyncClient()\n"
        "async def also_ok():\n    return await Client.connect('x')\n"
    )
    found = [_client_construction(n) for n in _import_time_nodes(sample) if isinstance(n, ast.Call)]
    assert sorted(f for f in found if f) == ["Redis", "Redis.from_url", "httpx.AsyncClient"]


SETTINGS_MODULE = "core/settings.py"


def _environment_access(tree: ast.Module) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "environb", "getenv", "putenv", "unsetenv"):
            if _dotted(node.value) == "os":
                found.append((node.lineno, f"os.{node.attr}"))
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            for alias in node.names:
                if alias.name in ("environ", "environb", "getenv", "putenv", "unsetenv"):
                    found.append((node.lineno, f"from os import {alias.name}"))
    return found


def test_environment_is_read_only_in_settings() -> None:
    bad = [f"{_rel(p)}:{line} uses {what}"
           for p in _sources(*OURS) if _rel(p) != SETTINGS_MODULE
           for line, what in _environment_access(_tree(p))]
    assert not bad, bad


# ------------------------------------------------------------------------------------- endpoints

_URL_HOST = re.compile(r"https?://([A-Za-z0-9][A-Za-z0-9.\-]*)")
# Where a literal host is fine: the Settings defaults for the public APIs, and local-only servers
# that `awoooi dev` starts itself on the loopback interface.
ALLOWED_HOSTS = {
    SETTINGS_MODULE: {"api.telegram.org", "sentry.io"},
}
LOOPBACK = {"127.0.0.1", "localhost"}
# Human-readable advice in the knowledge base may point at public documentation; it is text shown
# to an operator, never a URL awoooi calls.
DOCUMENTATION_MODULES = {"activities/analysis/knowledge_base.py", "activities/analysis/families.py"}


def _docstring_nodes(tree: ast.Module) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def hosts_in(tree: ast.Module) -> list[tuple[int, str]]:
    skip = _docstring_nodes(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            found.extend((node.lineno, m.group(1)) for m in _URL_HOST.finditer(node.value))
    return found


def test_no_hard_coded_hosts_outside_settings_defaults() -> None:
    bad: list[str] = []
    for path in _sources(*OURS):
        rel = _rel(path)
        if rel in DOCUMENTATION_MODULES:
            continue
        for line, host in hosts_in(_tree(path)):
            bare = host.split(":")[0].rstrip(".")
            if bare in LOOPBACK or bare in ALLOWED_HOSTS.get(rel, set()):
                continue
            bad.append(f"{rel}:{line} hard-codes {host}")
    assert not bad, bad


def test_settings_defaults_are_the_only_public_api_bases() -> None:
    hosts = {host for _, host in hosts_in(_tree(ROOT / SETTINGS_MODULE)) if host.split(":")[0] not in LOOPBACK}
    assert hosts == ALLOWED_HOSTS[SETTINGS_MODULE]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('URL = "https://hooks.example.com/x"', ["hooks.example.com"]),
        ('def f(port):\n    return f"http://{HOST}:{port}"', []),
        ('def f():\n    """See https://docs.example.org."""', []),
        ('TIP = "curl http://<instance>/metrics"', []),
    ],
)
def test_the_host_check_itself(source: str, expected: list[str]) -> None:
    assert [h for _, h in hosts_in(ast.parse(source))] == expected


def test_no_workflow_file_is_over_400_lines_and_none_the_new_incidents_run_patches() -> None:
    long = [f"{_rel(p)}: {n} lines" for p in _sources("workflows")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400]
    assert not long, long
    current = [p for p in _sources("workflows") if "legacy" not in p.parts]
    patched = [_rel(p) for p in current if "workflow.patched(" in p.read_text(encoding="utf-8")]
    assert not patched, f"generation 2 has no patch branches (docs/adr/0019): {patched}"
