"""Model families and their true identities (see `registry`)."""

from distillscope.identity.registry import (
    DEFAULT_REFERENCE_FAMILIES,
    Family,
    FamilyOverride,
    IdentityRegistry,
    default_registry,
    family_for_target,
    get_family,
    normalise_model_name,
    resolve_family,
)

__all__ = [
    "DEFAULT_REFERENCE_FAMILIES",
    "Family",
    "FamilyOverride",
    "IdentityRegistry",
    "default_registry",
    "family_for_target",
    "get_family",
    "normalise_model_name",
    "resolve_family",
]
