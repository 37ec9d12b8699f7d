"""``ETagLockSchema``: the schema descriptor of ``ETagLockMixin`` views.

It hands out ``DEFAULT_SCHEMA_CLASS``, extended by :mod:`django_etag_lock.openapi` when
that is a drf-spectacular ``AutoSchema``. The extension is looked up by name when a
schema is built, so this module never imports it (the extension imports the mixin).
"""

from __future__ import annotations

import importlib.util
from functools import cache
from typing import Any, cast

from django.utils.module_loading import import_string
from rest_framework.schemas.inspectors import DefaultSchema, ViewInspector
from rest_framework.settings import api_settings

__all__ = ["ETagLockSchema"]

_SCHEMA_CLASS_FOR = "django_etag_lock.openapi.schema_class_for"


@cache
def _spectacular_installed() -> bool:
    return importlib.util.find_spec("drf_spectacular") is not None


def _schema_class(base: type[ViewInspector]) -> type[ViewInspector]:
    if not _spectacular_installed():
        return base
    schema_class_for = import_string(_SCHEMA_CLASS_FOR)
    return cast("type[ViewInspector]", schema_class_for(base))


class ETagLockSchema(DefaultSchema):
    """``DEFAULT_SCHEMA_CLASS``, extended for drf-spectacular with If-Match, ETag, 412, 428.

    With another schema class (or none) it is exactly ``DEFAULT_SCHEMA_CLASS``. A view
    that sets ``schema`` itself should mix in ``openapi.ETagLockSchemaMixin``.
    """

    def __get__(self, instance: Any, owner: Any) -> Any:
        result = ViewInspector.__get__(self, instance, owner)
        if not isinstance(result, DefaultSchema):
            return result
        # api_settings imports the dotted path, so this is the class itself.
        default = cast("type[ViewInspector]", api_settings.DEFAULT_SCHEMA_CLASS)
        inspector = _schema_class(default)()
        inspector.view = instance
        return inspector
