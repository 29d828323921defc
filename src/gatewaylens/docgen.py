"""Generated sections of the reference docs, written once here.

Each generated block sits between ``<!-- generated:NAME -->`` and ``<!-- /generated:NAME -->``
in its file; :func:`write` (``make docs``) rewrites them and :func:`stale` (a test) lists the
files whose block no longer matches the code.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _dictionary() -> str:
    from gatewaylens import marts
    return marts.dictionary_markdown()


def _configuration() -> str:
    from gatewaylens import config
    return config.configuration_markdown()


#: file (relative to the repository) -> (block name, text producer)
BLOCKS: dict[str, tuple[str, Callable[[], str]]] = {
    "docs/data-dictionary.md": ("dictionary", _dictionary),
    "docs/configuration.md": ("config", _configuration),
}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- generated:{name} -->\n).*?(\n<!-- /generated:{name} -->)", re.S)


def render(text: str, name: str, body: str) -> str:
    pattern = _pattern(name)
    if not pattern.search(text):
        raise ValueError(f"no <!-- generated:{name} --> block")
    return pattern.sub(lambda m: m.group(1) + body.strip() + m.group(2), text, count=1)


def stale(root: Path = ROOT) -> list[str]:
    """Files whose generated block differs from what the code produces now."""
    out = []
    for rel, (name, produce) in BLOCKS.items():
        text = (root / rel).read_text()
        if render(text, name, produce()) != text:
            out.append(rel)
    return out


def write(root: Path = ROOT) -> list[str]:
    """Rewrite every generated block; return the files that changed."""
    changed = []
    for rel, (name, produce) in BLOCKS.items():
        path = root / rel
        text = path.read_text()
        new = render(text, name, produce())
        if new != text:
            path.write_text(new)
            changed.append(rel)
    return changed


if __name__ == "__main__":
    for rel in write():
        print("regenerated", rel)
