"""Serializers whose fields are built once per process, not once per object (output) or per request (input).

DRF builds a serializer's fields on first use of ``.fields`` *per instance*:
``ModelSerializer`` introspects the model and deep-copies every declared
field each time. On a small read such as ``GET /api/v1/me/`` that was more
than half of the view's own time (issue 15's profile). ``FieldsOnce`` keeps
the field list an ordinary DRF declaration (``Meta.fields``, declared fields,
``get_<name>`` methods: drf-spectacular reads it as before) and only changes
how an object is turned into a dict:

- the fields are bound once per serializer class, on a throwaway instance,
  and reused for every object (they hold no per-object state);
- a ``SerializerMethodField`` calls the method on the *current* serializer,
  so ``self.context`` (the request) is this call's;
- everything else is exactly DRF's ``Serializer.to_representation``:
  ``field.get_attribute`` then ``field.to_representation`` (so times follow
  the active time zone, decimals keep their places), ``None`` stays ``None``,
  and a ``SkipField`` leaves the key out.

A nested serializer field keeps the context of that first throwaway instance
(no request): give nested shapes their own ``FieldsOnce`` serializer called
from a method field when they need the request.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject

_PLANS: dict[type, list[tuple[str, serializers.Field, str | None]]] = {}


def _plan(cls: type[serializers.Serializer]) -> list[tuple[str, serializers.Field, str | None]]:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = []
        for name, field in cls().fields.items():
            if field.write_only:
                continue
            method = field.method_name if isinstance(field, serializers.SerializerMethodField) else None
            plan.append((name, field, method))
        _PLANS[cls] = plan  # a race only builds the same list twice
    return plan


class FieldsOnce(serializers.Serializer):
    """Mix in first: ``class UserSerializer(FieldsOnce, serializers.ModelSerializer)``."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for name, field, method in _plan(type(self)):
            if method is not None:
                data[name] = getattr(self, method)(instance)
                continue
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            check = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            data[name] = None if check is None else field.to_representation(attribute)
        return data


_INPUTS: dict[type, serializers.Serializer] = {}


def input_validate(cls: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """``cls(data=data)``'s ``validated_data``; raises what its ``is_valid(raise_exception=True)`` raises.

    The input-side twin of ``FieldsOnce``: ``cls(data=…)`` deep-copies every
    declared field on each request (on ``POST /api/v1/wallet/charges/``, the
    hottest write, that was most of its validation's CPU). One instance per
    class runs DRF's own ``run_validation``, which keeps no per-call state on
    the serializer or its fields: the same checks give the same values. A
    refusal is answered by a fresh serializer's ``is_valid``, so its error body
    is DRF's. For plain input serializers without context (no ``validate_<field>``
    or ``validate`` that reads the request).
    """
    serializer = _INPUTS.get(cls)
    if serializer is None:
        serializer = _INPUTS[cls] = cls()  # a race only builds the same instance twice
        serializer.fields  # noqa: B018 - bound now, once, not on the first concurrent requests
    try:
        return serializer.run_validation(data)
    except serializers.ValidationError:
        # Refused: DRF's own path again, so the error body is exactly is_valid()'s (it
        # rewrites some, e.g. a JSON ``null`` body). Only a refusal pays for it.
        fresh = cls(data=data)
        fresh.is_valid(raise_exception=True)
        return fresh.validated_data  # pragma: no cover - run_validation refused the same data
