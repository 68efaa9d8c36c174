"""Storage and domain rules, one package per domain, each with its tables beside its logic.

    core/           base, engines and sessions, settings, logs, errors, limits, SQL helpers
    organizations/  organizations, their settings, email domains, the SCIM switch
    tokens/         bearer tokens, the SCIM credentials cache, operator tokens
    sso/            each organization's SAML identity provider
    directory/      what the IdP said: users, groups, memberships (written by the API)
    roster/         what the product enforces: members, teams, JIT (written by workers)
    events/         the event feed of roster changes
    webhooks/       who receives the events, and how far each has got
    audit/          every SCIM request and operator action
    admin/          every operator verb, for the admin API and the CLI
    operations/     what an operator watches: backlogs, status, planner statistics

`tables.py` gathers every domain's tables for Alembic (`migrations/`, driven by
`migrate.py`). Nothing here imports `api` or `workers`.
"""
