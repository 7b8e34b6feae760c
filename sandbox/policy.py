"""Compile policy: the script dialect, on top of RestrictedPython's transformer.

A script is the body of a function. This module parses the author's text as is
(so every line and column is the author's own), strips ``await``, lets
:class:`ScriptPolicy` (a ``RestrictingNodeTransformer``) rewrite and refuse
what it must, inserts loop and call ticks, then wraps the body in a function.

Where this policy departs from RestrictedPython's defaults it says why: item
reads, name augmented assignment and tuple unpacking are left native because
the only objects a script can reach are plain data and :class:`Exposed`
helpers, whose items and iteration are harmless, and each guard call there
would cost more than the loop body it guards.
"""

from __future__ import annotations

import ast
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from types import CodeType

from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations

from sandbox.guards import DATA_UNDERSCORE_NAMES

SCRIPT_FILENAME = "<script>"
SCRIPT_FUNCTION = "_script_"
KINDS = ("action", "response", "condition", "tagging")

# Names that are refused at compile time with a line, rather than failing later
# as an undefined name: each is a known way out of a sandbox.
FORBIDDEN_NAMES = frozenset(
    {
        "exec", "eval", "compile", "open", "type", "getattr", "setattr", "delattr", "hasattr",
        "vars", "dir", "globals", "locals", "breakpoint", "input", "memoryview", "super",
        "object", "classmethod", "staticmethod", "property", "help", "exit", "quit", "iter",
        "format", "id", "bytearray", "bytes", "issubclass", "aiter", "anext",
    }
)  # fmt: skip


@dataclass(frozen=True)
class CompileProblem:
    """One reason a script was refused, at the author's line and column (1-based)."""

    message: str
    line: int | None
    column: int | None


class ScriptCompileError(Exception):
    """The script was refused. ``problems`` lists every reason found."""

    def __init__(self, problems: list[CompileProblem], source: str) -> None:
        first = problems[0]
        super().__init__(first.message)
        self.problems = problems
        self.source = source
        self.message = first.message
        self.line = first.line
        self.column = first.column

    def as_error(self) -> dict[str, object]:
        """The refusal as a run's ``error``: type, message, line, column."""
        return {"type": "CompileError", "message": self.message, "line": self.line, "column": self.column}


@dataclass(frozen=True)
class CompiledScript:
    """A compiled script: ``code`` is the code object of the wrapping function."""

    code: CodeType
    kind: str
    digest: str
    source: str


class _StripAwait(ast.NodeTransformer):
    """``await x`` means ``x``: every method call is synchronous in the sandbox."""

    def visit_Await(self, node: ast.Await) -> ast.AST:
        return self.visit(node.value)


def _tick_expression(node: ast.AST) -> ast.expr:
    """``_next_(_ti_, 0) or _tick_()``: C-level counting on the fast path, the
    Python check (deadline, CPU) once per refill. Always truthy."""
    expr = ast.BoolOp(
        op=ast.Or(),
        values=[
            ast.Call(
                func=ast.Name("_next_", ast.Load()),
                args=[ast.Name("_ti_", ast.Load()), ast.Constant(0)],
                keywords=[],
            ),
            ast.Call(func=ast.Name("_tick_", ast.Load()), args=[], keywords=[]),
        ],
    )
    copy_locations(expr, node)
    return expr


def _tick_statement(node: ast.AST) -> ast.stmt:
    stmt = ast.Expr(_tick_expression(node))
    copy_locations(stmt, node)
    return stmt


def _is_pure_target(node: ast.AST) -> bool:
    """True for ``a``, ``a.b``, ``a["k"]``, ``a.b[i].c``: evaluating it twice
    has no side effect, so ``t op= v`` may become ``t = t op v``."""
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Attribute):
        return _is_pure_target(node.value)
    if isinstance(node, ast.Subscript):
        return _is_pure_target(node.value) and isinstance(node.slice, (ast.Constant, ast.Name))
    return False


def _load_copy(node: ast.expr) -> ast.expr:
    """A deep copy of a target expression, every context set to Load."""
    clone = ast.parse(ast.unparse(node), mode="eval").body
    for child in ast.walk(clone):
        if hasattr(child, "ctx"):
            child.ctx = ast.Load()
    for new, old in zip(ast.walk(clone), ast.walk(node), strict=False):
        if hasattr(old, "lineno"):
            ast.copy_location(new, old)
    return clone


