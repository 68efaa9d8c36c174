"""Bearer tokens: how they are issued and stored, the cache of SCIM credentials, operators."""
