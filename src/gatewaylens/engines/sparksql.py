"""The marts' DuckDB SQL, translated to Spark SQL through sqlglot (pinned) and a project dialect.

Every mart keeps ONE definition, written for DuckDB (``sql/<name>.sql``). For the Spark engine,
:func:`translate` parses it with sqlglot's DuckDB reader, qualifies it against the schema of the
tables it reads (sqlglot's optimizer: columns bound to their tables, ``*`` / ``* EXCLUDE`` expanded,
references to a SELECT's own aliases inlined as DuckDB resolves them), applies the fixes below, and
writes it with :class:`GatewaySpark`, a subclass of sqlglot's Spark dialect. Plain sqlglot output
is not trusted: ``tests/test_spark_engine.py`` builds every mart with both engines and compares
every row (integers exact, floats within 1e-9).

The fixes (what sqlglot's DuckDB -> Spark translation gets wrong or leaves to the engine, and why):

* ``getvariable('x')`` -> the named parameter marker ``:x``; the values travel as Spark's
  ``args`` (typed literals), never spliced into the SQL text. sqlglot keeps ``GETVARIABLE(...)``,
  which Spark does not have.
* DuckDB macros (``sql/macros.sql``, e.g. ``gl_wilson_low(x, n)``) are inlined: each call is
  replaced by the macro's body with its parameters substituted (parenthesised). Spark has no
  ``CREATE MACRO`` and sqlglot passes the call through unchanged.
* ``x / y`` -> ``CAST(x AS DOUBLE) / CAST(y AS DOUBLE)``. DuckDB's ``/`` always returns DOUBLE
  (integers and DECIMALs alike); Spark divides DECIMALs as DECIMAL, rounding the quotient to the
  precision rules of decimal arithmetic (e.g. ``sum(DECIMAL(38,12)) / sum(...)`` keeps 6 digits),
  which breaks the 1e-9 equality. ``//`` (integer division) is left alone (Spark ``DIV``).
  Division by zero: DuckDB 2 returns ±inf/NaN, Spark (ANSI mode, its default) raises
  ``DIVIDE_BY_ZERO``. The marts guard every division that can see a zero with ``nullif(y, 0)``,
  so both give NULL; an unguarded zero fails the Spark run loudly instead of differing silently.
* ``quantile_cont(x, q)`` / ``percentile_cont`` / ``median`` -> ``percentile(x, q)``: sqlglot writes
  ``PERCENTILE_CONT(x, q)``, which Spark only accepts as ``... WITHIN GROUP (ORDER BY x)`` and
  which cannot carry a FILTER there; ``percentile`` is Spark's exact linear-interpolation
  quantile, DuckDB's ``quantile_cont``. ``FILTER (WHERE ...)`` clauses are kept (Spark has them).
* ``first(x ORDER BY k1 DESC, k2)`` (DuckDB's ordered aggregate) -> the first element of
  ``array_sort(collect_list(struct(k1, k2, x)), <comparator>)``: sqlglot keeps the ORDER BY inside
  ``FIRST(...)``, which Spark rejects, and Spark's ``first`` is order-nondeterministic. The
  comparator implements each key's direction and NULLS FIRST/LAST (DuckDB's default: NULLS LAST).
* ``GROUP BY ALL`` -> the explicit list of the SELECT's non-aggregate expressions. Spark 3.4+ has
  GROUP BY ALL, but decides per expression whether it is an aggregate *after* resolving lateral
  aliases differently from DuckDB; listing the keys (after the aliases were inlined) is exact.
* DuckDB binds a name in a SELECT first to a column of its FROM, then to an earlier alias of the
  same SELECT (``coalesce(provider, '(unknown)') AS provider`` keeps ``provider`` = the column;
  ``tool_call_requests / nullif(successful_requests, 0)`` reads the aliases). sqlglot's qualifier
  resolves this given the schema; the result no longer depends on Spark's lateral-alias rules.
* Dates and times: the session runs in UTC (``spark.sql.session.timeZone``) as DuckDB does
  (``SET TimeZone = 'UTC'``), so ``date_trunc('hour', ts)`` / ``hour(ts)`` agree;
  ``date - integer`` is Spark's ``date_sub`` as in DuckDB.
* Top-level ``ORDER BY`` is dropped: the writer does not keep row order and sorting is a shuffle.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.dialects.spark import Spark
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

# The translation was checked (equality test) against this sqlglot only; pyproject pins it.
SQLGLOT_VERSION = "30.30.0"


class GatewayDuckDB(DuckDB):
    """The reader: sqlglot's DuckDB dialect (our SQL files are DuckDB SQL)."""


