"""What maps to what: the account's members and groups as scim2-models resources, the filter
targets of each resource, and what the service publishes about itself (RFC 7643 §5 to §7)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, TypeVar

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    Email,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    GroupMember,
    GroupMembership,
    Meta,
    Mutability,
    Name,
    Pagination,
    Patch,
    Required,
    ResourceType,
    Schema,
    ScimPolicy,
    ServiceProviderConfig,
    Sort,
    User,
)
from sqlalchemy import and_, func

from chargegroups.models import GroupMembership as Membership
from chargegroups.models import User as Member
from chargegroups.models import UserGroup
from chargegroups.scim import filters

ScimUser = User[EnterpriseUser]
R = TypeVar("R", ScimUser, Group)
MAX_RESULTS = 200

# Microsoft Entra sends a remove's members as a value, and a path filter that matches nothing
# as an entry to create; both are read the way it means them.
POLICY = ScimPolicy(
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

#: The User attributes a member keeps, and how the published schema describes them. Others
#: that Entra and Okta send (title, addresses, the enterprise extension, …) are accepted and
#: not kept, so the schema leaves them out. A member's address (userName) is set when it is
#: made; name and emails are derived from displayName and userName; a member always has a
#: displayName (its address's local part at worst) and is active or not.
USER_ATTRIBUTES = {
    "userName": (Mutability.immutable, Required.true),
    "name": (Mutability.read_only, Required.false),
    "displayName": (Mutability.read_write, Required.true),
    "active": (Mutability.read_write, Required.true),
    "emails": (Mutability.read_only, Required.false),
    "groups": (Mutability.read_only, Required.false),
}


def etag(body: dict[str, Any]) -> str:
    """A weak ETag of a resource's representation (meta.version left out)."""
    digest = hashlib.sha256(repr(sorted(body.items())).encode()).hexdigest()[:20]
    return f'W/"{digest}"'


def _meta(kind: str, id_: str, created: datetime, updated: datetime | None, base: str) -> Meta:
    return Meta(
        resource_type=kind,
        created=created,
        last_modified=updated or created,
        location=f"{base}/{kind}s/{id_}",
    )


def user_resource(member: Member, groups: list[tuple[str, str]], base: str) -> ScimUser:
    user = ScimUser(
        id=member.id,
        external_id=member.external_id,
        user_name=member.email,
        name=Name(formatted=member.name),
        display_name=member.name,
        active=not member.blocked,
        emails=[Email(value=member.email, type=Email.Type.work, primary=True)],
        groups=[
            GroupMembership(value=group_id, display=name, ref=f"{base}/Groups/{group_id}")
            for group_id, name in groups
        ]
        or None,
        meta=_meta("User", member.id, member.created_at, member.updated_at, base),
    )
    return _versioned(user)


def group_resource(group: UserGroup, members: list[str], base: str) -> Group:
    resource = Group(
        id=group.id,
        external_id=group.external_id,
        display_name=group.name,
        members=[
            GroupMember(value=user_id, type="User", ref=f"{base}/Users/{user_id}")
            for user_id in members
        ]
        or None,
        meta=_meta("Group", group.id, group.created_at, group.updated_at, base),
    )
    return _versioned(resource)


def _versioned(resource: R) -> R:
    assert resource.meta is not None
    resource.meta.version = etag(resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    return resource


def version_of(resource: ScimUser | Group) -> str:
    """The ETag every resource built here carries."""
    assert resource.meta is not None and resource.meta.version is not None
    return resource.meta.version


def member_address(user: User[Any]) -> str | None:
    """userName is the member's email; an identity provider whose userName is no address
    (an Entra UPN of another domain) names it in the primary, else the first, email."""
    if user.user_name and "@" in user.user_name:
        return user.user_name
    emails = user.emails or []
    chosen = next((e for e in emails if e.primary), emails[0] if emails else None)
    return str(chosen.value) if chosen and chosen.value else user.user_name


def member_name(user: User[Any], address: str) -> str:
    if user.display_name:
        return user.display_name
    if user.name is not None:
        if user.name.formatted:
            return user.name.formatted
        parts = [user.name.given_name, user.name.family_name]
        if any(parts):
            return " ".join(p for p in parts if p)
    return address.split("@")[0]


USER_TARGETS: filters.Targets = {
    ("id", None): filters.text(Member.id, case_exact=True),
    ("external_id", None): filters.text(Member.external_id, case_exact=True),
    ("user_name", None): filters.text(Member.email_normalized, lowered=True),
    ("display_name", None): filters.text(Member.name),
    ("name", "formatted"): filters.text(Member.name),
    ("emails", "value"): filters.text(Member.email_normalized, lowered=True),
    ("emails", "type"): filters.constant("work"),
    ("emails", "primary"): filters.constant(True),
    ("active", None): filters.flag(Member.blocked.is_(False)),
    ("meta", "created"): filters.instant(Member.created_at),
    ("meta", "last_modified"): filters.instant(func.coalesce(Member.updated_at, Member.created_at)),
}

GROUP_TARGETS: filters.Targets = {
    ("id", None): filters.text(UserGroup.id, case_exact=True),
    ("external_id", None): filters.text(UserGroup.external_id, case_exact=True),
    ("display_name", None): filters.text(UserGroup.name),
    ("members", "value"): filters.related(
        lambda found: and_(Membership.group_id == UserGroup.id, found),
        filters.text(Membership.user_id, case_exact=True),
    ),
    ("meta", "created"): filters.instant(UserGroup.created_at),
    ("meta", "last_modified"): filters.instant(
        func.coalesce(UserGroup.updated_at, UserGroup.created_at)
    ),
}


def schemas() -> list[Schema]:
    user: Schema = User.to_schema()
    user.attributes = [a for a in user.attributes or [] if a.name in USER_ATTRIBUTES]
    for attribute in user.attributes:
        attribute.mutability, attribute.required = USER_ATTRIBUTES[str(attribute.name)]
    group: Schema = Group.to_schema()
    for attribute in group.attributes or []:
        if attribute.name == "members":
            # A member's name is on its User; a display sent in (Okta's) is not kept.
            attribute.sub_attributes = [
                a for a in attribute.sub_attributes or [] if a.name != "display"
            ]
    return [user, group]


def resource_types() -> list[ResourceType]:
    return [ResourceType.from_resource(User), ResourceType.from_resource(Group)]


def service_provider_config() -> ServiceProviderConfig:
    return ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        pagination=Pagination(
            cursor=False, index=True, default_page_size=MAX_RESULTS, max_page_size=MAX_RESULTS
        ),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Bearer token",
                description="The account's SCIM token (POST /api/v1/accounts/{id}/scim-tokens).",
                primary=True,
            )
        ],
    )
