"""Measurements that back design choices; run them by hand, they are not tests."""