class GatewaySpark(Spark):
    """The writer: sqlglot's Spark dialect with the project's generation fixes."""

    class Generator(Spark.Generator):
        TRANSFORMS = {
            **Spark.Generator.TRANSFORMS,
            # Spark's exact, interpolating quantile (= DuckDB's quantile_cont); FILTER stays around it.
            exp.PercentileCont: lambda self, e: self.func("PERCENTILE", e.this, e.expression),
            exp.Quantile: lambda self, e: self.func("PERCENTILE", e.this, e.args.get("quantile")),
            exp.Median: lambda self, e: self.func("PERCENTILE", e.this, exp.Literal.number(0.5)),
        }


@dataclass(frozen=True)
class Macro:
    name: str
    params: tuple[str, ...]
    body: exp.Expr


@dataclass
class Translation:
    """A translated query: Spark SQL text, the named parameters it expects, its output columns."""

    sql: str
    parameters: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)

    def args(self, values: Mapping[str, object]) -> dict[str, object]:
        missing = [p for p in self.parameters if p not in values]
        if missing:
            raise KeyError(f"no value bound for parameter(s) {missing}")
        return {p: values[p] for p in self.parameters}


def parse_macros(text: str) -> dict[str, Macro]:
    """``CREATE [OR REPLACE] [TEMP] MACRO name(a, b) AS expr;`` statements -> {name: Macro}."""
    out: dict[str, Macro] = {}
    for stmt in sqlglot.parse(text, read=GatewayDuckDB):
        if stmt is None:
            continue
        if not (isinstance(stmt, exp.Create) and str(stmt.args.get("kind", "")).upper() == "MACRO"):
            raise ValueError(f"not a scalar macro definition: {stmt.sql('duckdb')[:80]}")
        udf = stmt.this
        name = udf.this.name.lower()
        params = tuple(p.name for p in udf.expressions)
        out[name] = Macro(name, params, stmt.expression)
    return out


def inline_macros(tree: exp.Expr, macros: Mapping[str, Macro]) -> exp.Expr:
    """Replace every call of a macro by its body, parameters substituted (parenthesised)."""
    if not macros:
        return tree

    def substitute(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Anonymous):
            return node
        macro = macros.get(str(node.this).lower())
        if macro is None:
            return node
        if len(node.expressions) != len(macro.params):
            raise ValueError(f"macro {macro.name} takes {len(macro.params)} arguments, got {len(node.expressions)}")
        values = dict(zip(macro.params, node.expressions))

        def bind(inner: exp.Expr) -> exp.Expr:
            if isinstance(inner, exp.Column) and not inner.table and inner.name in values:
                return exp.Paren(this=values[inner.name].copy())
            return inner

        return exp.Paren(this=inline_macros(macro.body.copy().transform(bind), macros))

    return tree.transform(substitute)


def _variables_to_parameters(tree: exp.Expr, names: list[str]) -> exp.Expr:
    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, (exp.Anonymous, exp.Func)) and _func_name(node) == "getvariable":
            arg = node.expressions[0] if isinstance(node, exp.Anonymous) else node.this
            if not (isinstance(arg, exp.Literal) and arg.is_string):
                raise ValueError("getvariable() takes a string literal")
            name = arg.this
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
                raise ValueError(f"bad variable name {name!r}")
            if name not in names:
                names.append(name)
            return exp.Placeholder(this=name)
        return node

    return tree.transform(swap)


def _func_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    return node.sql_name().lower() if hasattr(node, "sql_name") else ""


def _double(node: exp.Expr) -> exp.Expr:
    return exp.Cast(this=node, to=exp.DataType.build("DOUBLE"))


def _divisions_as_double(tree: exp.Expr) -> exp.Expr:
    for div in list(tree.find_all(exp.Div)):  # in place: nested divisions are all reached
        div.set("this", _double(div.this))
        div.set("expression", _double(div.expression))
    return tree


