"""Shared SQL building blocks for the non-canonical formats (OpenRouter, LiteLLM, OTel, envelope).

Every format cuts the fields it needs out of a line in ONE parse: ``json_transform`` with a
nested structure whose leaves are ``JSON`` (:class:`Fields`). A leaf comes back as the raw JSON
fragment of that value (``'12'``, ``'"abc"'``, ``'[...]'``) or NULL when absent; JSON ``null``
becomes the text ``'null'``, which :meth:`Fields.frag` turns into NULL. Types are then checked
with cheap string tests on the fragment, so a string where a number belongs is rejected rather
than coerced — the same rule as the canonical format.

All SQL text here is built from constants of this package (field paths, packaged alias tables);
nothing from the input ever becomes SQL text.
"""

from __future__ import annotations

import csv
import functools
import re
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
PROVIDER_ALIASES_PATH = DATA_DIR / "provider_aliases.csv"

KIND_WORDS = {
    "str": "a string",
    "int": "an integer",
    "int32": "an integer",
    "num": "a number",
    "bool": "true or false",
    "list": "a list",
    "obj": "an object",
    "ts": "a timestamp",
}

_PART = re.compile(r"^([^\[\]]+)((?:\[\d+\])*)$")


def q(text: str) -> str:
    """A SQL string literal (for package constants only)."""
    return "'" + text.replace("'", "''") + "'"


