"""Django's own views of versioned models: editing views and function-based JSON views.

Editing views (server-rendered, with or without HTMX):

- :class:`VersionedUpdateViewMixin` / :class:`VersionedUpdateView`: the form carries the
  signed version the editor started from (:class:`~django_etag_lock.forms.
  VersionedModelFormMixin`); a save that lost to another write re-renders the page with
  the conflict (what changed, who and when where the admin log knows, the editor's typing
  kept) and the admin's two ways forward: save my values over the current version, or
  discard them and load it. Never a 500.
- :class:`VersionedDeleteViewMixin` / :class:`VersionedDeleteView`: the confirmation
  carries the version it showed; a delete of a row that changed meanwhile deletes nothing
  and shows what changed, with a confirmation of the current version.

The conflict is rendered by the template ``django_etag_lock/views/conflict.html`` (one
block, ``etag_lock_conflict``, to restyle) that your form template includes; HTMX requests
(``HX-Request: true``) get only the partial ``etag_lock_partial_template_name``.

Function-based JSON views: :func:`etag_lock_view` gives a view the DRF door's request ->
response table (ETag, 304, 428, 412, 400 problem details, the checked version compared in
the write itself).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from asgiref.sync import sync_to_async
from django import forms
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist, ValidationError
from django.db import connections, router, transaction
from django.db.models import Model, QuerySet
from django.forms.models import modelform_factory
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.generic.edit import DeleteView, UpdateView

from django_etag_lock.changes import snapshot_fields
from django_etag_lock.conditional import (
    TAGGED_METHODS,
    Preconditions,
    conflict_response,
    report_conflict,
    report_refusal,
    report_unconditional,
)
from django_etag_lock.etags import Outcome
from django_etag_lock.exceptions import ObjectDeletedError, StaleObjectError
from django_etag_lock.forms import (
    TOKEN_FIELD,
    VersionedModelForm,
    VersionedModelFormMixin,
    VersionTokenField,
)
from django_etag_lock.models import VersionedModel
from django_etag_lock.querysets import VERSION_FIELD
from django_etag_lock.signals import Source, attributed_to, reported_by
from django_etag_lock.tokens import VersionToken

if TYPE_CHECKING:
    from django_etag_lock.admin.conflicts import Conflict, ConflictReport

    _EditBase = UpdateView[Any, Any]
    _DeleteBase = DeleteView[Any, Any]
else:
    _EditBase = object
    _DeleteBase = object

__all__ = [
    "VersionedDeleteForm",
    "VersionedDeleteView",
    "VersionedDeleteViewMixin",
    "VersionedUpdateView",
    "VersionedUpdateViewMixin",
    "etag_lock_view",
]

_F = TypeVar("_F", bound=Callable[..., Any])
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


class _ReportOptions:
    """What the admin's conflict report reads from its ModelAdmin, for a plain view."""

    def __init__(self, model: type[Model], empty_value_display: str) -> None:
        self.model = model
        self.opts = model._meta
        self._empty = empty_value_display

    def get_empty_value_display(self) -> str:
        return self._empty