class ScriptPolicy(RestrictingNodeTransformer):
    """RestrictedPython's transformer with the script dialect's changes.

    Errors are kept as :class:`CompileProblem` (line and column) instead of
    formatted strings.
    """

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[CompileProblem] = []

    def error(self, node: ast.AST, info: str) -> None:
        line = getattr(node, "lineno", None)
        col = getattr(node, "col_offset", None)
        self.problems.append(CompileProblem(info, line, None if col is None else col + 1))
        self.errors.append(info)

    def refuse(self, node: ast.AST, info: str) -> ast.AST:
        self.error(node, info)
        return node

    # Names -----------------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> ast.AST:
        # ``print`` stays a plain name (a function writing to the run's log)
        # instead of RestrictedPython's collector rewrite.
        if isinstance(node.ctx, ast.Load):
            if node.id in FORBIDDEN_NAMES:
                return self.refuse(node, f'"{node.id}" is not available in scripts')
            if node.id == "print":
                return node
        self.check_name(node, node.id)
        return node

    # Statements refused outright -------------------------------------------

    def visit_Import(self, node: ast.Import) -> ast.AST:
        return self.refuse(node, "import is not allowed: use this.lodash, this.moment and this.fetch")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        return self.refuse(node, "import is not allowed: use this.lodash, this.moment and this.fetch")

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        return self.refuse(node, "class definitions are not allowed in scripts")

    def visit_Yield(self, node: ast.Yield) -> ast.AST:
        return self.refuse(node, "yield is not allowed in scripts")

    def visit_YieldFrom(self, node: ast.YieldFrom) -> ast.AST:
        return self.refuse(node, "yield is not allowed in scripts")

    def visit_Global(self, node: ast.Global) -> ast.AST:
        return self.refuse(node, "global is not allowed in scripts")

    # Reads -----------------------------------------------------------------

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if node.attr not in DATA_UNDERSCORE_NAMES:
            return super().visit_Attribute(node)
        # ``doc._id``: RestrictedPython refuses every "_" name; these are data.
        # They still go through the same guards as any attribute.
        node = self.node_contents_visit(node)
        if isinstance(node.ctx, ast.Load):
            call = ast.Call(
                func=ast.Name("_getattr_", ast.Load()), args=[node.value, ast.Constant(node.attr)], keywords=[]
            )
            copy_locations(call, node)
            return call
        write = ast.Call(func=ast.Name("_write_", ast.Load()), args=[node.value], keywords=[])
        copy_locations(write, node.value)
        node.value = write
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        if isinstance(node.ctx, ast.Load):
            # Item reads stay native: see the module docstring.
            return self.node_contents_visit(node)
        return super().visit_Subscript(node)

    def guard_iter(self, node: ast.For | ast.comprehension) -> ast.AST:
        # ``for k, v in ...`` unpacks natively: plain data only.
        node = self.node_contents_visit(node)
        new_iter = ast.Call(func=ast.Name("_getiter_", ast.Load()), args=[node.iter], keywords=[])
        copy_locations(new_iter, node.iter)
        node.iter = new_iter
        return node

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        # Tuple targets unpack natively too.
        return self.node_contents_visit(node)

    # Arithmetic that can take unbounded time in one C call ------------------

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        guard = {ast.Pow: "_pow_", ast.LShift: "_lshift_"}.get(type(node.op))
        if guard is None:
            return node
        call = ast.Call(func=ast.Name(guard, ast.Load()), args=[node.left, node.right], keywords=[])
        copy_locations(call, node)
        return call

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        target = node.target
        guarded = isinstance(node.op, (ast.Pow, ast.LShift))
        if isinstance(target, ast.Name) and not guarded:
            return self.node_contents_visit(node)
        if not _is_pure_target(target):
            return self.refuse(node, "augmented assignment to this target is not allowed; write t = t + v")
        # ``t op= v`` becomes ``t = t op v`` so attribute and item targets go
        # through the write guard (``this.member.meta.count += 1`` works).
        binop = ast.BinOp(left=_load_copy(target), op=node.op, right=node.value)
        copy_locations(binop, node)
        assign = ast.Assign(targets=[target], value=binop)
        copy_locations(assign, node)
        return self.visit(assign)

    # Ticks -----------------------------------------------------------------

    def visit_For(self, node: ast.For) -> ast.AST:
        node = super().visit_For(node)
        node.body.insert(0, _tick_statement(node))
        return node

    def visit_While(self, node: ast.While) -> ast.AST:
        node = super().visit_While(node)
        node.body.insert(0, _tick_statement(node))
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        if node.decorator_list:
            self.error(node, "decorators are not allowed in scripts")
        node = super().visit_FunctionDef(node)
        node.body.insert(0, _tick_statement(node))
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        node = super().visit_Lambda(node)
        body = ast.BoolOp(op=ast.And(), values=[_tick_expression(node), node.body])
        copy_locations(body, node)
        node.body = body
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        node = super().visit_comprehension(node)
        node.ifs.insert(0, _tick_expression(node.iter))
        return node