class Fields:
    """Named JSON leaves cut out of a JSON column by one ``json_transform``.

    ``paths`` maps a field name to a dotted path (``response.usage.prompt_tokens``;
    ``choices[0]`` picks the first element of an array; a quoted segment like
    ``attributes."gen_ai.usage.input_tokens"`` is one key containing dots).
    """

    def __init__(self, paths: dict[str, str], wrapper: str | None = None, nodes: dict[str, str] | None = None):
        self.paths = paths
        self.wrapper = wrapper
        # nodes: name -> path of an object/array that other paths go through; ``has_<name>``
        # says whether the line carries it (a JSON null or a missing key count as absent).
        self.nodes = {n: "j" + "".join(f'."{k}"' for k in _split(p)) for n, p in (nodes or {}).items()}
        self.tree: dict = {}
        self.access: dict[str, str] = {}
        for name, path in paths.items():
            node = self.tree
            expr = "j"
            segments = _split(path)
            for i, seg in enumerate(segments):
                m = _PART.match(seg)
                if m is None:
                    raise ValueError(f"bad path segment {seg!r} in {path!r}")
                key, first = m.group(1), m.group(2) == "[0]"
                if m.group(2) not in ("", "[0]"):
                    raise ValueError(f"only [0] is supported in paths: {path!r}")
                expr += f'."{key}"' + ("[1]" if first else "")
                if i == len(segments) - 1:
                    if first or node.get(key, "JSON") != "JSON":
                        raise ValueError(f"conflicting path {path!r}")
                    node[key] = "JSON"
                elif first:
                    node = node.setdefault(key, [{}])[0]
                else:
                    node = node.setdefault(key, {})
                    if node == "JSON":
                        raise ValueError(f"conflicting path {path!r}")
            self.access[name] = expr
        self.wrapper = wrapper

    def struct(self) -> str:
        return _spec(self.tree)

    def cut(self, source: str, column: str = "line", keep: str = "line_no") -> str:
        """Subquery over ``source``: ``keep`` columns plus ``f_<name>`` (JSON fragments) cut out
        of ``column`` by one json_transform. With a ``wrapper`` key, a line that is just
        ``{"<wrapper>": {...}}`` is read from inside the wrapper (a cheap prefix test decides;
        only wrapped lines pay for the extra extraction)."""
        cols = ", ".join([f"{self.access[n]} AS f_{n}" for n in self.paths]
                         + [f"({e} IS NOT NULL) AS has_{n}" for n, e in self.nodes.items()])
        doc = column
        if self.wrapper is not None:
            pattern = q(f'^\\s*\\{{\\s*"{self.wrapper}"\\s*:')
            doc = (f"CASE WHEN regexp_matches({column}, {pattern}) "
                   f"THEN coalesce(json_extract({column}, {q('$.' + self.wrapper)}), {column}) ELSE {column} END")
        return (
            f"(SELECT {keep}, {cols} FROM "
            f"(SELECT {keep}, json_transform({doc}, {q(self.struct())}) AS j FROM {source}))"
        )

    # --- expressions over the f_<name> columns -------------------------------------------
    @staticmethod
    def frag(name: str) -> str:
        """Fragment text; NULL when absent or JSON null."""
        return f"nullif(CAST(f_{name} AS VARCHAR), 'null')"

    @staticmethod
    def ok(name: str, kind: str) -> str:
        """True when the field is absent/null or of the right JSON type (an integer kind takes
        any JSON number without a fractional part; NaN/Infinity pass here and fail
        :meth:`domain_arms`)."""
        f = Fields.frag(name)
        if kind == "str":
            return f"({f} IS NULL OR starts_with({f}, '\"'))"
        if kind in ("int", "int32"):
            d = f"TRY_CAST({f} AS DOUBLE)"
            return f"({f} IS NULL OR coalesce(NOT isfinite({d}) OR {d} = trunc({d}), false))"
        if kind == "num":
            return f"({f} IS NULL OR TRY_CAST({f} AS DOUBLE) IS NOT NULL)"
        if kind == "bool":
            return f"({f} IS NULL OR {f} IN ('true', 'false'))"
        if kind == "list":
            return f"({f} IS NULL OR starts_with({f}, '['))"
        if kind == "obj":
            return f"({f} IS NULL OR starts_with({f}, '{{'))"
        raise ValueError(kind)

    @staticmethod
    def value(name: str, kind: str) -> str:
        """The field's value. Integers are read exactly from their JSON text (never through a
        DOUBLE: 2^53 + 1 stays 2^53 + 1); NULL when absent, of the wrong type or out of range."""
        f = Fields.frag(name)
        if kind == "str":
            return f"json_extract_string(f_{name}, '$')"
        if kind == "int":
            return f"TRY_CAST({f} AS BIGINT)"
        if kind == "int32":
            return f"TRY_CAST({f} AS INTEGER)"
        if kind == "num":
            return f"TRY_CAST({f} AS DOUBLE)"
        if kind == "bool":
            return f"TRY_CAST({f} AS BOOLEAN)"
        if kind in ("list", "obj"):
            return f
        raise ValueError(kind)

    @staticmethod
    def domain_arms(name: str, kind: str, label: str | None = None) -> str:
        """CASE arms (after the type arm) rejecting a number that is not finite (NaN, Infinity,
        1e400) or an integer that does not fit its column exactly."""
        f, label = Fields.frag(name), label or name
        if kind in ("int", "int32"):
            d = f"TRY_CAST({f} AS DOUBLE)"
            return (f"WHEN {f} IS NOT NULL AND NOT isfinite({d}) THEN 'non-finite value: {label}'\n"
                    f"WHEN {f} IS NOT NULL AND {Fields.value(name, kind)} IS NULL THEN 'out of range: {label}'")
        if kind == "num":
            return f"WHEN {f} IS NOT NULL AND NOT isfinite(TRY_CAST({f} AS DOUBLE)) THEN 'non-finite value: {label}'"
        return ""

    @staticmethod
    def fast_ok(name: str, kind: str) -> str:
        """A cheap SQL test that IMPLIES the field passes its type arm and its domain arms (NULL
        counts as failing): a present integer must read back as exactly its own text (so it is a
        plain integer literal that fits the column: finite, no fraction, in range), a number must
        be finite. When it fails, the full arms (:meth:`ok`, :meth:`domain_arms`) give the reason;
        a row passing every field's ``fast_ok`` (nearly all rows) skips them."""
        f = Fields.frag(name)
        if kind in ("int", "int32"):
            return f"({f} IS NULL OR CAST({Fields.value(name, kind)} AS VARCHAR) = {f})"
        if kind == "num":
            return f"({f} IS NULL OR isfinite({Fields.value(name, kind)}))"
        return Fields.ok(name, kind)

    def type_arms(self, kinds: dict[str, str], labels: dict[str, str] | None = None) -> str:
        """CASE arms rejecting a present value of the wrong JSON type, then numbers outside their
        domain (non-finite, out of range)."""
        labels = labels or {}
        wrong = [f"WHEN NOT {self.ok(n, k)} THEN 'wrong type: {labels.get(n, n)} must be {KIND_WORDS[k]}'"
                 for n, k in kinds.items()]
        domain = [self.domain_arms(n, k, labels.get(n, n)) for n, k in kinds.items()]
        return "\n".join(wrong + [d for d in domain if d])


