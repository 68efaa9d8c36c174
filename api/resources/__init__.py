"""Falcon resources: one class per SCIM resource type, each holding a service."""
