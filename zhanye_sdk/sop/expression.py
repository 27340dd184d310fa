"""Rule expressions: key phrases and regular expressions joined by and / or / not.

Grammar (``not`` binds tighter than ``and``, ``and`` tighter than ``or``)::

    expr   := term ("or" term)*            also "|"
    term   := factor ("and" factor)*       also "&"
    factor := "not" factor | "(" expr ")" | phrase | regex     "not" also "!"
    phrase := "quoted text" | bare word (no spaces, parentheses, quotes or operators)
    regex  := /pattern/                     matched against normalised text

``保本 and (保息 or 收益) and not 风险`` is true of text that says 保本 and one of 保息 or
收益 but not 风险. Phrases are matched by the matcher (exact and pinyin channels);
regular expressions by ``re.search`` on normalised text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import attrs

from zhanye_sdk.errors import InvalidInput

__all__ = [
    "And",
    "Expression",
    "Not",
    "Or",
    "Phrase",
    "Regex",
    "evaluate",
    "parse_expression",
    "phrases_of",
    "regex_in",
]


@attrs.frozen(slots=True)
class Phrase:
    """A key phrase."""

    text: str


@attrs.frozen(slots=True)
class Regex:
    """A regular expression over normalised text."""

    pattern: str


@attrs.frozen(slots=True)
class Not:
    operand: Expression


@attrs.frozen(slots=True)
class And:
    operands: tuple[Expression, ...]


@attrs.frozen(slots=True)
class Or:
    operands: tuple[Expression, ...]


Expression = Phrase | Regex | Not | And | Or

_TOKEN = re.compile(
    r'\s*(?:(\()|(\))|"([^"]*)"|/((?:[^/\\]|\\.)*)/|(&&|\|\||[!&|])|([^\s()"!&|]+))'
)
_OPERATORS = {"and": "and", "&": "and", "&&": "and", "or": "or", "|": "or", "||": "or"}
_NOTS = {"not", "!"}


def _tokens(source: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(source):
        if source[pos:].strip() == "":
            break
        match = _TOKEN.match(source, pos)
        if match is None:
            raise InvalidInput(
                f"expression: unexpected {source[pos:].strip()[:10]!r} at {pos}",
                zh=f"表达式第 {pos} 个字符处“{source[pos:].strip()[:10]}”无法识别，请检查写法",
            )
        pos = match.end()
        opened, closed, quoted, regex, symbol, word = match.groups()
        word = symbol or word
        if opened:
            tokens.append(("(", opened))
        elif closed:
            tokens.append((")", closed))
        elif quoted is not None:
            if not quoted.strip():
                raise InvalidInput(
                    "expression: an empty quoted phrase",
                    zh="表达式中有空的引号短语，请在引号内填写内容",
                )
            tokens.append(("phrase", quoted))
        elif regex is not None:
            try:
                re.compile(regex)
            except re.error as err:
                raise InvalidInput(
                    f"expression: bad regular expression /{regex}/: {err}",
                    zh=f"表达式中的正则 /{regex}/ 写法有误：{err}",
                ) from None
            tokens.append(("regex", regex))
        elif word.lower() in _OPERATORS:
            tokens.append((_OPERATORS[word.lower()], word))
        elif word.lower() in _NOTS:
            tokens.append(("not", word))
        else:
            tokens.append(("phrase", word))
    return tokens


def parse_expression(source: str) -> Expression:
    """Parse ``source``; see the module header for the grammar.

    Raises:
        InvalidInput: the expression is empty or malformed, saying where.
    """
    tokens = _tokens(source)
    if not tokens:
        raise InvalidInput("expression: must not be empty", zh="表达式不能为空")
    pos = 0

    def peek() -> str | None:
        return tokens[pos][0] if pos < len(tokens) else None

    def take(kind: str) -> str:
        nonlocal pos
        if peek() != kind:
            got = tokens[pos][1] if pos < len(tokens) else "the end"
            raise InvalidInput(
                f"expression: expected {kind}, got {got!r} in {source!r}",
                zh=f"表达式“{source}”不完整或括号不配对，请检查写法",
            )
        pos += 1
        return tokens[pos - 1][1]

    def parse_or() -> Expression:
        operands = [parse_and()]
        while peek() == "or":
            take("or")
            operands.append(parse_and())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def parse_and() -> Expression:
        operands = [parse_factor()]
        while peek() == "and":
            take("and")
            operands.append(parse_factor())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def parse_factor() -> Expression:
        kind = peek()
        if kind == "not":
            take("not")
            return Not(parse_factor())
        if kind == "(":
            take("(")
            inner = parse_or()
            take(")")
            return inner
        if kind == "regex":
            return Regex(take("regex"))
        return Phrase(take("phrase"))

    tree = parse_or()
    if pos != len(tokens):
        raise InvalidInput(
            f"expression: unexpected {tokens[pos][1]!r} in {source!r}",
            zh=f"表达式“{source}”中的“{tokens[pos][1]}”多余或位置不对，请检查写法",
        )
    return tree


def phrases_of(expression: Expression) -> list[str]:
    """The phrases an expression mentions, in order, without repeats."""
    out: list[str] = []

    def walk(e: Expression) -> None:
        if isinstance(e, Phrase):
            if e.text not in out:
                out.append(e.text)
        elif isinstance(e, Not):
            walk(e.operand)
        elif isinstance(e, And | Or):
            for o in e.operands:
                walk(o)

    walk(expression)
    return out


def evaluate(
    expression: Expression,
    has_phrase: Callable[[str], bool],
    has_regex: Callable[[str], bool],
) -> bool:
    """Whether ``expression`` holds, given how to test one phrase and one regex pattern."""
    if isinstance(expression, Phrase):
        return has_phrase(expression.text)
    if isinstance(expression, Regex):
        return has_regex(expression.pattern)
    if isinstance(expression, Not):
        return not evaluate(expression.operand, has_phrase, has_regex)
    if isinstance(expression, And):
        return all(evaluate(o, has_phrase, has_regex) for o in expression.operands)
    return any(evaluate(o, has_phrase, has_regex) for o in expression.operands)


def regex_in(text: str, after: int = 0) -> Callable[[str], bool]:
    """A regex test: some match of the pattern in ``text`` ends after ``after``."""

    def has_regex(pattern: str) -> bool:
        return any(m.end() > after for m in re.finditer(pattern, text))

    return has_regex