class TypedFields(Fields):
    """:class:`Fields` whose derived forms are computed ONCE per row, as columns of :meth:`cut`.

    A field's text (``ft_<name>``), its number (``fd_<name>``: DOUBLE), its integer
    (``fi_<name>``), its string (``fs_<name>``) or boolean (``fb_<name>``) appear several times in a
    format's SQL (the type arm, the domain arms, the value, the timestamp parser); written inline,
    DuckDB evaluates each occurrence again (one ``TRY_CAST`` or ``json_extract_string`` per
    occurrence and row). The expressions are those of :class:`Fields`, so the answers are the same;
    ``kinds`` (name -> kind) says which forms each field needs, and every method must be asked with
    that kind. Columns the query does not use are dropped by DuckDB's optimiser.
    """

    def __init__(self, paths: dict[str, str], kinds: dict[str, str], wrapper: str | None = None,
                 nodes: dict[str, str] | None = None):
        super().__init__(paths, wrapper, nodes)
        unknown = set(kinds) - set(paths)
        if unknown:
            raise ValueError(f"kinds for fields without a path: {sorted(unknown)}")
        self.kinds = dict(kinds)

    def cut(self, source: str, column: str = "line", keep: str = "line_no") -> str:
        texts = ", ".join(f"{Fields.frag(n)} AS ft_{n}" for n in self.paths)
        typed = []
        for n, k in self.kinds.items():
            if k in ("int", "int32", "num"):
                typed.append(f"TRY_CAST(ft_{n} AS DOUBLE) AS fd_{n}")
            if k in ("int", "int32"):
                typed.append(f"TRY_CAST(ft_{n} AS {'BIGINT' if k == 'int' else 'INTEGER'}) AS fi_{n}")
            elif k == "str":
                typed.append(f"{Fields.value(n, k)} AS fs_{n}")
            elif k == "bool":
                typed.append(f"TRY_CAST(ft_{n} AS BOOLEAN) AS fb_{n}")
        inner = f"(SELECT *, {texts} FROM {super().cut(source, column, keep)})"
        return f"(SELECT *, {', '.join(typed)} FROM {inner})" if typed else inner

    def _kind(self, name: str, kind: str) -> str:
        if self.kinds.get(name, kind) != kind:
            raise ValueError(f"{name} is declared {self.kinds[name]!r}, asked as {kind!r}")
        return kind

    def frag(self, name: str) -> str:  # type: ignore[override]
        if name not in self.paths:
            raise ValueError(name)
        return f"ft_{name}"

    def ok(self, name: str, kind: str) -> str:  # type: ignore[override]
        f, kind = self.frag(name), self._kind(name, kind)
        if kind in ("int", "int32"):
            d = f"fd_{name}"
            return f"({f} IS NULL OR coalesce(NOT isfinite({d}) OR {d} = trunc({d}), false))"
        if kind == "num":
            return f"({f} IS NULL OR fd_{name} IS NOT NULL)"
        return Fields.ok(name, kind).replace(Fields.frag(name), f)

    def value(self, name: str, kind: str) -> str:  # type: ignore[override]
        kind = self._kind(name, kind)
        if name not in self.kinds:
            return Fields.value(name, kind).replace(Fields.frag(name), self.frag(name))
        return {"str": f"fs_{name}", "int": f"fi_{name}", "int32": f"fi_{name}", "num": f"fd_{name}",
                "bool": f"fb_{name}"}.get(kind, self.frag(name))

    def domain_arms(self, name: str, kind: str, label: str | None = None) -> str:  # type: ignore[override]
        f, kind, label = self.frag(name), self._kind(name, kind), label or name
        if kind in ("int", "int32"):
            return (f"WHEN {f} IS NOT NULL AND NOT isfinite(fd_{name}) THEN 'non-finite value: {label}'\n"
                    f"WHEN {f} IS NOT NULL AND fi_{name} IS NULL THEN 'out of range: {label}'")
        if kind == "num":
            return f"WHEN {f} IS NOT NULL AND NOT isfinite(fd_{name}) THEN 'non-finite value: {label}'"
        return ""


def blank_null(expr: str) -> str:
    """SQL: ``expr`` with an empty or blank string as NULL (an empty id is no id: LiteLLM writes
    ``end_user: ""`` when there is no end user)."""
    return f"nullif(trim({expr}), '')"


def string_list_sql(frag: str) -> str:
    """SQL: VARCHAR[] of a JSON fragment holding a list of strings (NULL when absent or not a list;
    blank entries dropped; NULL when nothing is left)."""
    return (f"CASE WHEN starts_with({frag}, '[') THEN nullif(list_filter(json_extract_string({frag}, '$[*]'), "
            f"lambda t: nullif(trim(t), '') IS NOT NULL), []) END")


