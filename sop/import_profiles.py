"""Import profiles: an admin's saved way to read one source's extracts of one entity.

A profile states `ReadOptions` (encoding, separator, formats, header row, column mapping,
constants, unit factors) once, so that every SAP or Odoo file of its kind is read the same
way. `import_reading` decides how one file is read: the profile named, the options stated
by hand, or the profile whose file-name pattern the file fits, in that order. Profile edits
are audited and versioned like the planners' edits (`sop.locking`).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from sop.extract_reader import ReadOptions
from sop.extracts import ENTITIES
from sop.locking import VersionedRow
from sop.models import ImportProfile, StoredExtract
from sop.roles import require, who
from sop.services import audit_of


@dataclass(frozen=True)
class ImportReading:
    """How one file is to be read: the options, and the profile they come from, if any."""

    options: ReadOptions
    profile: ImportProfile | None = None
    matched_pattern: str = ""  # the file-name pattern that chose the profile
    profile_name: str = ""  # kept when the profile is renamed or deleted

    @classmethod
    def of_profile(cls, profile: ImportProfile, matched_pattern: str = "") -> ImportReading:
        return cls(ReadOptions.from_profile(profile), profile, matched_pattern, profile.name)

    @classmethod
    def of(cls, stored: StoredExtract) -> ImportReading:
        """How an upload or a job was read, as it recorded it."""
        return cls(
            ReadOptions.from_dict(stored.options),
            stored.profile,
            stored.matched_pattern,
            stored.profile_name,
        )

    def fields(self) -> dict:
        """The columns of a stored extract (upload or job) that record this reading."""
        return {
            "options": self.options.to_dict(),
            "profile": self.profile,
            "profile_name": self.profile_name,
            "matched_pattern": self.matched_pattern,
        }

    def described(self) -> str:
        """Where the options come from, in words."""
        if self.profile_name:
            matched = (
                f" (its file-name pattern {self.matched_pattern} fits the file)"
                if self.matched_pattern
                else ""
            )
            return f"the import profile {self.profile_name}{matched}"
        if self.options.stated:
            return "the options stated at upload"
        return "no import profile: the documented format"


def import_reading(
    *,
    entity: str,
    file_name: str,
    profile: ImportProfile | None = None,
    match: bool = True,
    options: ReadOptions | None = None,
) -> ImportReading:
    """How to read the file: with `profile`, with `options` stated by hand, else (`match`)
    with the profile of the entity whose file-name pattern fits the file, else as documented.

    A profile and options stated by hand together, a profile of another entity, or several
    profiles fitting the file name are refused (ValidationError): which to follow would be
    a guess.
    """
    stated = options is not None and options.stated
    if profile is not None:
        if stated:
            raise ValidationError(
                f"The profile {profile.name} says how to read the file: leave the other read "
                "options empty, or edit the profile."
            )
        if profile.entity != entity:
            raise ValidationError(
                f"The profile {profile.name} reads {profile.entity}, not {entity}."
            )
        return ImportReading.of_profile(profile)
    if stated:
        return ImportReading(options)
    if match:
        found = import_profile_match(entity=entity, file_name=file_name)
        if found is not None:
            return ImportReading.of_profile(found, found.file_name_pattern)
    return ImportReading(ReadOptions())


def import_profile_match(*, entity: str, file_name: str) -> ImportProfile | None:
    """The entity's profile whose file-name pattern fits the name (case ignored), or None.

    Two fitting profiles are refused with their names: the admin chooses one at upload or
    narrows a pattern.
    """
    name = file_name.lower()
    fits = [
        profile
        for profile in ImportProfile.objects.filter(entity=entity).exclude(file_name_pattern="")
        if fnmatch.fnmatchcase(name, profile.file_name_pattern.lower())
    ]
    if len(fits) > 1:
        listed = ", ".join(f"{p.name} ({p.file_name_pattern})" for p in fits)
        raise ValidationError(
            f"The file name {file_name} fits the patterns of several profiles: {listed}. "
            "Choose the profile, or make the patterns narrower."
        )
    return fits[0] if fits else None


def import_profile_create(
    *,
    user: AbstractBaseUser | None,
    name: str,
    entity: str,
    options: ReadOptions,
    source: str = "",
    file_name_pattern: str = "",
) -> ImportProfile:
    require(user, "sop.add_importprofile", "create import profiles")
    values = _checked(
        name=name, entity=entity, options=options, source=source, pattern=file_name_pattern
    )
    author = who(user)
    try:
        with transaction.atomic():
            profile = ImportProfile.objects.create(**values, created_by=author, updated_by=author)
            audit_of(profile, "import_profile.create", user=user, new=_audited(profile))
    except IntegrityError:
        raise _name_taken(name) from None
    return profile


def import_profile_update(
    *,
    profile: ImportProfile,
    version: int | None,
    user: AbstractBaseUser | None,
    name: str,
    entity: str,
    options: ReadOptions,
    source: str = "",
    file_name_pattern: str = "",
) -> ImportProfile:
    """Save an edit of the profile the admin saw at `version` (EditConflict if it moved on)."""
    require(user, "sop.change_importprofile", "change import profiles")
    values = _checked(
        name=name,
        entity=entity,
        options=options,
        source=source,
        pattern=file_name_pattern,
        exclude=profile.pk,
    )
    row = _versioned(profile)
    try:
        with transaction.atomic():
            current = row.lock(seen=version)
            old = _audited(current)
            author = who(user)
            current = row.update(current, {**values, "updated_by": author})
            audit_of(current, "import_profile.update", user=user, old=old, new=_audited(current))
    except IntegrityError:
        raise _name_taken(name) from None
    return current


def import_profile_delete(
    *, profile: ImportProfile, version: int | None, user: AbstractBaseUser | None
) -> None:
    """Delete the profile; the imports read with it keep its name and options.

    A profile an import source reads with is refused (ValidationError): its next pull
    would be read some other way.
    """
    require(user, "sop.delete_importprofile", "delete import profiles")
    row = _versioned(profile)
    with transaction.atomic():
        current = row.lock(seen=version)
        sources = list(current.sources.values_list("name", flat=True))
        if sources:
            raise ValidationError(
                f"The import profile {current.name} reads the pulls of {', '.join(sources)}: "
                "give those sources another profile first."
            )
        audit_of(current, "import_profile.delete", user=user, old=_audited(current))
        row.delete(current)


def _checked(
    *,
    name: str,
    entity: str,
    options: ReadOptions,
    source: str,
    pattern: str,
    exclude: int | None = None,
) -> dict:
    """The profile's columns, or ValidationError naming each field that is wrong."""
    problems: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        problems["name"] = ["Name the profile."]
    elif ImportProfile.objects.filter(name=name).exclude(pk=exclude).exists():
        problems["name"] = [_name_taken(name).messages[0]]
    if entity not in ENTITIES:
        problems["entity"] = [f"Unknown entity {entity!r}."]
    else:
        found = options.problems(ENTITIES[entity])
        if found:
            problems["__all__"] = [f"{p[0].upper()}{p[1:]}." for p in found]
    if problems:
        raise ValidationError(problems)
    return {
        "name": name,
        "entity": entity,
        "options": options.to_dict(),
        "source": source.strip(),
        "file_name_pattern": pattern.strip(),
    }


def _name_taken(name: str) -> ValidationError:
    return ValidationError(f"A profile named {name} already exists.")


def _versioned(profile: ImportProfile) -> VersionedRow:
    return VersionedRow(
        rows=ImportProfile.objects.filter(pk=profile.pk),
        what=f"The import profile {profile.name}",
        show=lambda p: "deleted" if p is None else f"version {p.version}",
        object_type="import_profile",
        object_id=str(profile.pk),
    )


def _audited(profile: ImportProfile) -> dict:
    return {
        "name": profile.name,
        "source": profile.source,
        "entity": profile.entity,
        "file_name_pattern": profile.file_name_pattern,
        "options": profile.options,
    }
