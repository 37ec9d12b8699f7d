"""Griffe extension: render the Sphinx roles used in the docstrings as mkdocstrings links.

The package's docstrings use ``:class:`StaleObjectError``` and friends (readable in
``help()`` and editors). mkdocstrings reads Markdown, so each role becomes an autorefs
cross-reference when its target is found, and inline code otherwise.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|meth|func|data|attr|exc|mod):`(~?)([\w.]+)`")


def _documented(member: griffe.Object | griffe.Alias) -> bool:
    try:
        return member.docstring is not None
    except griffe.AliasResolutionError:
        return True


def _resolve(obj: griffe.Object, name: str) -> str | None:
    """The documented path ``name`` refers to, seen from ``obj``, if it exists."""
    if any(part.startswith("_") for part in name.split(".")):
        return None  # private: not rendered, so not a link target
    first, _, rest = name.partition(".")
    scope: griffe.Object | None = obj
    while scope is not None:
        member = scope.members.get(first) if hasattr(scope, "members") else None
        # Members without a docstring are not rendered, so they can't be link targets
        # (an enum's STAR member, say, when the module-level STAR is documented).
        if member is not None and (rest or _documented(member)):
            base = member.target_path if member.is_alias else member.path
            return f"{base}.{rest}" if rest else base
        scope = scope.parent
    if name.startswith("django_etag_lock."):
        return name
    return None


class SphinxRoles(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if obj.is_alias or obj.docstring is None:
            return
        docstring = obj.docstring

        def link(match: re.Match[str]) -> str:
            short, name = match.group(1), match.group(2)
            label = name.rsplit(".", 1)[-1] if short else name
            if match.group(0).startswith((":meth:", ":func:")):
                label += "()"
            target = _resolve(obj, name)
            return f"[`{label}`][{target}]" if target else f"`{label}`"

        docstring.value = _ROLE.sub(link, docstring.value)
