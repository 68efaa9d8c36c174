"""The directory: users, groups and memberships as the IdP said them, written by the API."""