class _VersionedViewBase:
    """What the editing mixins share: the model check, HTMX, the conflict report."""

    etag_lock_partial_template_name: ClassVar[str] = ""
    etag_lock_empty_value_display: ClassVar[str] = "-"
    request: HttpRequest

    def etag_lock_model(self) -> type[Model]:
        model: Any = getattr(self, "model", None)
        if model is None:
            queryset = getattr(self, "queryset", None)
            model = getattr(queryset, "model", None)
        if model is None:
            model = self.get_queryset().model  # type: ignore[attr-defined]
        if not (isinstance(model, type) and issubclass(model, VersionedModel)):
            raise ImproperlyConfigured(
                f"{type(self).__module__}.{type(self).__qualname__} is a versioned editing "
                f"view, but its model {getattr(model, '__name__', model)!r} is not a "
                "django_etag_lock.models.VersionedModel. Make the model subclass "
                "VersionedModel, or use Django's plain view."
            )
        return model

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)  # type: ignore[misc]
        if not apps.is_installed("django.contrib.admin"):
            # Checked on every request, not only when a conflict happens: a missing app
            # must show up on the first GET, never as a 500 on someone's lost save.
            raise ImproperlyConfigured(
                f"{type(self).__module__}.{type(self).__qualname__} shows conflicts with "
                "the admin's conflict report (django_etag_lock.admin.conflicts), which "
                "reads the admin log: add 'django.contrib.admin' and "
                "'django.contrib.contenttypes' to INSTALLED_APPS."
            )

    def get_conflict_report(self) -> ConflictReport:
        """The admin's conflict report, which builds what the conflict template shows."""
        from django_etag_lock.admin.conflicts import ConflictReport

        options = _ReportOptions(self.etag_lock_model(), self.etag_lock_empty_value_display)
        return ConflictReport(cast(Any, options), self.request)

    def get_template_names(self) -> list[str]:
        if _is_htmx(self.request) and self.etag_lock_partial_template_name:
            return [self.etag_lock_partial_template_name]
        return super().get_template_names()  # type: ignore[misc, no-any-return]

    def etag_lock_reload(self, pk: Any) -> Model | None:
        """The row as it is now (``None`` once deleted); a locking read inside a transaction."""
        queryset = self.get_queryset().filter(pk=pk)  # type: ignore[attr-defined]
        connection = connections[queryset.db]
        if connection.in_atomic_block and connection.features.has_select_for_update:
            # Inside ATOMIC_REQUESTS on MariaDB a plain read would return the snapshot.
            queryset = queryset.select_for_update()
        return cast("Model | None", queryset.first())


# -- UpdateView -------------------------------------------------------------------------


class VersionedUpdateViewMixin(_VersionedViewBase, _EditBase):
    """``UpdateView`` mixin for a ``VersionedModel``: a stale save shows the conflict.

    Put it first: ``class CustomerEdit(VersionedUpdateViewMixin, UpdateView)``. The form
    class must be a ``VersionedModelFormMixin`` form; with ``fields`` only, one is made.
    The context of a conflicted page has ``etag_lock_conflict`` (see the template
    ``django_etag_lock/views/conflict.html``); the form in it keeps the editor's values
    wherever the editor changed something and shows the saved values elsewhere.
    """

    etag_lock_partial_template_name = "django_etag_lock/views/update_form_partial.html"

    def get_form_class(self) -> type[forms.ModelForm[Any]]:
        model = self.etag_lock_model()
        if self.form_class is not None:
            if not issubclass(self.form_class, VersionedModelFormMixin):
                raise ImproperlyConfigured(
                    f"{type(self).__qualname__}.form_class {self.form_class.__qualname__} "
                    "does not carry the version the editor started from: make it subclass "
                    "django_etag_lock.forms.VersionedModelForm (or put "
                    "VersionedModelFormMixin first in its bases)."
                )
            return self.form_class
        if self.fields is None:
            raise ImproperlyConfigured(
                f"{type(self).__qualname__} needs 'fields' or 'form_class', like Django's "
                "UpdateView."
            )
        return modelform_factory(model, form=VersionedModelForm, fields=self.fields)

    def form_valid(self, form: forms.ModelForm[Any]) -> HttpResponse:
        using = router.db_for_write(self.etag_lock_model(), instance=self.object)
        try:
            # Everything the save writes (m2m, signal receivers) goes with a lost race. The
            # ORM reports the conflict, as the admin's: as this view's, with the request.
            with attributed_to(Source.VIEWS, self.request), transaction.atomic(using=using):
                return super().form_valid(form)
        except StaleObjectError as exc:
            return self.form_conflict(form, exc)

    def form_conflict(self, form: forms.ModelForm[Any], exc: StaleObjectError) -> HttpResponse:
        """Re-render after a lost save: the conflict, and a form to resolve it."""
        assert isinstance(form, VersionedModelFormMixin)
        report = self.get_conflict_report()
        current = self.etag_lock_reload(self.object.pk)
        token = form.etag_lock_token
        if current is None or token is None:
            return self.etag_lock_deleted(form, exc, report)
        changes = form.etag_lock_changes(current)
        self.object = current
        # The view's own form kwargs (a subclass may add some), unbound, over the row now.
        kwargs = {k: v for k, v in self.get_form_kwargs().items() if k not in ("data", "files")}
        kwargs["initial"] = {
            **kwargs.get("initial", {}),
            **{c.name: c.mine for c in changes if c.keeps_mine},
        }
        resolve = self.get_form_class()(**kwargs)
        assert isinstance(resolve, VersionedModelFormMixin)
        # A plain "Save" still names the version the editor started from, so it conflicts
        # again; only the explicit overwrite submits the current one.
        resolve.fields[TOKEN_FIELD].initial = token.sign()
        conflict = report.for_change_form(
            current,
            error=exc,
            token=token,
            changes=changes,
            overwrite_token=resolve.etag_lock_snapshot(current).sign(),
        )
        conflict = dataclasses.replace(conflict, overwrite_key=resolve.etag_lock_overwrite_key)
        return self.render_to_response(
            self.get_context_data(form=resolve, etag_lock_conflict=conflict)
        )

    def etag_lock_deleted(
        self, form: forms.ModelForm[Any], exc: StaleObjectError, report: ConflictReport
    ) -> HttpResponse:
        """The row was deleted meanwhile: nothing can be saved over it; say so."""
        from django_etag_lock.admin.conflicts import Conflict

        headline = _(
            "Nothing was saved: the %(name)s “%(pk)s” was deleted by someone else after you "
            "opened it."
        ) % {"name": self.etag_lock_model()._meta.verbose_name, "pk": exc.pk}
        conflict: Conflict = Conflict(headline=str(headline), rows=[], show_mine=False)
        return self.render_to_response(
            self.get_context_data(form=form, etag_lock_conflict=conflict, etag_lock_deleted=True),
            status=410,
        )


