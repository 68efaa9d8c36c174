"""What an operator watches: work waiting, an organization's status, planner statistics."""