def _is_aggregate(node: exp.Expr) -> bool:
    for sub in node.walk():
        if isinstance(sub, exp.Window):
            return True  # a window is not a grouping key (and contains an aggregate anyway)
        if isinstance(sub, exp.AggFunc):
            return True
    return False


def _expand_group_by_all(tree: exp.Expr) -> exp.Expr:
    for select in tree.find_all(exp.Select):
        group = select.args.get("group")
        if not group or not group.args.get("all"):
            continue
        keys = [
            s.unalias().copy() for s in select.selects
            if not _is_aggregate(s) and not isinstance(s.unalias(), (exp.Literal, exp.Null, exp.Boolean))
        ]
        select.set("group", exp.Group(expressions=keys) if keys else None)
    return tree


def _ordered_first(tree: exp.Expr) -> exp.Expr:
    def fix(node: exp.Expr) -> exp.Expr:
        if not (isinstance(node, exp.First) and isinstance(node.this, exp.Order)):
            return node
        order: exp.Order = node.this
        value = order.this
        keys: list[exp.Ordered] = list(order.expressions)
        fields = [exp.PropertyEQ(this=exp.to_identifier(f"k{i}"), expression=k.this.copy()) for i, k in enumerate(keys)]
        fields.append(exp.PropertyEQ(this=exp.to_identifier("v"), expression=value.copy()))
        cases = []
        for i, k in enumerate(keys):
            lk, rk = f"gl_l.k{i}", f"gl_r.k{i}"
            # DuckDB's default is NULLS LAST for both directions unless NULLS FIRST was written.
            nulls_first = bool(k.args.get("nulls_first"))
            before, after = ("-1", "1") if nulls_first else ("1", "-1")
            lt, gt = ("1", "-1") if k.args.get("desc") else ("-1", "1")
            cases.append(f"WHEN {lk} IS NULL AND {rk} IS NOT NULL THEN {before} "
                         f"WHEN {lk} IS NOT NULL AND {rk} IS NULL THEN {after} "
                         f"WHEN {lk} < {rk} THEN {lt} WHEN {lk} > {rk} THEN {gt}")
        comparator = exp.Lambda(
            this=sqlglot.parse_one(f"CASE {' '.join(cases)} ELSE 0 END", read="spark"),
            expressions=[exp.to_identifier("gl_l"), exp.to_identifier("gl_r")],
        )
        collected = exp.Anonymous(this="COLLECT_LIST", expressions=[exp.Struct(expressions=fields)])
        ordered = exp.Anonymous(this="ARRAY_SORT", expressions=[collected, comparator])
        first = exp.Anonymous(this="ELEMENT_AT", expressions=[ordered, exp.Literal.number(1)])
        return exp.Dot(this=first, expression=exp.to_identifier("v"))

    return tree.transform(fix)


def _drop_outer_order(tree: exp.Expr) -> exp.Expr:
    if isinstance(tree, exp.Query) and tree.args.get("order"):
        tree.set("order", None)
    return tree


def translate(
    sql: str,
    schema: Mapping[str, Mapping[str, str]] | MappingSchema,
    macros: Mapping[str, Macro] | None = None,
) -> Translation:
    """Translate one DuckDB SELECT (CTEs allowed) to Spark SQL.

    ``schema`` maps every table the query reads to its {column: type} (DuckDB type names, or a
    sqlglot ``MappingSchema`` in another dialect); sqlglot needs the columns to qualify names and
    expand stars."""
    tree = sqlglot.parse_one(sql, read=GatewayDuckDB)
    if not isinstance(tree, exp.Query):
        raise ValueError("expected a SELECT")
    tree = inline_macros(tree, macros or {})
    if not isinstance(schema, MappingSchema):
        schema = MappingSchema({k: dict(v) for k, v in schema.items()}, dialect=GatewayDuckDB)
    tree = qualify(tree, schema=schema, dialect=GatewayDuckDB,
                   quote_identifiers=False, validate_qualify_columns=True)
    columns = [s.alias_or_name for s in tree.selects]
    parameters: list[str] = []
    tree = _variables_to_parameters(tree, parameters)
    tree = _expand_group_by_all(tree)
    tree = _ordered_first(tree)
    tree = _divisions_as_double(tree)
    tree = _drop_outer_order(tree)
    return Translation(tree.sql(dialect=GatewaySpark, pretty=True, comments=False), parameters, columns)
