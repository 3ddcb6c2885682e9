"""The arithmetic a county method writes its indicators in: ``tax_10k_yuan / land_mu``,
``value_added_10k_yuan / energy_tce``, ``land_mu < 3``. Parsed with Python's ``ast`` and evaluated
by walking the tree — only numbers, input names, ``+ - * /``, unary minus, parentheses and one
comparison (true = 1, false = 0) exist; nothing else parses, so a method file cannot run code.

A name without a value, or a division by zero, makes the whole expression ``None`` (not
computable): the scoring decides what a missing indicator is worth.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

_BINARY: Mapping[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_COMPARE: Mapping[type[ast.cmpop], Callable[[float, float], bool]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne}
# A method's expression is a line of a config file; a longer one is a mistake or an attack.
MAX_CHARS = 300


class ExpressionError(ValueError):
    """The text is not an expression of the allowed kind."""


def _check(node: ast.AST, text: str) -> None:
    if isinstance(node, ast.Expression):
        _check(node.body, text)
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _check(node.left, text)
        _check(node.right, text)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        _check(node.operand, text)
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
        _check(node.left, text)
        _check(node.comparators[0], text)
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
        pass
    elif isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise ExpressionError(f"{text!r}: names may not start with '_' ({node.id})")
    else:
        raise ExpressionError(f"{text!r}: only numbers, input names, + - * /, parentheses and one comparison "
                              f"are allowed (found {type(node).__name__})")


@dataclass(frozen=True, slots=True)
class Expression:
    text: str
    _tree: ast.Expression = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.text) > MAX_CHARS:
            raise ExpressionError(f"expression of {len(self.text)} characters, max {MAX_CHARS}")
        try:
            tree = ast.parse(self.text.strip(), mode="eval")
        except SyntaxError as exc:
            raise ExpressionError(f"{self.text!r}: not an expression ({exc.msg})") from None
        _check(tree, self.text)
        object.__setattr__(self, "_tree", tree)

    @property
    def names(self) -> frozenset[str]:
        """The input names the expression reads."""
        return frozenset(n.id for n in ast.walk(self._tree) if isinstance(n, ast.Name))

    @property
    def ratio(self) -> tuple[str, str] | None:
        """(numerator, denominator) when the expression is one name divided by another."""
        body = self._tree.body
        if isinstance(body, ast.BinOp) and isinstance(body.op, ast.Div) and isinstance(body.left, ast.Name) \
                and isinstance(body.right, ast.Name):
            return body.left.id, body.right.id
        return None

    def evaluate(self, values: Mapping[str, float]) -> float | None:
        """The value, or None when a name has no value or a divisor is 0."""
        return _eval(self._tree.body, values)


def _eval(node: ast.expr, values: Mapping[str, float]) -> float | None:
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)  # _check admits no other constant
        return float(node.value)
    if isinstance(node, ast.Name):
        return values.get(node.id)
    if isinstance(node, ast.UnaryOp):
        inner = _eval(node.operand, values)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if isinstance(node, ast.Compare):
        left, right = _eval(node.left, values), _eval(node.comparators[0], values)
        return None if left is None or right is None else float(_COMPARE[type(node.ops[0])](left, right))
    assert isinstance(node, ast.BinOp)
    a, b = _eval(node.left, values), _eval(node.right, values)
    if a is None or b is None or (isinstance(node.op, ast.Div) and b == 0):
        return None
    return _BINARY[type(node.op)](a, b)