class VersionedUpdateView(VersionedUpdateViewMixin, UpdateView):  # type: ignore[type-arg]
    """``UpdateView`` whose saves never silently overwrite a newer version."""


# -- DeleteView -------------------------------------------------------------------------


class VersionedDeleteForm(forms.Form):
    """The delete confirmation's form: the signed version it showed, nothing else."""

    error_messages_etag_lock: ClassVar[dict[str, Any]] = {
        "missing": _(
            "This confirmation does not say which version of the %(model)s it showed, so "
            "nothing was deleted. Reload the page and confirm again."
        ),
    }

    def __init__(self, *args: Any, instance: Model, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance = instance
        self.fields[TOKEN_FIELD] = VersionTokenField()
        self.etag_lock_token: VersionToken | None = None
        if not self.is_bound:
            self.fields[TOKEN_FIELD].initial = self.etag_lock_snapshot(instance).sign()
        else:
            self.etag_lock_token = VersionToken.load(
                self.data.get(self.add_prefix(TOKEN_FIELD)), type(instance), instance.pk
            )

    def etag_lock_snapshot(self, instance: Model) -> VersionToken:
        """A token for ``instance`` as it is now, over its editable fields."""
        names = [f.name for f in instance._meta.concrete_fields if f.editable]
        return VersionToken.for_instance(instance, snapshot_fields(type(instance), names))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.etag_lock_token is None:
            raise ValidationError(
                self.error_messages_etag_lock["missing"],
                code="etag_lock_missing_version",
                params={"model": self.instance._meta.verbose_name},
            )
        return cleaned


class VersionedDeleteViewMixin(_VersionedViewBase, _DeleteBase):
    """``DeleteView`` mixin for a ``VersionedModel``: deletes only the version it showed.

    A row that changed since the confirmation was shown is not deleted: the page comes
    back with what changed and a confirmation of the current version (delete it anyway)
    beside the way back.
    """

    form_class = VersionedDeleteForm
    etag_lock_partial_template_name = "django_etag_lock/views/delete_form_partial.html"

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["instance"] = self.object
        return kwargs

    def form_valid(self, form: forms.Form) -> HttpResponse:
        assert isinstance(form, VersionedDeleteForm)
        assert form.etag_lock_token is not None
        setattr(self.object, VERSION_FIELD, form.etag_lock_token.version)
        try:
            with attributed_to(Source.VIEWS, self.request):
                return super().form_valid(form)
        except StaleObjectError as exc:
            return self.delete_conflict(form, exc)

    def delete_conflict(self, form: VersionedDeleteForm, exc: StaleObjectError) -> HttpResponse:
        """Re-render after a lost delete: what changed, and a confirmation of now."""
        token = form.etag_lock_token
        assert token is not None
        current = None if isinstance(exc, ObjectDeletedError) else self.etag_lock_reload(exc.pk)
        if current is None:
            from django_etag_lock.admin.conflicts import Conflict

            headline = _("The %(name)s “%(pk)s” was already deleted by someone else.") % {
                "name": self.etag_lock_model()._meta.verbose_name,
                "pk": exc.pk,
            }
            conflict = Conflict(headline=str(headline), rows=[], show_mine=False)
            return self.render_to_response(
                self.get_context_data(etag_lock_conflict=conflict, etag_lock_deleted=True),
                status=410,
            )
        self.object = current
        conflict = self.get_conflict_report().for_delete(current, token)
        kwargs = {k: v for k, v in self.get_form_kwargs().items() if k not in ("data", "files")}
        confirm = self.get_form_class()(**kwargs)
        return self.render_to_response(
            self.get_context_data(form=confirm, etag_lock_conflict=conflict)
        )


class VersionedDeleteView(VersionedDeleteViewMixin, DeleteView):  # type: ignore[type-arg]
    """``DeleteView`` that deletes only the version its confirmation showed."""


# -- function-based JSON views ----------------------------------------------------------


def etag_lock_view(
    source: type[Model] | QuerySet[Any] | Callable[[HttpRequest], QuerySet[Any]],
    *,
    model: type[Model] | None = None,
    lookup_field: str = "pk",
    url_kwarg: str | None = None,
    param: str | None = None,
    last_modified_field: str | None = None,
    require_if_match: bool | None = None,
    allow_star: bool | None = None,
    atomic_writes: bool | None = None,
) -> Callable[[_F], _F]:
    """Conditional requests for a function view of one row of a ``VersionedModel``.

    The decorator loads the row named by the URL keyword ``url_kwarg`` (default:
    ``lookup_field``; a miss is a JSON 404, ``{"detail": ...}``), evaluates the request's
    preconditions on it (304, 400, 412, 428 as RFC 9457 problems, like the DRF door) and
    passes the checked
    instance as the keyword ``param`` (default: the model name). Write through it
    (``customer.save()``, ``customer.delete()``) or with
    ``customer.version = Customer.objects.update_if_version(customer.pk, customer.version,
    ...)``: the write compares the version the request matched, and a race lost after the
    check is a 412 with everything the view wrote rolled back (sync views). A 200/201 is
    tagged with the row's ETag after the write.
    """
    if isinstance(source, type) and issubclass(source, Model):
        found_model: type[Model] = source
        get_queryset: Callable[[HttpRequest], QuerySet[Any]] = lambda request: (  # noqa: E731
            source._default_manager.all()
        )
    elif isinstance(source, QuerySet):
        found_model = source.model
        get_queryset = lambda request: source.all()  # noqa: E731
    elif callable(source) and model is not None:
        found_model = model
        get_queryset = cast("Callable[[HttpRequest], QuerySet[Any]]", source)
    else:
        raise TypeError(
            "etag_lock_view() takes a VersionedModel, a QuerySet of one, or a callable "
            f"(request) -> QuerySet together with model=, not {source!r}."
        )
    if not issubclass(found_model, VersionedModel):
        raise ImproperlyConfigured(
            f"etag_lock_view() got {found_model._meta.label}, which is not a "
            "django_etag_lock.models.VersionedModel, so it has no version to derive ETags "
            "from or to check writes against. Make the model subclass VersionedModel."
        )
    kwarg = url_kwarg or lookup_field
    name = param or found_model._meta.model_name or "instance"

    def decorate(view: _F) -> _F:
        preconditions = Preconditions(
            owner=f"{view.__module__}.{view.__qualname__}",
            require_if_match=require_if_match,
            allow_star=allow_star,
            last_modified_field=last_modified_field,
            atomic_writes=atomic_writes,
        )

        def check(request: HttpRequest, kwargs: dict[str, Any]) -> tuple[Model | None, Any]:
            if kwarg not in kwargs:
                raise ImproperlyConfigured(
                    f"{preconditions.owner} is decorated with etag_lock_view() but its URL "
                    f"pattern passes no {kwarg!r}; name it in the path (<int:{kwarg}>) or "
                    "pass url_kwarg=."
                )
            try:
                instance = get_queryset(request).get(**{lookup_field: kwargs[kwarg]})
            except (ObjectDoesNotExist, ValueError, TypeError, ValidationError):
                # A JSON view answers its 404 in JSON too (DRF's body), not Django's page.
                detail = f"No {found_model._meta.object_name} matches the given query."
                return None, JsonResponse({"detail": detail}, status=404)
            decision = preconditions.evaluate(request, instance)
            if decision.outcome is Outcome.PROCEED:
                report_unconditional(Source.VIEWS, request, instance)
                return instance, None
            report_refusal(Source.VIEWS, request, decision, instance)
            return instance, preconditions.refusal(request, decision, instance)

        def conflict(request: HttpRequest, instance: Model, exc: StaleObjectError) -> HttpResponse:
            report_conflict(Source.VIEWS, request, exc)
            current = None
            if exc.current_version is not None and exc.model is type(instance):
                current = get_queryset(request).filter(pk=exc.pk).first()
            headers = None if current is None else preconditions.validator_headers(current)
            return conflict_response(request, exc, current_headers=headers)

        def tag(
            request: HttpRequest, instance: Model, version: Any, response: HttpResponseBase
        ) -> HttpResponseBase:
            moved = getattr(instance, VERSION_FIELD) != version
            if (
                response.status_code in (200, 201)
                and request.method in TAGGED_METHODS
                and (request.method in _SAFE or moved)
            ):
                for header, value in preconditions.validator_headers(instance).items():
                    if header not in response:
                        response[header] = value
            return response

        def guard(request: HttpRequest) -> Any:
            if request.method in _SAFE or not preconditions.writes_atomically:
                return nullcontext()
            return transaction.atomic(using=router.db_for_write(found_model))

        wrapper: Any
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                instance, refusal = await sync_to_async(check)(request, kwargs)
                if refusal is not None or instance is None:
                    return refusal
                version = getattr(instance, VERSION_FIELD)
                try:
                    # The door answers a lost race, so it reports it (signals.write_refused).
                    with reported_by(Source.VIEWS):
                        response = await view(request, *args, **{**kwargs, name: instance})
                except StaleObjectError as exc:
                    return await sync_to_async(conflict)(request, instance, exc)
                return tag(request, instance, version, response)

            wrapper = async_wrapper
        else:

            @functools.wraps(view)
            def sync_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                instance, refusal = check(request, kwargs)
                if refusal is not None or instance is None:
                    return refusal
                version = getattr(instance, VERSION_FIELD)
                try:
                    with reported_by(Source.VIEWS), guard(request):
                        response = view(request, *args, **{**kwargs, name: instance})
                except StaleObjectError as exc:
                    return conflict(request, instance, exc)
                return tag(request, instance, version, response)

            wrapper = sync_wrapper
        return cast("_F", wrapper)

    return decorate