def _wrap_in_function(body: list[ast.stmt]) -> ast.Module:
    """``def _script_(): <body>`` with the body's own locations untouched."""
    func = ast.FunctionDef(
        name=SCRIPT_FUNCTION,
        args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]),
        body=body or [ast.Pass()],
        decorator_list=[],
        returns=None,
    )
    if "type_params" in ast.FunctionDef._fields:  # Python 3.12+
        func.type_params = []
    func.lineno, func.col_offset = 1, 0
    func.end_lineno, func.end_col_offset = 1, 0
    module = ast.Module(body=[func], type_ignores=[])
    ast.fix_missing_locations(module)
    return module


def _parse(source: str, kind: str) -> list[ast.stmt]:
    if kind == "condition":
        expression = ast.parse(source, SCRIPT_FILENAME, mode="eval")
        ret = ast.Return(value=expression.body)
        ast.copy_location(ret, expression.body)
        return [ret]
    return ast.parse(source, SCRIPT_FILENAME, mode="exec").body


def _syntax_problem(error: SyntaxError) -> CompileProblem:
    message = error.msg
    if message.startswith("'return' outside function"):  # pragma: no cover - a body is a function
        message = "return outside the script"
    return CompileProblem(f"SyntaxError: {message}", error.lineno, error.offset)


def _digest(source: str, kind: str) -> str:
    return hashlib.sha256(f"{kind}\0{source}".encode()).hexdigest()


def compile_uncached(source: str, kind: str = "action", digest: str | None = None) -> CompiledScript:
    """Compile ``source`` under the policy. Raises :class:`ScriptCompileError`."""
    if kind not in KINDS:
        raise ValueError(f"unknown script kind {kind!r}; expected one of {', '.join(KINDS)}")
    try:
        body = _parse(source, kind)
    except SyntaxError as error:
        raise ScriptCompileError([_syntax_problem(error)], source) from None
    tree = ast.Module(body=body, type_ignores=[])
    tree = _StripAwait().visit(tree)
    policy = ScriptPolicy()
    tree = policy.visit(tree)
    if policy.problems:
        raise ScriptCompileError(policy.problems, source)
    module = _wrap_in_function(tree.body)
    try:
        module_code = compile(module, SCRIPT_FILENAME, "exec", dont_inherit=True)
    except SyntaxError as error:  # e.g. "'break' outside loop", found by the compiler
        raise ScriptCompileError([_syntax_problem(error)], source) from None
    function_code = next(c for c in module_code.co_consts if isinstance(c, CodeType))
    return CompiledScript(function_code, kind, digest or _digest(source, kind), source)


class CompileCache:
    """A bounded LRU of compiled scripts keyed by kind and source hash.

    Refusals are cached too, so a broken script is not re-parsed on every run.
    """

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._entries: OrderedDict[str, CompiledScript | ScriptCompileError] = OrderedDict()
        self._lock = threading.Lock()
        self.compiles = 0

    def get(self, source: str, kind: str = "action") -> CompiledScript:
        """The compiled script, compiling it on first use."""
        key = _digest(source, kind)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is None:
            try:
                entry = compile_uncached(source, kind, key)
            except ScriptCompileError as error:
                entry = error
            with self._lock:
                self.compiles += 1
                self._entries[key] = entry
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        if isinstance(entry, ScriptCompileError):
            raise entry
        return entry


def snippet(source: str, line: int | None, column: int | None) -> str:
    """Two lines: the author's line with its number, and a caret under the column."""
    lines = source.splitlines()
    if line is None or not 1 <= line <= len(lines):
        return ""
    text = lines[line - 1]
    prefix = f"{line:>4} | "
    caret = " " * (len(prefix) + max((column or 1) - 1, 0)) + "^"
    return f"{prefix}{text}\n{caret}"