def any_key_sql(keys: str, names: list[str] | tuple[str, ...]) -> str:
    """SQL: true when the list ``keys`` holds any of ``names`` (package constants). A chain of
    ``list_has`` is about 3x faster than ``list_has_any`` with a constant list in DuckDB 2.0,
    which matters for detection (evaluated for every line)."""
    return "(" + " OR ".join(f"list_has({keys}, {q(n)})" for n in names) + ")"


def _split(path: str) -> list[str]:
    out, cur, quoted = [], "", False
    for ch in path:
        if ch == '"':
            quoted = not quoted
        elif ch == "." and not quoted:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def _spec(node) -> str:
    if node == "JSON":
        return '"JSON"'
    if isinstance(node, list):
        return "[" + _spec(node[0]) + "]"
    return "{" + ", ".join(f'"{k}": {_spec(v)}' for k, v in node.items()) + "}"


# --- finish reasons ----------------------------------------------------------------------
# Native finish/stop reasons of OpenAI (Chat + Responses), Anthropic, Google and OTel
# instrumentations -> the normalised vocabulary. Anything else passes through unchanged and
# ingest's common step maps it to 'other' (keeping the native value).
FINISH_MAP: dict[str, str] = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "completed": "stop",
    "eos": "stop",
    "tool_calls": "tool_calls",
    "tool_use": "tool_calls",
    "function_call": "tool_calls",
    "tool_call": "tool_calls",
    "length": "length",
    "max_tokens": "length",
    "max_output_tokens": "length",
    "model_length": "length",
    "content_filter": "content_filter",
    "refusal": "content_filter",
    "safety": "content_filter",
    "recitation": "content_filter",
    "blocklist": "content_filter",
    "prohibited_content": "content_filter",
    "error": "error",
}


def finish_sql(expr: str) -> str:
    """Normalised finish reason of a native one (unknown values pass through -> 'other')."""
    pairs = ", ".join(f"{q(k)}: {q(v)}" for k, v in FINISH_MAP.items())
    return f"coalesce(map_extract_value(MAP {{{pairs}}}, lower({expr})), {expr})"


# --- alias tables (models: gatewaylens.identity) ------------------------------------------------------------------------
def slug(text: str) -> str:
    """Provider key form: lower case, each space or underscore as '-'."""
    return text.strip().lower().replace(" ", "-").replace("_", "-")


@functools.cache
def provider_aliases() -> dict[str, str]:
    """{provider key (slug form): provider slug} from data/provider_aliases.csv."""
    with PROVIDER_ALIASES_PATH.open(newline="") as fh:
        return {slug(r["alias"]): r["provider"].strip() for r in csv.DictReader(fh) if r["alias"].strip()}


def _map_literal(d: dict[str, str]) -> str:
    return "MAP {" + ", ".join(f"{q(k)}: {q(v)}" for k, v in sorted(d.items())) + "}"


def provider_sql(expr: str) -> str:
    """SQL: the provider slug of a provider name through the alias table.

    Names are first put in slug form (lower case, spaces/underscores -> '-'), so OpenRouter's
    'Amazon Bedrock' and 'amazon-bedrock' agree; names not in the table are kept in slug form.
    """
    key = f"replace(replace(lower(trim({expr})), ' ', '-'), '_', '-')"
    return f"coalesce(map_extract_value({_map_literal(provider_aliases())}, {key}), {key})"


def epoch_or_iso_sql(frag: str) -> str:
    """TIMESTAMPTZ from a JSON fragment holding an ISO 8601 string or epoch seconds/milliseconds
    (a number; values above 1e11 are taken as milliseconds). NULL when unparseable."""
    num = f"TRY_CAST({frag} AS DOUBLE)"
    return f"""CASE
        WHEN starts_with({frag}, '"') THEN TRY_CAST(json_extract_string({frag}, '$') AS TIMESTAMPTZ)
        WHEN {num} IS NULL THEN NULL
        WHEN {num} > 1e11 THEN make_timestamptz(CAST({num} * 1000 AS BIGINT))
        ELSE make_timestamptz(CAST({num} * 1e6 AS BIGINT)) END"""


def count_in_sql(list_text: str, needle: str) -> str:
    """Occurrences of the JSON string ``needle`` in a JSON list of strings (text), no lambdas."""
    n = q(f'"{needle}"')
    return f"CAST((length({list_text}) - length(replace({list_text}, {n}, ''))) / {len(needle) + 2} AS INTEGER)"
