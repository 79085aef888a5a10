"""`--predicate` is a boolean expression over the catalog row's own columns, and nothing more.

Handing a user string to `DataFrame.filter` lets it reach anything the engine can: a subquery over
`text.`/etc/passwd`` selects rows by a file's contents, `reflect()` calls Java. So the string is parsed
with a real SQL parser (sqlglot, Spark dialect) and every node of its tree must be one of a small set of
row-local constructs: columns of the table, literals, comparisons, boolean and arithmetic operators,
CASE/CAST and pure scalar functions. The engine then analyses what is left (typos, types).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from seedvr.errors import ConfigError, first_line

# Row-local node types: operators, literals, and scalar functions whose value depends only on their
# arguments (or on the date, for CURRENT_DATE-style windows such as "added in the last week").
ALLOWED = tuple(getattr(exp, name) for name in (
    "Column", "Identifier", "Literal", "Boolean", "Null", "Paren", "Tuple", "Array",
    "And", "Or", "Not", "Xor", "EQ", "NEQ", "GT", "GTE", "LT", "LTE", "NullSafeEQ", "Is", "In", "Between",
    "Like", "ILike", "RegexpLike", "Add", "Sub", "Mul", "Div", "IntDiv", "Mod", "Neg",
    "Cast", "TryCast", "DataType", "DataTypeParam", "Var", "Case", "If", "Coalesce", "Nullif",
    "Lower", "Upper", "Length", "Substring", "Trim", "Concat", "ConcatWs", "StartsWith", "EndsWith",
    "Abs", "Round", "Floor", "Ceil", "Greatest", "Least", "Sqrt", "Pow", "Ln", "Log",
    "Year", "Month", "Day", "DayOfWeek", "DayOfYear", "WeekOfYear", "Quarter",
    "CurrentDate", "CurrentTimestamp", "DateAdd", "DateSub", "DateDiff", "DateTrunc", "TimestampTrunc",
    "TsOrDsToDate", "TsOrDsAdd", "TsOrDsDiff", "Extract", "StrToDate", "StrToTime", "ToDate", "Date", "Interval", "Unit",
) if hasattr(exp, name))

# What the user is told for the refusals they are most likely to meet.
_NAMES = {
    exp.Select: "a subquery (SELECT)", exp.Subquery: "a subquery", exp.Exists: "EXISTS (a subquery)",
    exp.Table: "a table or file source", exp.Star: "'*'", exp.Anonymous: "the function",
    exp.Placeholder: "a parameter placeholder", exp.Parameter: "a session parameter",
}


def _describe(node: exp.Expression) -> str:
    for cls, name in _NAMES.items():
        if isinstance(node, cls):
            return f"{name} {node.name!r}" if cls is exp.Anonymous else name
    if isinstance(node, exp.Func):
        return f"the function {node.sql_name()!r}"
    return f"the construct {type(node).__name__} ({node.sql(dialect='spark')[:60]!r})"


def check_predicate(predicate: str, columns: Iterable[str]) -> None:
    """Raise ConfigError naming the first construct of `predicate` that reaches outside the row."""
    if not predicate or not predicate.strip():
        raise ConfigError("--predicate is empty; pass a SQL boolean expression such as \"content_class = 'archive'\"")
    try:
        statements = sqlglot.parse(predicate, read="spark")
    except ParseError as exc:
        raise ConfigError(f"--predicate {predicate!r} is not a valid filter: it does not parse as SQL "
                          f"({first_line(exc)})") from None
    if len(statements) != 1 or statements[0] is None:
        raise ConfigError(f"--predicate must be a single expression without ';', got {predicate!r}")
    tree = statements[0]
    known = {c.lower() for c in columns}
    for node in tree.walk():
        if not isinstance(node, ALLOWED):
            raise ConfigError(
                f"--predicate {predicate!r} uses {_describe(node)}, which is not allowed: a predicate is a "
                "boolean expression over the catalog's own columns (no subqueries, tables, files or "
                "functions that reach outside the row)"
            )
        if isinstance(node, exp.Column):
            if node.table:
                raise ConfigError(f"--predicate {predicate!r}: {node.sql()!r} names a table; use bare column "
                                  f"names of the catalog ({', '.join(sorted(known))})")
            if node.name.lower() not in known:
                raise ConfigError(f"--predicate {predicate!r}: unknown column {node.name!r}{did_you_mean(node.name, known)}; "
                                  f"columns available: {', '.join(sorted(known))}")


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """` (did you mean video_id?)` for the closest known column, or nothing when none is close."""
    close = difflib.get_close_matches(name.lower(), sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""
