"""The generated blocks of docs/ match the code (regenerate with `make docs`)."""
from gatewaylens import docgen


def test_generated_doc_blocks_are_current() -> None:
    assert docgen.stale() == [], "run `make docs`"


def test_render_replaces_only_the_block() -> None:
    text = "intro\n<!-- generated:x -->\nold\n<!-- /generated:x -->\noutro\n"
    assert docgen.render(text, "x", "new\n") == "intro\n<!-- generated:x -->\nnew\n<!-- /generated:x -->\noutro\n"
